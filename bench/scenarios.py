"""The five load scenarios. Each prepares its data (outside the timed part), drives
the running stack over HTTP, then checks the database.

Every scenario has a full size (the targets) and a --quick size (a smoke test).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import math
import random
import re
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection
from django.db.models import Count, ExpressionWrapper, F
from django.db.models.fields import DateTimeField
from django.utils import timezone

from bench import setup
from bench.ledger import Ledger, SeqClock
from bench.loadgen import (
    Client,
    EndpointStats,
    Fire,
    OpenLoopResult,
    Recorder,
    Reply,
    Sample,
    at_times,
    closed_loop,
    form,
    open_loop,
    percentile,
    summarise,
    table,
)
from bench.setup import Item, Taker
from quiz.models import Attempt, AttemptItem, Report

ATTEMPT_URL = re.compile(r"^/attempts/(\d+)/$")
QUESTION_URL = re.compile(r"^/attempts/(\d+)/q/(\d+)/$")


@dataclass
class Context:
    port: int
    quick: bool
    csrf: str
    seed: int = 1
    _savers: list[Taker] = field(default_factory=list)
    # The savers' answers accumulate over (a) and (b), so one ledger covers both.
    saver_ledger: Ledger = field(default_factory=Ledger)
    saver_clock: SeqClock = field(default_factory=SeqClock)

    def client(self) -> Client:
        return Client("127.0.0.1", self.port)

    def savers(self) -> list[Taker]:
        """Open full mocks shared by the answer-rate and saturation scenarios."""
        if not self._savers:
            count = 100 if self.quick else 500
            self._savers = setup.start_attempts(setup.make_takers("saver", count, self.csrf), seed=self.seed)
        return self._savers


@dataclass
class Outcome:
    name: str
    lines: list[str] = field(default_factory=list)
    checks: list[tuple[str, bool]] = field(default_factory=list)

    def say(self, line: str) -> None:
        self.lines.append(line)
        print(line, flush=True)

    def check(self, description: str, passed: bool) -> None:
        self.checks.append((description, passed))
        self.say(f"  [{'PASS' if passed else 'FAIL'}] {description}")

    @property
    def passed(self) -> bool:
        return all(ok for _, ok in self.checks)


# ---- requests every scenario shares ----


def _json_status(reply: Reply) -> str:
    try:
        return str(json.loads(reply.body).get("status", ""))
    except ValueError:
        return ""


def _pong(reply: Reply) -> bool:
    return reply.status == 200 and reply.body == b"pong"


def _saved(reply: Reply) -> bool:
    return reply.status == 200 and _json_status(reply) == "saved"


async def save_answer(
    rec: Recorder,
    client: Client,
    ledger: Ledger,
    clock: SeqClock,
    taker: Taker,
    item: Item,
    rng: random.Random,
    due: float | None = None,
    endpoint: str = "POST answer",
) -> tuple[str, float, int]:
    """POST one answer as exam.js does; returns (outcome, loop time sent, seq)."""
    key = (taker.attempt_id, item.position)
    seq = clock.next(key)
    tokens = item.pick(rng)
    clock.busy.add(key)
    body = form([*(("choice", t) for t in tokens), ("seq", seq)])
    sent = asyncio.get_running_loop().time()
    try:
        reply, outcome = await rec.call(
            client,
            endpoint,
            "POST",
            f"/attempts/{taker.attempt_id}/q/{item.position}/answer",
            headers=taker.identity.headers(post=True, json=True),
            body=body,
            ok=_saved,
            due=due,
        )
    except asyncio.CancelledError:
        ledger.record(key, seq, tokens, "unknown")  # it may still have reached the server
        raise
    finally:
        clock.busy.discard(key)
    ledger.record(key, seq, tokens, "unknown" if reply is None else outcome)
    return outcome, sent, seq


def idle_item(taker: Taker, clock: SeqClock, rng: random.Random) -> Item:
    """A random question of ``taker`` with no save in flight (as one page would have it)."""
    for _ in range(50):
        item = rng.choice(taker.items)
        if (taker.attempt_id, item.position) not in clock.busy:
            return item
    return item


def _page_ok(item: Item) -> Callable[[Reply], bool]:
    """200 and the page offers this question's options (by token)."""
    return lambda r: r.status == 200 and all(t.encode() in r.body for t in item.tokens)


