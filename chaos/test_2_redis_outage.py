"""Scenario 2: Redis (broker and cache) stopped during an exam.

A gunicorn web server and a Celery worker run against the private Redis. While
Redis is down (CHAOS_REDIS_OUTAGE seconds; 60 by default, 20 with QUICK=1)
learners keep saving answers and submit: every save and submit must succeed,
quickly, through the app. When Redis returns (empty: the queued messages are
gone) the worker reconnects on its own, a submit made then gets its report from
the worker directly, and the reports whose enqueue was lost during the outage
catch up through the beat task refresh_stale_reports. Nothing is lost.
"""

from __future__ import annotations

import itertools
import time

from chaos import data
from chaos.checks import assert_reports_current, report_is_current, stale_reports
from chaos.harness import Browserless, say, service, wait_for
from chaos.ledger import Ledger
from chaos.params import REDIS_OUTAGE
from quiz.models import Attempt, AttemptItem
from quiz.tasks import refresh_stale_reports

SAVE_LIMIT = 2.0  # seconds: a save must not wait on the broker
SUBMIT_LIMIT = 10.0  # seconds: a submit may try the broker once (2 s connect timeout), never hang


def answer_all(ledger: Ledger, client: Browserless, attempt: Attempt, round_: int) -> None:
    """Answer every question of ``attempt``, choosing option ``round_`` modulo the options."""
    for item in attempt.items.order_by("position"):
        token = item.choice_tokens[round_ % len(item.choice_tokens)]
        save = ledger.save(client, attempt.pk, item.position, [token])
        assert save.acked, (
            f"save refused: {save.response.status} {save.response.body[:200]} {save.response.error}"
        )


def submit(client: Browserless, attempt: Attempt) -> float:
    response = client.post(f"/attempts/{attempt.pk}/submit", [("confirm", "yes")])
    assert response.status == 302 and response.headers.get("location", "").endswith(
        f"/attempts/{attempt.pk}/results/"
    ), f"submit failed: {response.status} {response.error} {response.body[:300]}"
    page = client.get(f"/attempts/{attempt.pk}/results/")
    assert page.status == 200, f"results page: {page.status} {page.body[:300]}"
    return response.seconds


def test_redis_outage_during_exam(web, worker):
    exam = data.new_exam("RDS", question_count=10, unscored=0)
    users = [data.new_user("redis") for _ in range(4)]
    attempts = [data.start_attempt(u, exam) for u in users]
    ids = [u.pk for u in users]
    celery = worker("worker-redis")
    server, port = web("web-redis")
    clients = [Browserless(port, data.session_cookie(u)) for u in users]
    ledger = Ledger()
    say(f"gunicorn {server.pid} on :{port}, worker {celery.pid}; 4 learners in a 10-question mock")

    answer_all(ledger, clients[0], attempts[0], 1)
    submit(clients[0], attempts[0])
    wait_for(lambda: report_is_current(ids[0], exam.pk), 60, what="a report before the outage")
    say("before the outage: learner 0 answered and submitted; the worker computed the report")

    service("redis-stop")
    down = time.monotonic()
    say(f"Redis stopped (SHUTDOWN NOSAVE) for {REDIS_OUTAGE:.0f}s")
    health = clients[1].get("/healthz")
    assert health.status == 200 and "error" in health.json()["broker"], health.body
    say(f"/healthz during the outage: 200, broker: {health.json()['broker']}")

    submitted_during: list[tuple[int, float]] = []
    for round_ in itertools.count(2):
        for n in (1, 2, 3):
            if attempts[n].pk in {a for a, _ in submitted_during}:
                continue
            answer_all(ledger, clients[n], attempts[n], round_)
        elapsed = time.monotonic() - down
        if elapsed > REDIS_OUTAGE / 2 and not submitted_during:
            for n in (1, 2):
                submitted_during.append((attempts[n].pk, submit(clients[n], attempts[n])))
            say(
                f"learners 1 and 2 submitted during the outage in {[f'{s:.2f}s' for _, s in submitted_during]}"
            )
            home = clients[1].get("/")
            assert home.status == 200, f"dashboard during the outage: {home.status}"
        if elapsed > REDIS_OUTAGE:
            break
        time.sleep(0.2)
    during = [s for s in ledger.saves if s.attempt_id != attempts[0].pk]
    slowest = max(s.response.seconds for s in during)
    say(f"{len(during)} answer saves during the outage, all 200; slowest {slowest:.3f}s")
    assert slowest < SAVE_LIMIT
    assert all(seconds < SUBMIT_LIMIT for _, seconds in submitted_during)

    service("redis-start")
    say(f"Redis back (empty) after {time.monotonic() - down:.0f}s")
    assert celery.running() and server.running(), "worker or web process died during the outage"

    submit(clients[3], attempts[3])
    wait_for(lambda: report_is_current(ids[3], exam.pk), 90, what="learner 3's report after Redis returned")
    say("learner 3 submitted after the outage: the same web and worker processes produced the report")
    left = stale_reports(ids, exam.pk)
    say(f"reports still stale (enqueued while Redis was down): {left}")
    assert set(left) == {ids[1], ids[2]}

    queued = refresh_stale_reports()  # what beat runs every 120 s
    say(f"beat task refresh_stale_reports re-enqueued {queued} report(s)")
    wait_for(lambda: not stale_reports(ids, exam.pk), 90, what="every report current")
    assert_reports_current(ids, exam.pk)

    assert not ledger.lost(), ledger.lost()
    assert Attempt.objects.filter(pk__in=[a.pk for a in attempts], status="submitted").count() == 4
    stored = AttemptItem.objects.filter(attempt__in=attempts).exclude(selected=[]).count()
    say(
        f"nothing lost: {len(ledger.acked)} acknowledged saves all in the database, 4/4 attempts submitted, {stored} answers stored"
    )
