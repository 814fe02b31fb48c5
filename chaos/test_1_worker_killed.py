"""Scenario 1: a Celery worker killed with kill -9 in the middle of computing a report.

First one pool child is killed (the worker's parent survives): acks_late plus
reject_on_worker_lost must put the task back on the queue, and the worker alone
must finish every report. Then the whole worker (parent and child) is killed
and a new one started: the interrupted task's message stays unacknowledged in
Redis until the 300 s visibility timeout, so the durable stale flag and the
beat task refresh_stale_reports must bring the report back. Either way: exactly
one current report per user, equal to a clean recompute.
"""

from __future__ import annotations

import os
import signal
import time

import redis
from django.conf import settings

from chaos import data
from chaos.checks import assert_reports_current, report_query_running, stale_reports
from chaos.harness import celery_worker, say, wait_for
from chaos.params import QUICK
from quiz.tasks import refresh_stale_reports

USERS = 3
# Cloned 65-question mocks: the first learner is heavy (~100k or ~200k answers, so their
# report query runs for a few hundred ms, long enough to be caught and killed), the rest light.
HEAVY, LIGHT = (1500, 50) if QUICK else (3000, 100)


def ready(worker) -> bool:  # type: ignore[no-untyped-def]
    return " ready." in worker.tail(200) and len(worker.children()) == 1


def catch_report_query(again) -> None:  # type: ignore[no-untyped-def]
    """Wait until a worker is computing a report; if it was missed, enqueue once more and retry."""
    for _ in range(5):
        try:
            wait_for(report_query_running, 10, interval=0.005, what="a report query")
            return
        except AssertionError:
            say("missed the report query; enqueueing the heavy report again")
            again()
    raise AssertionError("never caught a worker computing a report")


def test_worker_killed_mid_report_then_whole_worker_killed(procs, chaos_dir):
    exam = data.new_exam("KILL", per_domain=40, question_count=65, unscored=0)
    users = [data.new_user("kill") for _ in range(USERS)]
    ids = [u.pk for u in users]
    started = time.monotonic()
    rows = sum(data.bulk_history(user, exam, HEAVY if n == 0 else LIGHT) for n, user in enumerate(users))
    say(f"{USERS} learners with {rows} answers between them ({time.monotonic() - started:.0f}s to write)")

    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete("celery")  # the set-up submits enqueued reports; start from an empty queue
    worker = procs(celery_worker(chaos_dir, "worker-a"))
    wait_for(lambda: ready(worker), 60, what="worker ready")
    say(f"worker parent {worker.pid}, pool child {worker.children()} (prefork, concurrency 1)")

    # --- 1a: kill -9 the pool child mid-report; the parent survives. ---
    for user_id in ids:  # heavy learner first: the queue is FIFO
        data.report_due(user_id, exam.pk)
    say(f"marked {USERS} reports stale and enqueued them (heavy learner {ids[0]} first)")
    catch_report_query(lambda: data.report_due(ids[0], exam.pk))
    [child] = worker.children()
    os.kill(child, signal.SIGKILL)
    say(f"kill -9 pool child {child} while it ran a report query")
    assert stale_reports(ids, exam.pk), "every report finished before the kill"

    wait_for(lambda: not stale_reports(ids, exam.pk), 180, what="all reports current after the child kill")
    assert worker.running(), "the worker parent died with its child"
    assert child not in worker.children()
    say(f"worker alone recomputed everything (new pool child {worker.children()}), no beat needed")
    lost = [line for line in worker.tail(400).splitlines() if "WorkerLostError" in line or "SIGKILL" in line]
    if lost:
        say(f"worker log: {lost[0].strip()[:150]}")
    assert_reports_current(ids, exam.pk)
    answered_before = {u: data.reported_answers(u, exam.pk) for u in ids}

    # --- 1b: a new mock each, then kill -9 the whole worker mid-report and start a new one. ---
    for user in users[1:] + users[:1]:  # each submit marks its report stale and enqueues it
        data.take_attempt(user, exam, right=0.3)
    say(f"{USERS} learners submitted one more mock each, heavy learner last; reports stale and enqueued")
    catch_report_query(lambda: data.report_due(ids[0], exam.pk))
    killed = worker.kill9()
    say(f"kill -9 the whole worker {killed} while it ran a report query")
    assert stale_reports(ids, exam.pk), "every report finished before the kill"

    worker = procs(celery_worker(chaos_dir, "worker-b"))
    wait_for(lambda: ready(worker), 60, what="restarted worker ready")
    wait_for(lambda: broker.llen("celery") == 0 and not report_query_running(), 120, what="queue drained")
    time.sleep(2)
    left = stale_reports(ids, exam.pk)
    say(
        f"restarted worker {worker.pid} drained the queue; still stale: {left or 'none'} "
        f"(unacked in Redis: {broker.hlen('unacked')} message(s), redelivered only after the 300 s visibility timeout)"
    )

    queued = refresh_stale_reports()  # what beat runs every 120 s
    say(f"beat task refresh_stale_reports re-enqueued {queued} stale report(s)")
    wait_for(lambda: not stale_reports(ids, exam.pk), 180, what="all reports current after the restart")
    assert_reports_current(ids, exam.pk)
    for user_id in ids:
        assert data.reported_answers(user_id, exam.pk) > answered_before[user_id]
