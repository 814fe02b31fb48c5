"""A small load generator on the standard library: asyncio streams speaking HTTP/1.1.

* :class:`Client` keeps a pool of keep-alive connections to one host and port and
  opens another whenever none is idle (up to ``max_connections``), so an open-loop
  schedule is never held back by slow responses.
* :class:`Recorder` keeps one :class:`Sample` per request. Latency is measured
  from the moment the request was *due* (its scheduled send time), so time spent
  waiting for a connection or behind a lagging generator counts against the
  server, not silently dropped (no coordinated omission).
* :func:`open_loop` sends at a fixed arrival rate whether or not earlier requests
  returned; :func:`closed_loop` keeps N requests in flight back to back.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import resource
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode


class RequestFailed(Exception):
    """No HTTP response: ``kind`` is timeout, connect, reset or protocol."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind


@dataclass(slots=True)
class Reply:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes

    @property
    def queries(self) -> int | None:
        value = self.headers.get("x-queries")
        return int(value) if value and value.isdigit() else None

    @property
    def location(self) -> str:
        return self.headers.get("location", "")


@dataclass(slots=True)
class _Conn:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    idle_since: float = 0.0
    used: int = 0

    def close(self) -> None:
        with contextlib.suppress(OSError, RuntimeError):
            self.writer.close()


# A connection the server closed or reset under us (no response read).
_DROPPED = (OSError, asyncio.IncompleteReadError)