def _stats(rec: Recorder, window: float | None = None, order: Sequence[str] = ()) -> list[EndpointStats]:
    groups = rec.by_endpoint()
    names = [n for n in order if n in groups] + sorted(n for n in groups if n not in order)
    return [summarise(groups[n], n, window) for n in names]


def _verify_ledger(out: Outcome, ledger: Ledger) -> None:
    result = ledger.verify()
    out.say("  " + result.line())
    out.check("every acknowledged answer is stored exactly (zero lost answers)", result.ok)


# ---- (a) answer save at a fixed offered rate ----


def answer_rate(ctx: Context) -> Outcome:
    out = Outcome("answer-rate")
    rate, duration = 250.0, (15.0 if ctx.quick else 300.0)
    takers = ctx.savers()
    out.say(
        f"(a) answer save, open loop: {rate:.0f} req/s offered for {duration:.0f} s over {len(takers)} open mocks"
    )
    ledger, clock = ctx.saver_ledger, ctx.saver_clock

    async def drive() -> tuple[Recorder, OpenLoopResult]:
        client, rng = ctx.client(), random.Random(ctx.seed)

        def fire(rec: Recorder) -> Fire:
            async def send(i: int, due: float) -> None:
                taker = takers[i % len(takers)]
                await save_answer(rec, client, ledger, clock, taker, idle_item(taker, clock, rng), rng, due)

            return send

        await open_loop(50, 2, fire(Recorder()))  # warm-up: connections, caches; saves still in the ledger
        rec = Recorder()
        result = await open_loop(rate, duration, fire(rec), poisson=True, seed=ctx.seed)
        client.close()
        return rec, result

    rec, result = asyncio.run(drive())
    stats = _stats(rec)
    out.say(table(stats))
    saves = stats[0]
    span = max(x.done for x in rec.samples) - min(x.due for x in rec.samples)
    out.say(
        f"  offered {rate:.1f} req/s (Poisson arrivals, {result.scheduled} scheduled); generator sent "
        f"{result.send_rate:.1f} req/s, send lag p99 {saves.send_lag_p99 * 1000:.1f} ms; achieved "
        f"{saves.throughput:.1f} responses/s, {saves.ok / span:.1f} saved/s over {span:.1f} s; generator CPU {rec.generator_cpu():.2f} cores"
    )
    # Against what was actually scheduled: Poisson arrivals alone vary the count by about 1.6%.
    out.check(
        "achieved at least 99% of the offered rate", saves.ok / span >= 0.99 * result.scheduled / duration
    )
    out.check("no errors", not saves.errors)
    out.check(
        f"target: p50 <= 5 ms and p99 <= 50 ms (p50 {saves.p50 * 1000:.1f}, p99 {saves.p99 * 1000:.1f})",
        saves.p50 <= 0.005 and saves.p99 <= 0.050,
    )
    _verify_ledger(out, ledger)
    return out


# ---- (b) saturation: answer save against the ping baseline ----


