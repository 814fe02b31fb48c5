"""Scenario 3: the (private) PostgreSQL restarted under load.

gunicorn runs in production mode (DEBUG=false) against the private PostgreSQL.
Four learners save answers continuously from four threads; PostgreSQL is
stopped hard (pg_ctl -m immediate, a crash) for CHAOS_PG_OUTAGE seconds (20 by
default, 8 with QUICK=1) and started again. Requests during the outage must
fail fast (under 6 s: connect_timeout is 5) with a 5xx and no traceback in the
body; the same gunicorn workers must serve again once PostgreSQL is back (no
app restart); and every save the server acknowledged with a 200 must be in the
database.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

from django.db import connections

from chaos import data
from chaos.harness import Browserless, Response, say, service
from chaos.ledger import Ledger
from chaos.params import PG_OUTAGE
from quiz.models import Attempt

FAIL_FAST = 6.0  # seconds
RECOVERY = 15.0  # seconds after PostgreSQL accepts connections again
TRACEBACK_MARKS = ("Traceback", 'File "/', "OperationalError", "psycopg", "django.db")


def load(ledger: Ledger, client: Browserless, attempt: Attempt, stop: threading.Event) -> None:
    """Save answers round and round until told to stop, like a learner changing their mind."""
    items = list(attempt.items.order_by("position").values_list("position", "choice_tokens"))
    n = 0
    while not stop.is_set():
        position, tokens = items[n % len(items)]
        ledger.save(client, attempt.pk, position, [tokens[(n // len(items)) % len(tokens)]])
        n += 1
        time.sleep(0.05)


def describe(responses: list[Response]) -> str:
    kinds = Counter(f"{r.status or r.error.split(':')[0]}" for r in responses)
    return ", ".join(f"{k} x{v}" for k, v in sorted(kinds.items()))


def test_postgres_restart_under_load(web):
    exam = data.new_exam("PGR", question_count=10, unscored=0)
    users = [data.new_user("pg") for _ in range(4)]
    attempts = [data.start_attempt(u, exam) for u in users]
    server, port = web("web-pg", debug=False)
    workers_before = sorted(server.children())
    clients = [Browserless(port, data.session_cookie(u)) for u in users]
    connections.close_all()
    say(
        f"gunicorn {server.pid} (DEBUG=false, workers {workers_before}) on :{port}; 4 learners saving continuously"
    )

    ledger, stop = Ledger(), threading.Event()
    threads = [
        threading.Thread(target=load, args=(ledger, c, a, stop), daemon=True)
        for c, a in zip(clients, attempts, strict=True)
    ]
    for t in threads:
        t.start()
    time.sleep(3)
    baseline = [s.response for s in ledger.saves]
    if not baseline or any(r.status != 200 for r in baseline):
        stop.set()
        raise AssertionError(
            f"saves fail before any fault ({describe(baseline)}): the app is broken, not the fault handling\n"
            + server.tail(25)
        )
    say(f"baseline: {len(baseline)} saves in 3s, all 200")
    down = time.monotonic()
    service("pg-stop", "immediate")
    say(f"PostgreSQL stopped with -m immediate (a crash) for {PG_OUTAGE:.0f}s")
    time.sleep(PG_OUTAGE)
    service("pg-start")
    up = time.monotonic()
    say(f"PostgreSQL started again (crash recovery done, accepting connections) after {up - down:.1f}s")
    time.sleep(RECOVERY)
    stop.set()
    for t in threads:
        t.join(60)
    end = time.monotonic()

    responses = [s.response for s in ledger.saves]
    failed = [r for r in responses if r.status != 200]
    say(f"{len(responses)} saves: {describe(responses)}")
    say(
        f"failed requests: {describe(failed) or 'none'}; slowest {max((r.seconds for r in failed), default=0):.2f}s"
    )
    if failed:
        sample = failed[0]
        say(f"a failed response: {sample.status} {sample.headers.get('content-type', '')} "
            f"Retry-After={sample.headers.get('retry-after')} body={sample.body[:120]!r}")  # fmt: skip

    # Requests that fail, fail fast, with a 5xx and no traceback; no request hangs or is dropped.
    assert not [r for r in failed if r.status == 0], (
        f"connection errors/timeouts: {[r.error for r in failed if r.status == 0][:5]}"
    )
    assert all(500 <= r.status < 600 for r in failed), describe(failed)
    slow = [r for r in failed if r.seconds >= FAIL_FAST]
    assert not slow, (
        f"{len(slow)} failed requests took over {FAIL_FAST}s (slowest {max(r.seconds for r in slow):.1f}s)"
    )
    leaky = [r for r in failed if any(mark in r.body for mark in TRACEBACK_MARKS)]
    assert not leaky, f"error bodies show internals: {leaky[0].body[:500]}"
    assert all(down - 1 <= r.started <= up + RECOVERY for r in failed), "failures outside the outage"

    # Recovery without restarting the app: the last seconds are all 200, from the same workers.
    settled = [r for r in responses if r.started >= up + 5]
    first_ok = min((r.started for r in responses if r.started > up and r.status == 200), default=end)
    say(
        f"first 200 {first_ok - up:.2f}s after PostgreSQL was back; {describe(settled)} in the last {end - up - 5:.0f}s"
    )
    assert settled and all(r.status == 200 for r in settled), describe(settled)
    assert server.running() and sorted(server.children()) == workers_before, (
        f"gunicorn workers changed: {workers_before} -> {sorted(server.children())}"
    )

    # No acknowledged answer lost; the attempts still submit.
    connections.close_all()
    lost = ledger.lost()
    assert not lost, lost
    for client, attempt in zip(clients, attempts, strict=True):
        response = client.post(f"/attempts/{attempt.pk}/submit", [("confirm", "yes")])
        assert response.status == 302, (response.status, response.body[:200])
    assert Attempt.objects.filter(pk__in=[a.pk for a in attempts], status="submitted").count() == 4
    say(f"ledger: all {len(ledger.acked)} acknowledged saves are in the database; 4/4 attempts submitted")
