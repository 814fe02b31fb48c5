"""The whole exam flow in real Chromium (Debian's package, driven by Playwright)."""

import datetime as dt
import re
import shutil
import zoneinfo
from collections.abc import Iterator

import pytest
from django.core import mail
from django.db import connections
from django.utils import timezone

from accounts.models import User
from quiz.models import Attempt
from tests.factories import make_exam

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BROWSER_ZONE = "Europe/Berlin"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def page(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        # A browser away from UTC: nothing may depend on the learner sitting in UTC.
        context = browser.new_context(viewport={"width": 1200, "height": 900}, timezone_id=BROWSER_ZONE)
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.csp_errors = errors  # type: ignore[attr-defined]
        yield page
        # While Playwright's loop runs, Django keeps this test's database connection in
        # a context of its own; close it here, or the test database cannot be dropped.
        connections.close_all()
        context.close()
        browser.close()


def choose_exam(page, code: str) -> None:  # type: ignore[no-untyped-def]
    """Pick the exam and wait for htmx to swap in its domains and services."""
    page.eval_on_selector("#exam-options", "e => e.removeAttribute('data-exam')")  # only the swap restores it
    page.select_option("#id_exam", code)
    page.wait_for_selector(f"#exam-options[data-exam='{code}']")


def assert_accessible(page) -> None:  # type: ignore[no-untyped-def]
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    serious = [v for v in results.response["violations"] if v["impact"] in {"serious", "critical"}]
    assert not serious, [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in serious]


def test_sign_up_take_timed_drill_reload_time_out_and_review(live_server, page, settings):
    settings.ANSWER_GRACE_SECONDS = 2
    # 10 questions in 5 minutes: a 2-question drill gets a one-minute clock.
    exam = make_exam("BRW-C01", question_count=10, unscored=0, duration=5, per_domain=6)
    base = live_server.url

    page.goto(base + "/accounts/signup/")
    page.fill("#id_email", "learner@example.com")
    page.fill("#id_password", "a long enough passphrase 9")
    page.click("button[type=submit]")
    page.wait_for_selector("text=Check your inbox")
    assert User.objects.get(email="learner@example.com").time_zone == BROWSER_ZONE  # sent by the page
    link = re.search(r"https?://\S+", mail.outbox[-1].body).group(0)
    page.goto(link.replace("http://testserver", base))
    page.wait_for_selector("text=Your account is ready")

    page.goto(base + "/start/")
    choose_exam(page, exam.code)
    page.check("input[name=mode][value=drill]")
    page.fill("#id_count", "2")
    page.check("#id_timed")
    page.click("#start-button")
    page.wait_for_selector("#answer-form")
    attempt = Attempt.objects.get(user__email="learner@example.com")
    assert attempt.question_count == 2 and attempt.deadline is not None
    assert not page.is_visible("#see-results")  # only once time is up with answers refused

    assert_accessible(page)

    # Answer question 1 and flag it.
    page.locator("#answer-form input[name=choice]").first.check()
    page.wait_for_selector("#save-status:has-text('All answers saved')")
    page.click("#flag-button")
    page.wait_for_selector("#flag-button:has-text('Unflag')")
    # Question 2 with a keyboard shortcut, then answer it.
    page.keyboard.press("n")
    page.wait_for_selector("#question-heading:has-text('Question 2 of 2')")
    page.locator("#answer-form input[name=choice]").nth(1).check()
    page.wait_for_selector("#save-status:has-text('All answers saved')")
    before = int(page.get_attribute("#timer", "data-remaining") or 0)

    page.reload()
    page.wait_for_selector("#answer-form")
    assert page.locator("#answer-form input[name=choice]").nth(1).is_checked()
    after = int(page.get_attribute("#timer", "data-remaining") or 0)
    assert 0 < after <= before  # the clock did not reset
    assert page.locator("[data-nav-position='0'].answered.flagged").count() == 1
    items = {i.position: i for i in attempt.items.all()}
    assert items[0].selected and items[0].flagged and items[1].selected

    # Let the clock run out: the page submits itself and lands on the results.
    page.wait_for_url(re.compile(r"/results/$"), timeout=90_000)
    page.wait_for_selector("table.domain-table")
    assert page.locator("table.domain-table tbody tr").count() >= 1
    attempt.refresh_from_db()
    assert attempt.status == "submitted" and attempt.auto_submitted
    assert_accessible(page)

    page.click("text=Review answers and explanations")
    page.wait_for_selector(".review-item")
    first = attempt.items.select_related("version").get(position=0)
    assert first.version.data["explanation"] in page.content()
    assert_accessible(page)

    # The dashboard shows the report computed after the submit, with its charts and tables.
    page.goto(base + f"/?exam={exam.code}")
    page.wait_for_selector("text=Readiness (estimate)")
    assert page.locator("table.domain-table tbody tr").count() == 4
    assert_accessible(page)
    assert not [e for e in page.csp_errors if "Content Security Policy" in e]  # type: ignore[attr-defined]


def sign_in_and_start(page, base: str, exam_code: str, *, mode: str, timed: bool = False) -> Attempt:  # type: ignore[no-untyped-def]
    """A new learner signs in and starts a two-question attempt from the start page."""
    from tests.factories import PASSWORD, UserFactory

    user = UserFactory()
    page.goto(base + "/accounts/login/")
    page.fill("input[name=username]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto(base + "/start/")
    choose_exam(page, exam_code)
    assert_accessible(page)
    page.check(f"input[name=mode][value={mode}]")
    page.fill("#id_count", "2")
    page.set_checked("#id_timed", timed)
    page.click("#start-button")
    page.wait_for_selector("#answer-form")
    return Attempt.objects.get(user=user)


def test_review_waits_for_queued_answers_warns_about_unsent_ones_and_its_clock_submits(live_server, page):
    exam = make_exam("BRW-C02", question_count=10, unscored=0, duration=5, per_domain=6)
    attempt = sign_in_and_start(page, live_server.url, exam.code, mode="drill", timed=True)

    # Offline, an answer is queued; "Review and submit" waits for it instead of leaving.
    page.context.set_offline(True)
    page.locator("#answer-form input[name=choice]").first.check()
    page.click("#review-link")
    page.wait_for_timeout(1500)
    assert "/finish/" not in page.url
    assert not attempt.items.get(position=0).selected
    # Back online, the queue drains and the review page follows, listing what the server holds.
    page.context.set_offline(False)
    page.wait_for_url(re.compile(r"/finish/$"))
    assert attempt.items.get(position=0).selected
    assert page.locator(".chip-list a").all_inner_texts() == ["Question 2"]
    assert not page.is_visible("#unsaved-answers")
    assert re.fullmatch(r"\d:\d\d", page.inner_text("#review-timer"))  # a one-minute clock, as m:ss

    # An answer this device never delivered is named on the review page.
    page.evaluate(
        f"localStorage.setItem('exam-queue-{attempt.pk}', "
        "JSON.stringify([{url: '/x', position: '1', tokens: ['t'], seq: 1}]))"
    )
    page.reload()
    assert "question 2" in page.inner_text("#unsaved-answers")
    assert_accessible(page)

    # The clock runs here too: at zero the attempt is submitted.
    attempt.deadline = timezone.now() + dt.timedelta(seconds=3)
    attempt.save(update_fields=["deadline"])
    page.reload()
    page.wait_for_url(re.compile(r"/results/$"), timeout=20_000)
    attempt.refresh_from_db()
    assert attempt.status == "submitted" and attempt.auto_submitted
    assert "question 2" in page.inner_text("#leftover-answers")


def test_practice_checks_the_answer_on_screen_then_locks_it(live_server, page):
    exam = make_exam("BRW-C03", question_count=10, unscored=0, duration=5, per_domain=6)
    attempt = sign_in_and_start(page, live_server.url, exam.code, mode="practice")

    # Offline, the choice is queued; "Check answer" waits for it rather than checking the stale blank.
    page.context.set_offline(True)
    page.locator("#answer-form input[name=choice]").nth(1).check()
    page.click("#check-button")
    page.wait_for_timeout(1000)
    assert not page.is_visible("#check-result .review-options")
    page.context.set_offline(False)
    page.wait_for_selector("#check-result .review-options")
    item = attempt.items.get(position=0)
    assert item.checked and item.selected
    chosen = page.inner_text("#check-result li.chosen")
    assert "your choice" in chosen
    # The answer is final on the server, and so on the page: nothing left to change or re-check.
    options = page.locator("#answer-form input[name=choice]").count()
    assert options >= 4 and page.locator("#answer-form input[name=choice]:disabled").count() == options
    assert page.is_disabled("#check-button")
    assert_accessible(page)


def test_the_profile_offers_the_browsers_time_zone(live_server, page):
    from tests.factories import PASSWORD, UserFactory

    user = UserFactory(time_zone="UTC")
    page.goto(live_server.url + "/accounts/login/")
    page.fill("input[name=username]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto(live_server.url + "/accounts/profile/")
    page.wait_for_selector("#time-zone-hint:not([hidden])")
    assert page.text_content("#time-zone-hint [data-zone]") == BROWSER_ZONE
    assert_accessible(page)
    page.click("#time-zone-hint button")
    assert page.input_value("#id_time_zone") == BROWSER_ZONE
    page.click("button[type=submit].primary")
    page.wait_for_load_state()
    user.refresh_from_db()
    assert user.time_zone == BROWSER_ZONE
    page.goto(live_server.url + "/accounts/profile/")  # now they agree: no offer
    page.wait_for_load_state("networkidle")
    assert not page.is_visible("#time-zone-hint")
    assert not page.csp_errors


def test_missed_questions_come_back_for_review_from_the_dashboard(live_server, page):
    from tests.test_exam import correct_tokens, wrong_tokens

    exam = make_exam("BRW-C04", question_count=10, unscored=0, duration=5, per_domain=6)
    base = live_server.url
    drill = sign_in_and_start(page, base, exam.code, mode="drill")

    def answer_and_submit(attempt: Attempt, tokens_of) -> None:  # type: ignore[no-untyped-def]
        for item in attempt.items.select_related("version").order_by("position"):
            page.wait_for_selector(f"#question-heading:has-text('Question {item.position + 1} of 2')")
            for token in tokens_of(item):  # both keys of a "Choose two" item
                page.check(f"#answer-form input[name=choice][value='{token}']")
                page.wait_for_selector("#save-status:has-text('All answers saved')")
            if item.position == 0:
                page.click("#next-link")
        page.click("#review-link")
        page.check("input[name=confirm]")
        page.click("#submit-button")
        page.wait_for_url(re.compile(r"/results/$"))

    answer_and_submit(drill, wrong_tokens)
    page.goto(base + f"/?exam={exam.code}")
    page.wait_for_selector("#review-due:has-text('2 missed questions due for review.')")
    page.click("#review-mistakes")
    assert page.is_checked("input[name=mode][value=mistakes]")
    page.click("#start-button")
    page.wait_for_selector("#answer-form")
    review = Attempt.objects.get(mode="mistakes")
    assert set(review.items.values_list("question_id", flat=True)) == set(
        drill.items.values_list("question_id", flat=True)
    )
    answer_and_submit(review, correct_tokens)
    review.refresh_from_db()
    zone = zoneinfo.ZoneInfo(review.user.time_zone)
    back = (review.submitted_at + dt.timedelta(days=3)).astimezone(zone)
    standing = page.inner_text("#spaced-standing")
    assert f"2 right: back for review on {back:%A} {back.day} {back:%B}." in standing
    assert_accessible(page)
    page.goto(base + f"/?exam={exam.code}")
    page.wait_for_selector("#review-due:has-text('No missed questions are due for review.')")
    assert not page.is_visible("#review-mistakes")