def saturation(ctx: Context, concurrency: int = 32) -> Outcome:
    out = Outcome("saturation")
    duration = 10.0 if ctx.quick else 60.0
    takers = ctx.savers()
    out.say(
        f"(b) saturation, closed loop: {concurrency} requests in flight for {duration:.0f} s, answer save then "
        f"ping (2 s warm-up each); first 3 s with 1 in flight for the unloaded service time"
    )
    ledger, clock = ctx.saver_ledger, ctx.saver_clock

    async def drive() -> tuple[dict[str, EndpointStats], list[str]]:
        client, rng = ctx.client(), random.Random(ctx.seed + 1)
        ping_headers = takers[0].identity.headers()

        def saver(rec: Recorder, name: str) -> Fire:
            async def fire(i: int, due: float) -> None:
                taker = takers[i % len(takers)]
                item = idle_item(taker, clock, rng)
                await save_answer(rec, client, ledger, clock, taker, item, rng, due, endpoint=name)

            return fire

        def pinger(rec: Recorder, name: str) -> Fire:
            async def fire(i: int, due: float) -> None:
                await rec.call(client, name, "GET", "/bench/ping", headers=ping_headers, ok=_pong, due=due)

            return fire

        found: dict[str, EndpointStats] = {}
        cpu: list[str] = []
        for kind, make in (("POST answer", saver), ("GET bench/ping", pinger)):
            await closed_loop(concurrency, 2, make(Recorder(), kind))
            for lanes, seconds in ((1, 3.0), (concurrency, duration)):
                name = f"{kind} ({lanes} in flight)"
                rec = Recorder()
                window = await closed_loop(lanes, seconds, make(rec, name))
                found[name] = summarise(rec.samples, name, window)
                cpu.append(f"{name} {rec.generator_cpu():.2f}")
        client.close()
        return found, cpu

    found, cpu = asyncio.run(drive())
    out.say(table(found.values()))
    out.say("  generator CPU (cores): " + "; ".join(cpu))
    save, ping = (
        found[f"POST answer ({concurrency} in flight)"],
        found[f"GET bench/ping ({concurrency} in flight)"],
    )
    ratio = save.throughput / ping.throughput if ping.throughput else math.nan
    out.say(
        f"  answer save at saturation: {save.throughput:.0f} req/s; ping: {ping.throughput:.0f} req/s; "
        f"ratio {ratio:.3f}"
    )
    out.check("no errors under saturation", not any(s.errors for s in found.values()))
    out.check(f"target: at least 450 saves/s at saturation ({save.throughput:.0f})", save.throughput >= 450)
    out.check(f"target: at least half the ping view's throughput (ratio {ratio:.3f})", ratio >= 0.5)
    out.check("the ping view runs no query", all(s.queries_max == 0 for n, s in found.items() if "ping" in n))
    _verify_ledger(out, ledger)
    return out


# ---- (c) a crowd pressing Start ----


