"""Hostile authored or imported text never reaches a browser as something executable."""

import html
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from questions.formats import parse_text
from questions.models import Choice, Question
from questions.rendering import render_markdown
from quiz import services
from quiz.itemstats import item_stats_refresh
from tests.factories import UserFactory, make_exam

VECTORS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    '<a href="javascript:alert(1)">click</a>',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "![img](javascript:alert(1))",
    '<a href="&#106;avascript:alert(1)">entity</a>',
    '<a href="  javascript:alert(1)">spaces</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">data</a>',
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    '<svg onload="alert(1)"><circle r="5"/></svg>',
    "<math><mtext><script>alert(1)</script></mtext></math>",
    '<p style="background:url(javascript:alert(1))">styled</p>',
    '<iframe src="https://example.com"></iframe>',
    '<object data="x.swf"></object>',
    '<form action="javascript:alert(1)"><button>go</button></form>',
    '<details open ontoggle="alert(1)">x</details>',
    "<<script>script>alert(1)<</script>/script>",
    '<a href="https://example.com" onclick="alert(1)">ok link</a>',
]
DANGEROUS = [
    re.compile(r"<\s*(script|svg|math|iframe|object|embed|form|style|base|meta|link)\b", re.I),
    re.compile(r"\son[a-z]+\s*=", re.I),
    re.compile(r"(href|src|action)\s*=\s*[\"']?\s*(javascript|data|vbscript):", re.I),
    re.compile(r"\sstyle\s*=", re.I),
]


def assert_inert(markup: str) -> None:
    decoded = html.unescape(markup)
    for pattern in DANGEROUS:
        assert not pattern.search(markup), (pattern.pattern, markup)
        match = pattern.search(decoded)
        # After decoding entities only text (escaped) may look dangerous, never a tag or attribute.
        if match:
            assert "&lt;" in markup or "&#" in markup or "&quot;" in markup, (pattern.pattern, markup)


def assert_page_inert(body: str) -> None:
    """A whole page: it has our own forms and charts, so look for what only a payload could add."""
    assert not re.search(r"<[^>]*alert\(1\)[^>]*>", body)  # the payload's code is never inside a tag
    assert not re.search(r"<\s*(script|iframe|object|embed|math)\b", body, re.I)
    assert not re.search(r"\son[a-z]+\s*=", body, re.I)
    assert not re.search(r"\sstyle\s*=", body, re.I)
    assert not re.search(r"(href|src|action)\s*=\s*[\"']?\s*(javascript|data):", body, re.I)


@pytest.mark.parametrize("vector", VECTORS)
def test_sanitiser_neutralises_every_vector(vector):
    assert_inert(render_markdown(vector))


def test_safe_links_survive_with_rel():
    out = render_markdown("[AWS docs](https://docs.aws.amazon.com/)")
    assert 'href="https://docs.aws.amazon.com/"' in out and "noopener" in out


def test_one_text_never_leaks_into_the_next():
    """The thread's converter is reused: a link reference defined in one text must not resolve in another."""
    defines = render_markdown("See [the docs][ref].\n\n[ref]: https://docs.aws.amazon.com/")
    uses = render_markdown("Also [the docs][ref], undefined here.")
    assert 'href="https://docs.aws.amazon.com/"' in defines
    assert "href" not in uses and "[the docs][ref]" in uses


def _hostile_exam():
    exam = make_exam("XSS-C01", per_domain=5)
    payload = "\n\n".join(VECTORS)
    for question in Question.objects.filter(exam=exam):
        question.stem = "Which one? " + payload
        question.explanation = payload
        question.references = [{"title": "<script>alert(1)</script>", "url": "javascript:alert(1)"}]
        question.save()
        Choice.objects.filter(question=question).update(rationale=payload)
        for n, choice in enumerate(question.choices.all()):
            choice.text = f"{n} {VECTORS[n % len(VECTORS)]}"
            choice.save()
        question.sync_version()
    return exam


@pytest.mark.django_db
def test_candidate_review_and_admin_pages_render_hostile_text_inert(client):
    exam = _hostile_exam()
    user = UserFactory()
    attempt = services.attempt_start(
        user=user, exam=exam, options=services.StartOptions(mode="practice", count=3), now=timezone.now()
    )
    client.force_login(user)
    item = attempt.items.get(position=0)
    pages = [client.get(reverse("quiz:question", args=[attempt.pk, 0]))]
    client.post(
        reverse("quiz:save_answer", args=[attempt.pk, 0]), {"choice": item.choice_tokens[:1], "seq": 1}
    )
    pages.append(client.post(reverse("quiz:check_answer", args=[attempt.pk, 0])))
    client.post(reverse("quiz:submit", args=[attempt.pk]), {"confirm": "yes"})
    pages.append(client.get(reverse("quiz:review", args=[attempt.pk])))
    pages.append(client.get(reverse("quiz:results", args=[attempt.pk])))
    pages.append(client.get(reverse("quiz:home")))
    staff = User.objects.create_superuser(email="admin@example.com", password="x")
    client.force_login(staff)
    question = item.question
    pages.append(client.get(reverse("admin:questions_question_preview", args=[question.pk])))
    item_stats_refresh(now=timezone.now())  # the item analysis shows each option's text
    pages.append(client.get(reverse("admin:quiz_itemstat_change", args=[item.version_id])))
    pages.append(client.get(reverse("admin:quiz_itemstat_changelist")))
    for response in pages:
        assert response.status_code == 200
        body = response.content.decode()
        # Our own pages carry scripts only as <script src=...> from static/ (and the admin's jsi18n).
        body = re.sub(r'<script[^>]* src="/(static/[^"]+|admin/jsi18n/)"[^>]*>\s*</script>', "", body)
        assert_page_inert(body)
        assert "Content-Security-Policy" in response.headers


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fmt", "text"),
    [
        (
            "gift",
            "::X1:: <img src\\=x onerror\\=alert(1)> pick {=<script>alert(1)</script> ~[a](javascript:alert(1))}",
        ),
        ("aiken", "<svg onload=alert(1)> pick\nA. <script>alert(1)</script>\nB. safe\nANSWER: B"),
        ("markdown", "### <iframe src=x></iframe> pick\n- [x] [a](javascript:alert(1))\n- [ ] b"),
        (
            "csv",
            'question,option 1,option 2,correct\n"<script>alert(1)</script>","<a href=""javascript:x"">a</a>",b,1',
        ),
        (
            "moodle-xml",
            '<?xml version="1.0"?><quiz><question type="multichoice"><name><text>m</text></name>'
            '<questiontext format="html"><text><![CDATA[<img src=x onerror=alert(1)>]]></text></questiontext>'
            '<answer fraction="100"><text><![CDATA[<script>alert(1)</script>]]></text></answer>'
            '<answer fraction="0"><text>b</text></answer></question></quiz>',
        ),
    ],
)
def test_every_import_format_renders_inert(fmt, text):
    make_exam("IMP-C01", per_domain=1)
    result = parse_text(text, fmt=fmt, source="upload", exam="IMP-C01", domain=1)
    assert result.errors == []
    assert result.specs
    for spec in result.specs:
        for field in (
            [spec.stem, spec.explanation]
            + [c.text for c in spec.choices]
            + [c.rationale for c in spec.choices]
        ):
            assert_inert(render_markdown(field))
