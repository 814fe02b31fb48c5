"""The staff admin: bank editing with the publish check, preview, upload, export, key correction."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.text import Truncator

from accounts.models import LoginFailure, User
from questions.admin import UPLOAD_SESSION_KEY
from questions.exporting import question_spec, render
from questions.models import Choice, Domain, Exam, Question, QuestionVersion, Tag
from quiz import services
from quiz.models import Attempt, KeyCorrection, ProblemReport
from tests.factories import UserFactory, make_exam

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:questions_question_changelist"
XSS_STEM = (
    "Which is safe? <script>alert(1)</script> "
    '<a href="javascript:alert(1)">x</a> <img src="x" onerror="alert(2)"> done'
)


@pytest.fixture
def staff(client: Any) -> User:
    user = User.objects.create_superuser(email="admin@example.com", password="long enough password 1")
    client.force_login(user)
    return user


@pytest.fixture
def exam() -> Exam:
    exam = Exam.objects.create(
        code="ADM-C01",
        name="Admin test exam",
        question_count=10,
        unscored_count=0,
        duration_minutes=20,
        passing_score=720,
        passing_raw_percent=72,
    )
    Domain.objects.create(exam=exam, number=1, name="Design things", weight=60)
    Domain.objects.create(exam=exam, number=2, name="Run things", weight=40)
    return exam


def make_question(
    exam: Exam, external_id: str = "ADM-D1-001", *, complete: bool = True, **fields: Any
) -> Question:
    """A draft question; ``complete`` ones pass every bank check."""
    defaults: dict[str, Any] = {
        "exam": exam,
        "domain": exam.domains.get(number=1),
        "stem": "Which storage service keeps objects?",
        "explanation": "Amazon S3 stores objects." if complete else "",
        "provenance": "beyond seeds",
        "verified_as_of": dt.date(2026, 1, 5) if complete else None,
        "origin": Question.Origin.IMPORTED,
    }
    question = Question.objects.create(external_id=external_id, **{**defaults, **fields})
    texts = ["Amazon S3", "Amazon EBS", "Amazon EFS", "Instance store"][: 4 if complete else 3]
    for i, text in enumerate(texts):
        Choice.objects.create(
            question=question,
            position=i,
            text=text,
            correct=i == 0,
            rationale=f"Because {i}" if complete else "",
        )
    if complete:
        question.tags.add(Tag.objects.get_or_create(kind=Tag.Kind.SERVICE, name="Amazon S3")[0])
    question.sync_version()
    return question


def change_data(question: Question, **overrides: Any) -> dict[str, Any]:
    """The POST body of the Question change form, with its choice inline, as saved now."""
    data: dict[str, Any] = {
        "external_id": question.external_id,
        "exam": question.exam_id,
        "domain": question.domain_id or "",
        "task": "",
        "status": question.status,
        "tags": [t.pk for t in question.tags.all()],
        "type": question.type,
        "choose": question.choose,
        "difficulty": question.difficulty,
        "stem": question.stem,
        "explanation": question.explanation,
        "references": json.dumps(question.references),
        "provenance": question.provenance,
        "verified_as_of": question.verified_as_of.isoformat() if question.verified_as_of else "",
    }
    choices = list(question.choices.all())
    data.update(
        {
            "choices-TOTAL_FORMS": len(choices),
            "choices-INITIAL_FORMS": len(choices),
            "choices-MIN_NUM_FORMS": 0,
            "choices-MAX_NUM_FORMS": 1000,
        }
    )
    for i, choice in enumerate(choices):
        data |= {
            f"choices-{i}-id": choice.pk,
            f"choices-{i}-question": question.pk,
            f"choices-{i}-position": choice.position,
            f"choices-{i}-text": choice.text,
            f"choices-{i}-rationale": choice.rationale,
        }
        if choice.correct:
            data[f"choices-{i}-correct"] = "on"
    return {**data, **overrides}


def action(client: Any, name: str, questions: list[Question], **extra: str) -> Any:
    return client.post(
        reverse(CHANGELIST),
        {"action": name, "_selected_action": [q.pk for q in questions], "index": 0, **extra},
    )


def message_texts(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# Lists, search and filters


def test_changelists_search_and_filters_load(client: Any, staff: User, exam: Exam) -> None:
    question = make_question(exam)
    service = Tag.objects.get(kind=Tag.Kind.SERVICE)
    url = reverse(CHANGELIST)
    for query in (
        {},
        {"q": "storage"},
        {"q": "Instance store"},
        {"status__exact": "draft"},
        {"service": service.pk},
        {"exam__id__exact": exam.pk, "origin__exact": "admin"},
        {"type__exact": "single", "difficulty": 2},
    ):
        response = client.get(url, query)
        assert response.status_code == 200, query
    assert question.external_id in client.get(url, {"q": "Instance store"}).content.decode()
    assert question.external_id not in client.get(url, {"origin__exact": "admin"}).content.decode()
    listing = client.get(url).content.decode()
    assert "Upload questions" in listing
    assert "AWS Exam Practice admin</a>" in listing and 'rel="icon"' in listing  # ours, with its icon
    # Each row shows how its stem starts and its domain, so a list of ids can be read.
    assert escape(Truncator(question.stem).chars(90)) in listing
    assert f">D{question.domain.number}<" in listing
    for name in (
        "questions_exam",
        "questions_tag",
        "questions_taskstatement",
        "quiz_attempt",
        "quiz_problemreport",
        "quiz_keycorrection",
        "quiz_report",
        "quiz_itemstat",
        "accounts_user",
        "accounts_loginfailure",
    ):
        assert client.get(reverse(f"admin:{name}_changelist")).status_code == 200, name
    change = client.get(reverse("admin:questions_question_change", args=[question.pk])).content.decode()
    assert "Preview" in change and "Correct the key" in change
    assert f'{reverse("admin:quiz_itemstat_changelist")}?q={question.external_id}"' in change
    assert client.get(reverse("admin:questions_question_add")).status_code == 200
    assert client.get(reverse("admin:questions_exam_change", args=[exam.pk])).status_code == 200


# Preview


def test_preview_is_sanitised_and_hides_the_key_from_the_candidate_part(
    client: Any, staff: User, exam: Exam
) -> None:
    question = make_question(exam, stem=XSS_STEM)
    response = client.get(reverse("admin:questions_question_preview", args=[question.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "<script>alert" not in page
    assert "javascript:" not in page
    assert "onerror" not in page
    assert " style=" not in page
    candidate, author = page.split('id="author-notes"')
    candidate = candidate.split('id="candidate-view"')[1]
    assert "Which is safe?" in candidate
    texts = ["Amazon S3", "Amazon EBS", "Amazon EFS", "Instance store"]
    assert [candidate.index(t) for t in texts] == sorted(candidate.index(t) for t in texts)
    assert "Because" not in candidate and "correct" not in candidate.lower()
    assert "Key:</strong> A" in author and "Because 0" in author and "Amazon S3 stores objects." in author


# Publishing


def test_bulk_publish_refuses_an_incomplete_question_and_publishes_a_complete_one(
    client: Any, staff: User, exam: Exam
) -> None:
    complete = make_question(exam, "ADM-D1-001")
    incomplete = make_question(exam, "ADM-D1-002", complete=False)
    response = action(client, "publish_selected", [complete, incomplete])
    assert response.status_code == 302
    complete.refresh_from_db()
    incomplete.refresh_from_db()
    assert complete.status == Question.Status.PUBLISHED
    assert incomplete.status == Question.Status.DRAFT
    text = " ".join(message_texts(response))
    assert "Published 1 question(s)" in text
    assert "ADM-D1-002" in text and "exactly 4 options" in text and "no service tag" in text


def test_form_refuses_to_publish_an_incomplete_question(client: Any, staff: User, exam: Exam) -> None:
    question = make_question(exam, complete=False)
    url = reverse("admin:questions_question_change", args=[question.pk])
    response = client.post(url, change_data(question, status="published"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "cannot be published" in page and "empty explanation" in page
    question.refresh_from_db()
    assert question.status == Question.Status.DRAFT

    complete = make_question(exam, "ADM-D1-009")
    response = client.post(
        reverse("admin:questions_question_change", args=[complete.pk]),
        change_data(complete, status="published"),
    )
    assert response.status_code == 302
    complete.refresh_from_db()
    assert complete.status == Question.Status.PUBLISHED


def test_change_form_refuses_a_tag_id_out_of_range(client: Any, staff: User, exam: Exam) -> None:
    question = make_question(exam)
    url = reverse("admin:questions_question_change", args=[question.pk])
    response = client.post(url, change_data(question, tags=[str(2**63)], stem="Changed stem"))
    assert response.status_code == 200  # SQLite's OverflowError once made this a 500
    assert "is not a valid value" in response.content.decode()
    question.refresh_from_db()
    assert question.stem == "Which storage service keeps objects?"


def test_bulk_retire(client: Any, staff: User, exam: Exam) -> None:
    question = make_question(exam, status=Question.Status.PUBLISHED)
    action(client, "retire_selected", [question])
    question.refresh_from_db()
    assert question.status == Question.Status.RETIRED


# Editing and versions


def test_editing_choices_creates_a_new_version_and_keeps_the_old(
    client: Any, staff: User, exam: Exam
) -> None:
    question = make_question(exam)
    old = question.current_version
    assert old is not None
    url = reverse("admin:questions_question_change", args=[question.pk])
    response = client.post(url, change_data(question, **{"choices-1-text": "Amazon EBS volumes"}))
    assert response.status_code == 302
    question.refresh_from_db()
    assert question.versions.count() == 2
    assert question.current_version_id != old.pk
    assert question.current_version.data["choices"][1]["text"] == "Amazon EBS volumes"
    old.refresh_from_db()
    assert old.data["choices"][1]["text"] == "Amazon EBS"
    # Saving again without changes reuses the current version.
    client.post(url, change_data(question))
    assert question.versions.count() == 2


def test_a_question_made_in_the_admin_is_marked_admin_and_versioned(
    client: Any, staff: User, exam: Exam
) -> None:
    data: dict[str, Any] = {
        "external_id": "ADM-NEW-1",
        "exam": exam.pk,
        "domain": exam.domains.get(number=2).pk,
        "task": "",
        "status": "draft",
        "type": "single",
        "choose": 1,
        "difficulty": 2,
        "stem": "New stem",
        "explanation": "",
        "references": "[]",
        "provenance": "",
        "verified_as_of": "",
        "choices-TOTAL_FORMS": 2,
        "choices-INITIAL_FORMS": 0,
        "choices-MIN_NUM_FORMS": 0,
        "choices-MAX_NUM_FORMS": 1000,
        "choices-0-position": 0,
        "choices-0-text": "Yes",
        "choices-0-correct": "on",
        "choices-1-position": 1,
        "choices-1-text": "No",
    }
    response = client.post(reverse("admin:questions_question_add"), data)
    assert response.status_code == 302
    question = Question.objects.get(external_id="ADM-NEW-1")
    assert question.origin == Question.Origin.ADMIN
    assert question.current_version is not None
    assert [c["text"] for c in question.current_version.data["choices"]] == ["Yes", "No"]


# Upload

NATIVE_FILE = """\
exam: ADM-C01
domain: 1
questions:
  - id: ADM-UP-001
    type: single
    difficulty: 2
    status: published
    tags:
      services: [Amazon S3]
    stem: Which service stores objects?
    choices:
      - {text: Amazon S3, correct: true, rationale: It is object storage.}
      - {text: Amazon EBS, correct: false, rationale: Block storage.}
      - {text: Amazon EFS, correct: false, rationale: File storage.}
      - {text: Instance store, correct: false, rationale: Ephemeral block storage.}
    explanation: Amazon S3 is object storage.
    provenance: beyond seeds
    verified_as_of: 2026-01-05