def start_burst(ctx: Context, window: float = 10.0, double_click: float = 0.1) -> Outcome:
    out = Outcome("start-burst")
    count = 100 if ctx.quick else 1000
    rng = random.Random(ctx.seed + 2)
    takers = setup.make_takers("start", count, ctx.csrf)
    presses = sorted(
        [(rng.uniform(0, window), n) for n in range(count)]
        + [
            (rng.uniform(0, window) + rng.uniform(0.05, 0.4), n)
            for n in range(count)
            if rng.random() < double_click
        ]
    )
    out.say(
        f"(c) start burst: {count} takers press Start on {setup.EXAM} (full mock) within {window:.0f} s; "
        f"{len(presses) - count} press twice; each follows the redirects to question 1"
    )
    attempts_seen: dict[int, set[int]] = defaultdict(set)

    async def drive() -> Recorder:
        client, rec = ctx.client(), Recorder()
        fields: list[tuple[str, str | int]] = [
            ("exam", setup.EXAM),
            ("mode", "full"),
            ("count", 65),
            ("include_pilot", "on"),
            ("timed", "on"),
        ]

        async def press(i: int, due: float) -> None:
            n = presses[i][1]
            taker = takers[n]
            reply, outcome = await rec.call(
                client, "POST start/", "POST", "/start/", headers=taker.identity.headers(post=True),
                body=form(fields), due=due,
                ok=lambda r: r.status == 302 and bool(QUESTION_URL.match(r.location) or ATTEMPT_URL.match(r.location)),
            )  # fmt: skip
            journey = outcome
            if reply is not None and outcome == "ok":
                # A new attempt's Start goes straight to its question; a second press resumes
                # the open attempt through /attempts/<id>/, which redirects to the question.
                first = QUESTION_URL.match(reply.location) or ATTEMPT_URL.match(reply.location)
                attempts_seen[n].add(int(first.group(1)))  # type: ignore[union-attr]
                if ATTEMPT_URL.match(reply.location):
                    reply, journey = await rec.call(
                        client, "GET attempts/<id>/", "GET", reply.location, headers=taker.identity.headers(),
                        ok=lambda r: r.status == 302 and bool(QUESTION_URL.match(r.location)),
                    )  # fmt: skip
                if reply is not None and journey == "ok":
                    _, journey = await rec.call(
                        client, "GET question page", "GET", reply.location, headers=taker.identity.headers()
                    )
            done = asyncio.get_running_loop().time()
            rec.samples.append(Sample("start journey", due, due, done, 200, journey, None))

        await at_times([p[0] for p in presses], press)
        client.close()
        return rec

    rec = asyncio.run(drive())
    order = ["POST start/", "GET attempts/<id>/", "GET question page", "start journey"]
    out.say(table(_stats(rec, order=order)))
    out.say(f"  generator CPU {rec.generator_cpu():.2f} cores")
    errors = rec.errors()
    out.check("no errors", not errors)
    journeys = _stats(rec, order=["start journey"])[0]
    out.check(
        f"target: p99 <= 2 s from pressing Start to seeing question 1 (p99 {journeys.p99:.2f} s)",
        journeys.p99 <= 2.0,
    )
    user_ids = {t.user_id: n for n, t in enumerate(takers)}
    open_counts = Counter(
        dict(
            Attempt.objects.filter(user_id__in=user_ids, exam__code=setup.EXAM, status=Attempt.Status.OPEN)
            .values("user_id")
            .annotate(n=Count("id"))
            .values_list("user_id", "n")
        )
    )
    all_counts = Counter(Attempt.objects.filter(user_id__in=user_ids).values_list("user_id", flat=True))
    exactly_one = sum(1 for uid in user_ids if open_counts.get(uid, 0) == 1 and all_counts[uid] == 1)
    out.say(f"  users with exactly one attempt, open: {exactly_one} of {count}")
    out.check("exactly one open attempt per user (and no other attempt)", exactly_one == count)
    open_ids = dict(
        Attempt.objects.filter(user_id__in=user_ids, status=Attempt.Status.OPEN).values_list("user_id", "pk")
    )
    same = sum(1 for uid, n in user_ids.items() if attempts_seen[n] == {open_ids.get(uid)})
    out.check("every press of a user was sent to that one attempt", same == count)
    return out


# ---- (d) a crowd reaching the deadline together ----


@dataclass
class _Poll:
    """Watches the database from a thread: when each attempt closed, when reports were computed."""

    attempt_ids: list[int]
    user_ids: list[int]
    deadline: dt.datetime
    finalise_limit: float
    report_limit: float
    closed_at: dict[int, float] = field(default_factory=dict)  # attempt -> seconds after the deadline
    reports_done_at: float | None = None
    reports_done: int = 0
    error: str = ""

    def run(self) -> None:
        try:
            self._run()
        except Exception as exc:  # noqa: BLE001 - reported in the outcome
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            connection.close()

    def _seconds(self) -> float:
        return (timezone.now() - self.deadline).total_seconds()

    def _run(self) -> None:
        pending = set(self.attempt_ids)
        while pending and self._seconds() < self.finalise_limit:
            closed = (
                Attempt.objects.filter(pk__in=pending)
                .exclude(status=Attempt.Status.OPEN)
                .values_list("pk", flat=True)
            )
            now = self._seconds()
            for pk in closed:
                self.closed_at[pk] = now
            pending -= set(self.closed_at)
            time.sleep(0.5)
        while self._seconds() < self.report_limit:
            self.reports_done = Report.objects.filter(
                user_id__in=self.user_ids, stale=False, computed_at__isnull=False
            ).count()
            if self.reports_done >= len(self.user_ids):
                self.reports_done_at = self._seconds()
                return
            time.sleep(1.0)


