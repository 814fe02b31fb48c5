"""Scenario 4: the learner's browser goes offline mid-exam (Playwright context.set_offline).

Offline for CHAOS_OFFLINE_SECONDS (120 by default, 15 with QUICK=1):

a) Before the deadline. The page must show the unsaved state ("Not saved" in
   #save-status) for as long as the outage lasts, keep the answers in its
   localStorage queue, flush them in order when the network returns, and the
   database must end equal to every answer the server acknowledged (which is
   also what the learner last chose).
b) The deadline passes during the outage. Answers chosen offline arrive too
   late and are refused; the page must show which answers were refused as too
   late, and the database must hold exactly the acknowledged answers.
"""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest
from django.conf import settings
from django.db import connections
from django.utils import timezone

from chaos import data
from chaos.browser import SaveLog, chromium
from chaos.harness import say, wait_for
from chaos.params import OFFLINE_SECONDS
from quiz.models import Attempt, AttemptItem

STATUS = "#save-status"
OPTIONS = "#answer-form input[name=choice]"


@pytest.fixture(autouse=True)
def _django_beside_playwright(monkeypatch: pytest.MonkeyPatch) -> None:
    """Playwright's sync API runs an event loop in this thread; let the ORM run here anyway."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def db_matches_acknowledged(attempt: Attempt, log: SaveLog) -> list[str]:
    """Differences between the database and the newest acknowledged save of each question."""
    connections.close_all()
    newest = {}
    for save in log.acked:
        if save.position not in newest or save.seq > newest[save.position].seq:
            newest[save.position] = save
    problems = []
    for item in AttemptItem.objects.filter(attempt=attempt).order_by("position"):
        save = newest.get(item.position)
        if save is None:
            if item.selected:
                problems.append(f"q{item.position}: stored {item.selected} but nothing was acknowledged")
        elif item.seq != save.seq or item.selected != item.indexes_for_tokens(save.tokens):
            problems.append(
                f"q{item.position}: acknowledged seq {save.seq} {save.tokens}, stored seq {item.seq} {item.selected}"
            )
    return problems


def queued(page, attempt: Attempt) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    return json.loads(page.evaluate(f"localStorage.getItem('exam-queue-{attempt.pk}') || '[]'"))


def status(page) -> str:  # type: ignore[no-untyped-def]
    try:
        return page.inner_text(STATUS, timeout=2000)
    except Exception:  # noqa: BLE001 - not on the exam page (an error page, the results)
        return f"(no {STATUS} on {page.url})"


def choose(page, n: int) -> str:  # type: ignore[no-untyped-def]
    """Click the n-th option of the question on screen; its token."""
    option = page.locator(OPTIONS).nth(n)
    option.check()
    return str(option.get_attribute("value"))


def test_offline_saves_flush_in_order_on_reconnect(web):
    exam = data.new_exam("OFF", question_count=10, unscored=0, multiple_every=0)
    user = data.new_user("offline")
    attempt = data.start_attempt(user, exam)
    _, port = web("web-browser")
    log = SaveLog()
    broken: list[str] = []  # expectations the page missed; asserted at the end so every check runs
    with chromium(port, data.session_cookie(user)) as (network, page):
        log.attach(page)
        page.goto(f"/attempts/{attempt.pk}/q/0/")
        for n in range(3):
            choose(page, 0)
            page.wait_for_selector(f"{STATUS}:has-text('All answers saved')")
            page.click("#next-link")
            page.wait_for_selector(f"#question-heading:has-text('Question {n + 2} of')")
        say(f"online: answered questions 1-3 ({len(log.acked)} saves acknowledged), now on question 4")

        network.set_offline(True)
        off = time.monotonic()
        say(f"browser offline for {OFFLINE_SECONDS:.0f}s")
        final = {3: choose(page, 1)}  # position -> the token the learner chose last
        page.wait_for_selector(f"{STATUS}:has-text('Not saved')", timeout=15_000)
        say(f"answered question 4 offline: status '{status(page)}'")
        page.click("#next-link")  # loading another question needs the network
        page.wait_for_timeout(1000)
        assert "Question 4 of" in page.inner_text("#question-heading"), "left question 4 while offline?"
        say(f"Next while offline: still on question 4, status '{status(page)}'")
        page.evaluate("document.getElementById('save-status').dataset.chaos = 'loaded'")
        for position in (2, 1):  # Back is served from htmx's history cache, without the network
            page.go_back()
            page.wait_for_selector(f"#question-heading:has-text('Question {position + 1} of')", timeout=5000)
            final[position] = choose(page, 2)
            page.wait_for_timeout(500)
            text = status(page)
            say(f"Back to question {position + 1} (htmx history cache), changed its answer: status '{text}'")
            if "Not saved" not in text:
                replaced = page.evaluate("document.getElementById('save-status').dataset.chaos !== 'loaded'")
                say(
                    f"  #save-status is {'a copy restored from the history snapshot' if replaced else 'the original'}"
                )
                broken.append(
                    f"offline, after Back to question {position + 1} and a change, #save-status says {text!r}"
                )
        clock = page.inner_text("#timer-text")
        page.wait_for_timeout(2000)
        if page.inner_text("#timer-text") == clock:
            say(
                f"NOTE: the visible clock stopped at {clock} after Back (exam.js still updates the replaced element)"
            )

        seen = set()
        while time.monotonic() - off < OFFLINE_SECONDS:
            seen.add(status(page))
            page.wait_for_timeout(1000)
        say(f"status shown during the rest of the outage: {sorted(seen)}")
        if any("All answers saved" in text for text in seen):
            broken.append("the page said 'All answers saved' while offline with answers unsaved")
        pending = queued(page, attempt)
        say(f"localStorage queue: {[(f'q{int(str(e["position"])) + 1}', e['seq']) for e in pending]}")
        assert [(int(str(e["position"])), e["tokens"]) for e in pending] == [
            (p, [t]) for p, t in final.items()
        ]

        sent_before = len(log.saves)
        network.set_offline(False)
        back = time.monotonic()
        wait_for(lambda: not queued(page, attempt), 30, what="the page to empty its queue")
        page.wait_for_timeout(500)
        flushed = [s for s in log.saves[sent_before:] if s.status]
        say(
            f"online again: queue sent in {time.monotonic() - back:.1f}s: "
            f"{[(f'q{s.position + 1}', s.seq, s.status) for s in flushed]}; status '{status(page)}'"
        )
        assert flushed and all(s.status == 200 for s in flushed), flushed
        assert [(str(s.position), s.seq, s.tokens) for s in flushed] == [
            (e["position"], e["seq"], e["tokens"]) for e in pending
        ], "the page did not send its queue, in order"

        problems = db_matches_acknowledged(attempt, log)
        assert not problems, problems
        for position, token in final.items():
            page.goto(f"/attempts/{attempt.pk}/q/{position}/")
            shown = page.locator(f"{OPTIONS}:checked").get_attribute("value")
            assert shown == token, (
                f"question {position + 1}: the learner's last choice is not what the server has"
            )
        say(
            f"database = the {len(log.acked)} acknowledged saves = the learner's last choices (checked after reload)"
        )
    assert not broken, broken


def test_offline_past_deadline_shows_refused_answers(web):
    exam = data.new_exam("DLN", question_count=10, unscored=0, multiple_every=0)
    user = data.new_user("deadline")
    attempt = data.start_attempt(user, exam)
    _, port = web("web-deadline")
    log = SaveLog()
    with chromium(port, data.session_cookie(user)) as (network, page):
        log.attach(page)
        # The deadline falls early in the outage, and its grace period ends well before the outage does.
        deadline = timezone.now() + dt.timedelta(seconds=3 + OFFLINE_SECONDS / 5)
        Attempt.objects.filter(pk=attempt.pk).update(deadline=deadline)
        page.goto(f"/attempts/{attempt.pk}/q/0/")
        page.locator(OPTIONS).nth(0).check()
        page.wait_for_selector(f"{STATUS}:has-text('All answers saved')")
        network.set_offline(True)
        off = time.monotonic()
        left = (deadline - timezone.now()).total_seconds()
        say(
            f"answered question 1 online; offline for {OFFLINE_SECONDS:.0f}s; the deadline passes in {left:.0f}s"
        )
        assert left + settings.ANSWER_GRACE_SECONDS < OFFLINE_SECONDS - 2, (
            "outage too short for the deadline to pass"
        )
        page.locator(OPTIONS).nth(1).check()
        page.wait_for_selector(f"{STATUS}:has-text('Not saved')", timeout=15_000)
        say(f"changed question 1 offline: status '{status(page)}'")

        timeline = []
        while time.monotonic() - off < OFFLINE_SECONDS:
            now = (page.url.split("127.0.0.1")[-1][-40:], status(page))
            if not timeline or timeline[-1][1:] != now:
                timeline.append((round(time.monotonic() - off), *now))
            page.wait_for_timeout(1000)
        say(f"offline timeline (s, page, status): {timeline}")

        network.set_offline(False)
        say("online again; waiting for the page to show what was refused")
        shown = wait_for_refusal(page, 30)
        if not shown:
            say(f"the page shows nothing after 30s (url {page.url}); the learner reopens the attempt")
            page.goto(f"/attempts/{attempt.pk}/")
            shown = wait_for_refusal(page, 15)
        say(f"after reconnect: url {page.url}; refusal shown: {shown or 'nothing'}")
        say(
            f"saves the page sent: {[(f'q{s.position + 1}', s.status, s.reply.get('status')) for s in log.saves]}"
        )
        say(f"connections reset while offline: {network.reset}")

        connections.close_all()
        attempt.refresh_from_db()
        say(
            f"attempt {attempt.status}{' (auto)' if attempt.auto_submitted else ''}; localStorage queue: {queued(page, attempt)}"
        )
        problems = db_matches_acknowledged(attempt, log)
        assert not problems, problems
        assert attempt.status == "submitted"
        assert shown, (
            "after the deadline passed offline, no page showed which answers were refused as too late "
            f"(the offline answer to question 1 is still queued in localStorage: {queued(page, attempt)})"
        )


def wait_for_refusal(page, seconds: float) -> str:  # type: ignore[no-untyped-def]
    """What the page says about refused answers (a refused navigator item or a 'Not saved: Time is up' status)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            refused = page.locator(".nav-item.refused").count()
            text = page.inner_text("body", timeout=2000)
        except Exception:  # noqa: BLE001 - mid-navigation
            refused, text = 0, ""
        if refused or "Time is up: this answer" in text or "arrived after the deadline" in text:
            return f"{refused} question(s) marked refused; status '{status(page)}'"
        page.wait_for_timeout(1000)
    return ""