"""
BAD_FILE = (
    NATIVE_FILE
    + """\
  - id: ADM-UP-002
    type: single
    stem: Too few options.
    choices:
      - {text: One, correct: true, rationale: r}
      - {text: Two, correct: false, rationale: r}
    explanation: x
    provenance: beyond seeds
"""
)


def upload(client: Any, name: str, content: str | bytes, **fields: Any) -> Any:
    body = content.encode() if isinstance(content, str) else content
    return client.post(
        reverse("admin:questions_question_upload"), {"file": SimpleUploadedFile(name, body), **fields}
    )


def test_upload_dry_run_writes_nothing_and_confirm_imports(client: Any, staff: User, exam: Exam) -> None:
    assert client.get(reverse("admin:questions_question_upload")).status_code == 200
    response = upload(client, "bank.yaml", NATIVE_FILE)
    assert response.status_code == 200
    page = response.content.decode()
    assert "would have created 1" in page and "ADM-UP-001" in page and "Confirm import" in page
    assert not Question.objects.filter(external_id="ADM-UP-001").exists()
    token = client.session[UPLOAD_SESSION_KEY]["token"]

    response = client.post(reverse("admin:questions_question_upload"), {"confirm": "1", "token": token})
    assert response.status_code == 302
    question = Question.objects.get(external_id="ADM-UP-001")
    assert question.origin == Question.Origin.IMPORTED and question.current_version is not None
    assert "created 1" in " ".join(message_texts(response))
    assert UPLOAD_SESSION_KEY not in client.session
    # A replayed confirm finds nothing to import.
    replay = client.post(reverse("admin:questions_question_upload"), {"confirm": "1", "token": token})
    assert replay.status_code == 302 and Question.objects.filter(external_id="ADM-UP-001").count() == 1


def test_upload_of_a_non_native_format_uses_the_chosen_exam_and_domain(
    client: Any, staff: User, exam: Exam
) -> None:
    aiken = "Which service stores objects?\nA. Amazon S3\nB. Amazon EBS\nC. Amazon EFS\nD. Instance store\nANSWER: A\n"
    domain = exam.domains.get(number=2)
    assert "Choose the exam" in upload(client, "quiz.txt", aiken).content.decode()
    response = upload(client, "quiz.txt", aiken, format="aiken", domain=domain.pk)
    assert "would have created 1" in response.content.decode()
    token = client.session[UPLOAD_SESSION_KEY]["token"]
    client.post(reverse("admin:questions_question_upload"), {"confirm": "1", "token": token})
    question = Question.objects.get()
    assert question.exam == exam and question.domain == domain
    assert question.status == Question.Status.DRAFT  # incomplete imports land as drafts


def test_a_lossy_upload_of_a_published_question_keeps_its_status_and_metadata(
    client: Any, staff: User, exam: Exam
) -> None:
    upload(client, "bank.yaml", NATIVE_FILE)
    client.post(
        reverse("admin:questions_question_upload"),
        {"confirm": "1", "token": client.session[UPLOAD_SESSION_KEY]["token"]},
    )
    question = Question.objects.get(external_id="ADM-UP-001")
    assert question.status == Question.Status.PUBLISHED
    edited = question_spec(question)
    edited.stem = "Which AWS service stores objects?"
    spreadsheet = render([edited], "csv")  # carries no status, provenance or verified_as_of

    response = upload(client, "edited.csv", spreadsheet, exam=exam.pk)
    assert "would have created 0, changed 1" in response.content.decode()
    client.post(
        reverse("admin:questions_question_upload"),
        {"confirm": "1", "token": client.session[UPLOAD_SESSION_KEY]["token"]},
    )

    question.refresh_from_db()
    assert question.stem == "Which AWS service stores objects?"
    assert question.status == Question.Status.PUBLISHED
    assert question.provenance == "beyond seeds" and str(question.verified_as_of) == "2026-01-05"


def test_a_bad_upload_lists_every_error_and_writes_nothing(client: Any, staff: User, exam: Exam) -> None:
    response = upload(client, "bank.yaml", BAD_FILE)
    page = response.content.decode()
    assert "nothing was imported" in page
    assert "exactly 4 options" in page and "no service tag" in page and "no verified_as_of date" in page
    assert "Confirm import" not in page
    assert UPLOAD_SESSION_KEY not in client.session
    assert not Question.objects.exists()

    page = upload(client, "broken.yaml", "exam: [unclosed").content.decode()
    assert "nothing was imported" in page and "broken.yaml" in page and "/tmp" not in page
    assert (
        "not UTF-8" in upload(client, "latin.csv", "caf\xe9".encode("latin-1"), exam=exam.pk).content.decode()
    )
    assert not Question.objects.exists()


# Export


@pytest.mark.parametrize("fmt", ["yaml", "json", "moodle-xml", "gift", "csv"])
def test_export_action_returns_a_file(client: Any, staff: User, exam: Exam, fmt: str) -> None:
    question = make_question(exam)
    response = action(client, "export_selected", [question], export_format=fmt)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment; filename=")
    assert "Which storage service keeps objects?" in response.content.decode()
    if fmt == "json":
        assert json.loads(response.content)["questions"][0]["id"] == "ADM-D1-001"


# Key correction


def test_key_correction_view_rescores_and_records_the_correction(client: Any, staff: User) -> None:
    exam = make_exam(question_count=10, unscored=0)
    learner = UserFactory()
    now = timezone.now()
    attempt = services.attempt_start(
        user=learner, exam=exam, options=services.StartOptions(mode="full"), now=now, seed=1
    )
    for item in attempt.items.select_related("version"):
        key = item.version.correct_indexes()
        tokens = [t for t, i in zip(item.choice_tokens, item.choice_order, strict=True) if i in key]
        services.answer_save(
            user=learner, attempt_id=attempt.pk, position=item.position, tokens=tokens, seq=1, now=now
        )
    attempt = services.attempt_submit(user=learner, attempt_id=attempt.pk, now=now)
    before = attempt.scored_correct
    item = attempt.items.select_related("question", "version").get(position=0)
    question = item.question
    wrong = next(i for i in range(len(item.version.choices)) if i not in item.version.correct_indexes())
    url = reverse("admin:quiz_keycorrection_correct", args=[question.pk])
    page = client.get(url).content.decode()
    assert "1 submitted attempt used this version" in page

    response = client.post(url, {"correct": [wrong], "note": "Docs changed in 2026."})
    assert response.status_code == 302
    correction = KeyCorrection.objects.get()
    assert correction.new_correct == [wrong] and correction.attempts_rescored == 1
    assert correction.changed_by == staff and correction.note == "Docs changed in 2026."
    attempt.refresh_from_db()
    assert attempt.scored_correct == before - 1
    assert "1 attempt(s) re-scored" in " ".join(message_texts(response))
    # The same key again is refused, and nothing more is recorded.
    response = client.post(url, {"correct": [wrong], "note": "again"})
    assert response.status_code == 200 and "already the key" in response.content.decode()
    assert KeyCorrection.objects.count() == 1
    # The attempt and the audit log are viewable, not editable.
    page = client.get(reverse("admin:quiz_attempt_change", args=[attempt.pk])).content.decode()
    assert question.external_id in page and 'name="_save"' not in page


def test_problem_reports_triage(client: Any, staff: User, exam: Exam) -> None:
    question = make_question(exam)
    report = ProblemReport.objects.create(
        question=question, version=question.current_version, user=None, message="B is also right."
    )
    page = client.get(reverse("admin:quiz_problemreport_changelist")).content.decode()
    assert "B is also right." in page
    assert reverse("admin:quiz_keycorrection_correct", args=[question.pk]) in page
    client.post(
        reverse("admin:quiz_problemreport_changelist"),
        {"action": "mark_accepted", "_selected_action": [report.pk], "index": 0},
    )
    report.refresh_from_db()
    assert report.status == ProblemReport.Status.ACCEPTED


# Accounts


def test_user_admin_adds_users_by_email(client: Any, staff: User) -> None:
    response = client.post(
        reverse("admin:accounts_user_add"),
        {
            "email": "New.Person@Example.com",
            "usable_password": "true",
            "password1": "a long passphrase 42",
            "password2": "a long passphrase 42",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(email="new.person@example.com")
    assert user.check_password("a long passphrase 42")
    assert client.get(reverse("admin:accounts_user_change", args=[user.pk])).status_code == 200
    failure = LoginFailure.objects.create(email="x@example.com")
    page = client.get(reverse("admin:accounts_loginfailure_change", args=[failure.pk])).content.decode()
    assert 'name="_save"' not in page


# Access


def admin_urls(question: Question) -> list[str]:
    return [
        reverse(CHANGELIST),
        reverse("admin:questions_question_preview", args=[question.pk]),
        reverse("admin:questions_question_upload"),
        reverse("admin:quiz_keycorrection_correct", args=[question.pk]),
        reverse("admin:quiz_attempt_changelist"),
        reverse("admin:quiz_problemreport_changelist"),
        reverse("admin:accounts_user_changelist"),
    ]


def test_non_staff_users_are_sent_to_the_admin_login(client: Any, exam: Exam) -> None:
    question = make_question(exam)
    for login in (False, True):
        if login:
            client.force_login(UserFactory())
        for url in admin_urls(question):
            response = client.get(url)
            assert response.status_code == 302, url
            assert response["Location"].startswith(reverse("admin:login")), url
        response = client.post(
            reverse("admin:quiz_keycorrection_correct", args=[question.pk]), {"correct": [1]}
        )
        assert response.status_code == 302
    assert not KeyCorrection.objects.exists()


def test_staff_without_permissions_are_refused(client: Any, exam: Exam) -> None:
    question = make_question(exam)
    client.force_login(UserFactory(is_staff=True))
    for url in admin_urls(question):
        assert client.get(url).status_code == 403, url
    assert not QuestionVersion.objects.exclude(question=question).exists()
    assert Attempt.objects.count() == 0