def deadline(ctx: Context, present: float = 0.6, lead: float = 8.0) -> Outcome:
    out = Outcome("deadline")
    count = 100 if ctx.quick else 1000
    grace = float(settings.ANSWER_GRACE_SECONDS)
    rng = random.Random(ctx.seed + 3)
    takers = setup.start_attempts(setup.make_takers("deadline", count, ctx.csrf), seed=ctx.seed + 3)
    rng.shuffle(takers)
    here = takers[: round(count * present)]
    out.say(
        f"(d) deadline: {count} timed attempts all due at the same second; {len(here)} pages still open "
        f"(3 saves each from deadline-6 s to deadline+grace+4 s, auto-submit 0-1.5 s after zero), "
        f"{count - len(here)} abandoned tabs left to beat or the next visit; grace {grace:.0f} s"
    )
    events: list[tuple[float, str, Taker]] = []  # (seconds from the deadline, action, taker)
    for taker in here:
        events += [(rng.uniform(-6, grace + 4), "save", taker) for _ in range(3)]
        events.append((rng.uniform(0, 1.5), "submit", taker))
    events.sort(key=lambda e: e[0])
    ledger, clock = Ledger(), SeqClock()
    late_accepted: list[tuple[int, int, float]] = []
    when = timezone.now() + dt.timedelta(seconds=lead)
    setup.set_deadlines([t.attempt_id for t in takers], when)
    deadline_wall = when.timestamp()
    poll = _Poll([t.attempt_id for t in takers], [t.user_id for t in takers], when, 90.0, 600.0)
    watcher = threading.Thread(target=poll.run, name="bench-poll", daemon=True)
    watcher.start()

    async def drive() -> Recorder:
        loop = asyncio.get_running_loop()
        client, rec = ctx.client(), Recorder()
        anchor_wall, anchor_loop = time.time(), loop.time()
        base = deadline_wall - anchor_wall  # the deadline, in seconds from now

        async def act(i: int, due: float) -> None:
            offset, action, taker = events[i]
            if action == "save":
                item = idle_item(taker, clock, rng)
                outcome, sent, seq = await save_answer(rec, client, ledger, clock, taker, item, rng, due)
                sent_after = anchor_wall + (sent - anchor_loop) - deadline_wall
                if outcome == "ok" and sent_after > grace:
                    late_accepted.append((taker.attempt_id, item.position, sent_after))
                return
            reply, outcome = await rec.call(
                client, "POST submit (auto)", "POST", f"/attempts/{taker.attempt_id}/submit",
                headers=taker.identity.headers(post=True), body=form([("auto", "1")]),
                ok=lambda r: r.status == 302 and r.location == f"/attempts/{taker.attempt_id}/results/", due=due,
            )  # fmt: skip
            if reply is not None and outcome == "ok":
                await rec.call(
                    client, "GET results page", "GET", reply.location, headers=taker.identity.headers()
                )

        await at_times([max(0.0, base + e[0]) for e in events], act)
        client.close()
        return rec

    rec = asyncio.run(drive())
    out.say(table(_stats(rec, order=["POST answer", "POST submit (auto)", "GET results page"])))
    refusals = Counter(s.outcome for s in rec.samples if s.endpoint == "POST answer")
    out.say(
        f"  answer outcomes around the deadline: {dict(refusals)} (409 too_late/closed are the server refusing late saves)"
    )
    errors = {k: v for k, v in rec.errors().items() if not k.endswith(("too_late", "closed"))}
    out.check("no errors other than late saves refused", not errors)
    watcher.join(timeout=700)
    if poll.error:
        out.say(f"  database watcher failed: {poll.error}")
    ids = [t.attempt_id for t in takers]
    scored = Attempt.objects.filter(
        pk__in=ids, status=Attempt.Status.SUBMITTED, scaled_score__isnull=False, scored_total__isnull=False
    ).count()
    times = sorted(poll.closed_at.values())
    here_ids = {t.attempt_id for t in here}
    beat_times = sorted(v for k, v in poll.closed_at.items() if k not in here_ids)
    out.say(
        f"  closed after the deadline (s, 0.5 s polling): p50 {percentile(times, 50):.1f}, p99 {percentile(times, 99):.1f}, "
        f"max {times[-1] if times else math.nan:.1f}; abandoned tabs only: max "
        f"{beat_times[-1] if beat_times else math.nan:.1f}; {len(times)} of {count} closed"
    )
    out.check(
        "every attempt submitted and scored within 60 s of the deadline",
        scored == count and len(times) == count and times[-1] <= 60.0,
    )
    out.say(
        f"  reports computed: {poll.reports_done} of {count}"
        + (
            f", all by {poll.reports_done_at:.0f} s after the deadline"
            if poll.reports_done_at is not None
            else ""
        )
    )
    out.check(
        "every report computed within 10 minutes",
        poll.reports_done_at is not None and poll.reports_done_at <= 600,
    )
    late_cutoff = ExpressionWrapper(
        F("attempt__deadline") + dt.timedelta(seconds=grace), output_field=DateTimeField()
    )
    stored_late = AttemptItem.objects.filter(attempt_id__in=ids, answered_at__gt=late_cutoff).count()
    out.say(
        f"  saves acknowledged though sent after deadline+grace: {len(late_accepted)}; stored after it: {stored_late}"
    )
    out.check("no answer accepted after deadline + grace", not late_accepted and stored_late == 0)
    _verify_ledger(out, ledger)
    return out