class Client:
    """HTTP/1.1 keep-alive client for one server. One instance per event loop."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        max_connections: int = 1024,
        timeout: float = 30.0,
        idle_limit: float = 20.0,
        requests_per_connection: int = 100,
    ) -> None:
        self.host, self.port = host, port
        self.timeout = timeout
        self.idle_limit = idle_limit  # below gunicorn's --keep-alive, so the server never closes first
        self.requests_per_connection = requests_per_connection  # spreads connections over web workers
        self._idle: list[_Conn] = []
        self._slots = asyncio.Semaphore(max_connections)
        self.opened = 0
        self.retried = 0

    async def _connect(self) -> _Conn:
        try:
            reader, writer = await asyncio.open_connection(self.host, self.port, limit=1 << 20)
        except OSError as exc:
            raise RequestFailed("connect", str(exc)) from exc
        self.opened += 1
        return _Conn(reader, writer)

    def _take_idle(self) -> _Conn | None:
        now = time.monotonic()
        while self._idle:
            conn = self._idle.pop()
            if now - conn.idle_since < self.idle_limit and not conn.reader.at_eof():
                return conn
            conn.close()
        return None

    async def request(
        self, method: str, path: str, *, headers: Iterable[tuple[str, str]] = (), body: bytes = b""
    ) -> Reply:
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        head += [f"{name}: {value}" for name, value in headers]
        if body or method == "POST":
            head.append(f"Content-Length: {len(body)}")
        raw = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
        # The timeout covers waiting for a free connection too: a browser sees no reply either way.
        connected = False
        try:
            async with asyncio.timeout(self.timeout), self._slots:
                connected = True
                return await self._send(method, raw)
        except TimeoutError:
            kind = "timeout" if connected else "timeout (no free connection)"
            raise RequestFailed(kind, f"no response within {self.timeout:.0f} s") from None

    async def _send(self, method: str, raw: bytes) -> Reply:
        conn = self._take_idle()
        reused = conn is not None
        if conn is None:
            conn = await self._connect()
        try:
            try:
                reply, keep = await self._exchange(conn, method, raw)
            except _DROPPED as exc:
                conn.close()
                if not reused or isinstance(exc, asyncio.IncompleteReadError) and exc.partial:
                    raise
                # The server dropped an idle keep-alive connection before answering: send once more, fresh.
                self.retried += 1
                conn = await self._connect()
                reply, keep = await self._exchange(conn, method, raw)
        except _DROPPED as exc:
            conn.close()
            raise RequestFailed("reset", type(exc).__name__) from exc
        except (ValueError, asyncio.LimitOverrunError) as exc:
            conn.close()
            raise RequestFailed("protocol", str(exc)) from exc
        except BaseException:
            conn.close()
            raise
        conn.used += 1
        if keep and conn.used < self.requests_per_connection:
            conn.idle_since = time.monotonic()
            self._idle.append(conn)
        else:
            conn.close()
        return reply

    @staticmethod
    async def _exchange(conn: _Conn, method: str, raw: bytes) -> tuple[Reply, bool]:
        conn.writer.write(raw)
        await conn.writer.drain()
        head = await conn.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        version, status_text = lines[0].split(" ", 2)[:2]
        status = int(status_text)
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        keep = headers.get("connection", "").lower() != "close" and version == "HTTP/1.1"
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            body = b""
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int((await conn.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                chunk = await conn.reader.readexactly(size + 2)
                if size == 0:
                    break
                chunks.append(chunk[:-2])
            body = b"".join(chunks)
        elif "content-length" in headers:
            body = await conn.reader.readexactly(int(headers["content-length"]))
        else:
            body = await conn.reader.read()
            keep = False
        return Reply(status, headers, body), keep

    def close(self) -> None:
        for conn in self._idle:
            conn.close()
        self._idle.clear()


# ---- what a browser of a signed-in exam taker sends ----


@dataclass(frozen=True, slots=True)
class Identity:
    session_key: str
    csrf: str

    def headers(self, *, post: bool = False, htmx: bool = False, json: bool = False) -> list[tuple[str, str]]:
        out = [("Cookie", f"sessionid={self.session_key}; csrftoken={self.csrf}")]
        if post:
            out += [("X-CSRFToken", self.csrf), ("Content-Type", "application/x-www-form-urlencoded")]
        if htmx:
            out.append(("HX-Request", "true"))
        if json:
            out.append(("Accept", "application/json"))
        return out


def form(fields: Sequence[tuple[str, str | int]]) -> bytes:
    return urlencode([(k, str(v)) for k, v in fields]).encode()


# ---- recording and summarising ----


@dataclass(slots=True)
class Sample:
    endpoint: str
    due: float  # when the request should have gone out (loop clock)
    sent: float
    done: float
    status: int  # 0: no HTTP response
    outcome: str  # "ok" or an error kind
    queries: int | None

    @property
    def latency(self) -> float:
        return self.done - self.due


def classify(reply: Reply, ok: Callable[[Reply], bool]) -> str:
    """``ok``, or a short error kind: the JSON ``status`` of a refusal, else ``http NNN``."""
    if ok(reply):
        return "ok"
    if reply.headers.get("content-type", "").startswith("application/json"):
        import json

        try:
            return f"{reply.status} {json.loads(reply.body).get('status', '?')}"
        except ValueError:
            pass
    if reply.status in (301, 302, 303) and "/accounts/login" in reply.location:
        return f"{reply.status} to login"
    return f"http {reply.status}"


@dataclass
class Recorder:
    samples: list[Sample] = field(default_factory=list)
    cpu_start: float = field(default_factory=lambda: _cpu())
    wall_start: float = field(default_factory=time.monotonic)

    async def call(
        self,
        client: Client,
        endpoint: str,
        method: str,
        path: str,
        *,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
        ok: Callable[[Reply], bool] = lambda r: r.status == 200,
        due: float | None = None,
    ) -> tuple[Reply | None, str]:
        """One request, recorded. Returns the reply (None when there was none) and its outcome."""
        loop = asyncio.get_running_loop()
        sent = loop.time()
        try:
            reply = await client.request(method, path, headers=headers, body=body)
        except RequestFailed as failed:
            self.samples.append(Sample(endpoint, due or sent, sent, loop.time(), 0, failed.kind, None))
            return None, failed.kind
        except asyncio.CancelledError:  # the driver gave up waiting (drain timeout)
            self.samples.append(Sample(endpoint, due or sent, sent, loop.time(), 0, "cancelled", None))
            raise
        outcome = classify(reply, ok)
        self.samples.append(
            Sample(endpoint, due or sent, sent, loop.time(), reply.status, outcome, reply.queries)
        )
        return reply, outcome

    def generator_cpu(self) -> float:
        """The generator's CPU use since the recorder was made, in cores (1.0 = one core busy)."""
        return (_cpu() - self.cpu_start) / max(time.monotonic() - self.wall_start, 1e-9)

    def by_endpoint(self) -> dict[str, list[Sample]]:
        groups: dict[str, list[Sample]] = defaultdict(list)
        for sample in self.samples:
            groups[sample.endpoint].append(sample)
        return dict(groups)

    def errors(self, endpoint: str | None = None) -> Counter[str]:
        return Counter(
            s.outcome
            for s in self.samples
            if s.outcome != "ok" and (endpoint is None or s.endpoint == endpoint)
        )


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


@dataclass(frozen=True)
class EndpointStats:
    endpoint: str
    count: int
    ok: int
    throughput: float  # responses per second over the window
    p50: float
    p95: float
    p99: float
    p999: float
    max: float
    queries_mean: float | None
    queries_max: int | None
    errors: dict[str, int]
    send_lag_p99: float  # how late the generator sent, at p99