# ---- (e) a crowd of exam takers thinking between answers ----


def steady(ctx: Context, think: tuple[float, float] = (3.0, 15.0)) -> Outcome:
    out = Outcome("steady")
    count, duration = (100, 60.0) if ctx.quick else (1000, 600.0)
    takers = setup.start_attempts(setup.make_takers("steady", count, ctx.csrf), seed=ctx.seed + 4)
    out.say(
        f"(e) steady exam: {count} takers for {duration:.0f} s; each thinks {think[0]:.0f}-{think[1]:.0f} s, saves, "
        f"changes its mind 25% of the time, moves on (htmx), checks the clock every 60 s"
    )
    ledger, clock = Ledger(), SeqClock()

    async def drive() -> Recorder:
        loop = asyncio.get_running_loop()
        client, rec = ctx.client(), Recorder()
        end = loop.time() + duration

        async def taker_loop(n: int, taker: Taker) -> None:
            rng = random.Random(ctx.seed * 1_000_003 + n)
            await asyncio.sleep(rng.uniform(0, think[1]))
            if loop.time() >= end:
                return
            base = f"/attempts/{taker.attempt_id}"
            position = 0
            await rec.call(client, "GET question page", "GET", f"{base}/q/0/",
                           headers=taker.identity.headers(), ok=_page_ok(taker.items[0]))  # fmt: skip
            next_clock = loop.time() + rng.uniform(0, 60)  # the page's 60 s clock check, at its own phase
            while True:
                item = taker.items[position]
                for _ in range(2 if rng.random() < 0.25 else 1):
                    await asyncio.sleep(rng.uniform(*think))
                    if loop.time() >= end:
                        return
                    await save_answer(rec, client, ledger, clock, taker, item, rng)
                position = (position + 1) % len(taker.items)
                await rec.call(client, "GET question (htmx)", "GET", f"{base}/q/{position}/",
                               headers=taker.identity.headers(htmx=True), ok=_page_ok(taker.items[position]))  # fmt: skip
                if loop.time() >= next_clock:
                    next_clock += 60
                    await rec.call(
                        client, "GET clock", "GET", f"{base}/clock", headers=taker.identity.headers(json=True)
                    )

        await asyncio.gather(*(taker_loop(n, t) for n, t in enumerate(takers)))
        client.close()
        return rec

    rec = asyncio.run(drive())
    out.say(
        table(
            _stats(
                rec,
                window=duration,
                order=["POST answer", "GET question (htmx)", "GET question page", "GET clock"],
            )
        )
    )
    out.say(
        f"  {len(rec.samples) / duration:.1f} requests/s in all; generator CPU {rec.generator_cpu():.2f} cores"
    )
    out.check("no errors", not rec.errors())
    _verify_ledger(out, ledger)
    return out


SCENARIOS: dict[str, Callable[[Context], Outcome]] = {
    "answer-rate": answer_rate,
    "saturation": saturation,
    "start-burst": start_burst,
    "deadline": deadline,
    "steady": steady,
}
ALIASES = {"a": "answer-rate", "b": "saturation", "c": "start-burst", "d": "deadline", "e": "steady"}