def summarise(samples: Sequence[Sample], endpoint: str, window: float | None = None) -> EndpointStats:
    answered = sorted(s.latency for s in samples if s.status)
    if window is None:
        window = max(s.done for s in samples) - min(s.due for s in samples) if samples else 0.0
    queries = [s.queries for s in samples if s.queries is not None]
    lag = sorted(max(0.0, s.sent - s.due) for s in samples)
    return EndpointStats(
        endpoint=endpoint,
        count=len(samples),
        ok=sum(1 for s in samples if s.outcome == "ok"),
        throughput=sum(1 for s in samples if s.status) / window if window > 0 else math.nan,
        p50=percentile(answered, 50),
        p95=percentile(answered, 95),
        p99=percentile(answered, 99),
        p999=percentile(answered, 99.9),
        max=answered[-1] if answered else math.nan,
        queries_mean=sum(queries) / len(queries) if queries else None,
        queries_max=max(queries) if queries else None,
        errors=dict(Counter(s.outcome for s in samples if s.outcome != "ok").most_common()),
        send_lag_p99=percentile(lag, 99),
    )


def _ms(seconds: float) -> str:
    return "-" if math.isnan(seconds) else f"{seconds * 1000:.1f}"


def table(stats: Iterable[EndpointStats]) -> str:
    rows = [
        ("endpoint", "requests", "ok", "resp/s", "p50", "p95", "p99", "p99.9", "max ms", "queries", "errors")
    ]
    for s in stats:
        queries = "-" if s.queries_mean is None else f"{s.queries_mean:.1f} (max {s.queries_max})"
        errors = ", ".join(f"{kind}: {n}" for kind, n in s.errors.items()) or "none"
        rows.append(
            (
                s.endpoint, str(s.count), str(s.ok), f"{s.throughput:.1f}", _ms(s.p50), _ms(s.p95),
                _ms(s.p99), _ms(s.p999), _ms(s.max), queries, errors,
            )
        )  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = []
    for row in rows:
        cells = [row[0].ljust(widths[0])] + [
            cell.rjust(w) for cell, w in zip(row[1:-1], widths[1:], strict=True)
        ]
        lines.append("  " + "  ".join(cells) + "  " + row[-1])
    return "\n".join(lines)


# ---- drivers ----

Fire = Callable[[int, float], Coroutine[Any, Any, Any]]  # fire(i, due): send the i-th request, due then


@dataclass(frozen=True)
class OpenLoopResult:
    offered_rate: float  # what was asked for
    send_rate: float  # what the generator actually managed to send
    scheduled: int
    duration: float


async def open_loop(
    rate: float,
    duration: float,
    fire: Fire,
    *,
    poisson: bool = False,
    seed: int = 1,
    drain_timeout: float = 60.0,
) -> OpenLoopResult:
    """Call ``fire(i, due)`` at ``rate`` per second for ``duration`` seconds, never waiting for replies.

    Arrivals are evenly spaced (or exponential gaps with ``poisson``). Each call
    runs as its own task; the function returns once all have finished (or after
    ``drain_timeout`` more seconds, cancelling stragglers).
    """
    loop = asyncio.get_running_loop()
    rng = random.Random(seed)
    start = loop.time() + 0.05
    tasks: set[asyncio.Task[Any]] = set()
    due, i, first_sent, last_sent = start, 0, None, start
    while due < start + duration:
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        last_sent = loop.time()
        first_sent = first_sent if first_sent is not None else last_sent
        task = asyncio.create_task(fire(i, due))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        i += 1
        due += rng.expovariate(rate) if poisson else 1 / rate
    if tasks:
        _, pending = await asyncio.wait(set(tasks), timeout=drain_timeout)
        for task in pending:
            task.cancel()
    span = last_sent - (first_sent or last_sent)
    return OpenLoopResult(rate, (i - 1) / span if span > 0 else math.nan, i, duration)


async def at_times(offsets: Sequence[float], fire: Fire) -> float:
    """Call ``fire(i, due)`` at ``start + offsets[i]`` (offsets sorted), never waiting for replies.

    Returns the loop time of the start, so callers can relate dues to it.
    """
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.05
    tasks: list[asyncio.Task[Any]] = []
    for i, offset in enumerate(offsets):
        delay = start + offset - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(fire(i, start + offset)))
    await asyncio.gather(*tasks)
    return start


async def closed_loop(concurrency: int, duration: float, fire: Fire) -> float:
    """``concurrency`` loops, each sending its next request as soon as the last returned. Returns the window."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    end = start + duration
    counter = iter(range(1 << 62))

    async def lane() -> None:
        while loop.time() < end:
            await fire(next(counter), loop.time())

    await asyncio.gather(*(lane() for _ in range(concurrency)))
    return loop.time() - start
