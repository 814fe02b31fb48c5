"""Process and HTTP plumbing for the fault tests.

Everything started here is remembered by pid and stopped by pid; nothing is
ever killed by name.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
SERVICES = Path(__file__).resolve().parent / "services.sh"
T0 = time.monotonic()


def say(message: str) -> None:
    """One line of the scenario's story, with seconds since the run started."""
    print(f"  [{time.monotonic() - T0:7.1f}s] {message}", flush=True)


def service(*args: str) -> None:
    """chaos/services.sh: start/stop the private PostgreSQL and Redis."""
    subprocess.run([str(SERVICES), *args], check=True)


def wait_for(
    check: Callable[[], object], timeout: float, interval: float = 0.2, what: str = "condition"
) -> object:
    """Poll ``check`` until it returns something truthy; AssertionError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def children_of(pid: int) -> list[int]:
    """Direct child processes of ``pid`` (from /proc)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


@dataclass
class Proc:
    """A long-running process we started (a Celery worker or gunicorn), with its log file."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    popen: subprocess.Popen[bytes] | None = None
    history: list[int] = field(default_factory=list)

    def start(self) -> Proc:
        handle = self.log.open("ab")
        self.popen = subprocess.Popen(
            self.argv, cwd=ROOT, env=self.env, stdout=handle, stderr=subprocess.STDOUT
        )
        handle.close()
        self.history.append(self.popen.pid)
        if os.environ.get("CHAOS_DIR"):  # run.sh's exit trap stops anything an interrupted run leaves
            with open(Path(os.environ["CHAOS_DIR"]) / "pids", "a") as pids:
                pids.write(f"{self.popen.pid}\n")
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def children(self) -> list[int]:
        return children_of(self.pid) if self.running() else []

    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill9(self) -> list[int]:
        """SIGKILL the process and its children at once: no warm shutdown, no cleanup."""
        assert self.popen is not None
        victims = [self.pid, *self.children()]
        for pid in victims:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.popen.wait(timeout=10)
        for pid in victims[1:]:
            wait_for(lambda pid=pid: not alive(pid), 10, what=f"pid {pid} to die")
        return victims

    def stop(self) -> None:
        """Polite stop (SIGTERM), SIGKILL after 20 s. Safe to call twice."""
        if not self.running():
            return
        assert self.popen is not None
        kids = self.children()
        self.popen.terminate()
        try:
            self.popen.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill9()
        for pid in kids:
            if alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def celery_worker(log_dir: Path, name: str, *extra: str, env: dict[str, str] | None = None) -> Proc:
    argv = [
        sys.executable, "-m", "celery", "-A", "quiz", "worker", "--pool=prefork", "--concurrency=1",
        "--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
        "-n", f"{name}-{secrets.token_hex(3)}@%h", *extra,
    ]  # fmt: skip
    return Proc(name, argv, {**os.environ, **(env or {})}, log_dir / f"{name}.log")


def gunicorn(
    log_dir: Path, name: str, port: int, *, workers: int = 4, env: dict[str, str] | None = None
) -> Proc:
    """The Procfile's web process (gunicorn.conf.py) on a loopback port, logging each request."""
    argv = [
        sys.executable, "-m", "gunicorn", "quiz.wsgi", "--config", str(ROOT / "gunicorn.conf.py"),
        "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--graceful-timeout", "5", "--access-logfile", "-",
    ]  # fmt: skip
    return Proc(name, argv, {**os.environ, **(env or {})}, log_dir / f"{name}.log")


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: str
    seconds: float
    error: str = ""
    started: float = 0.0  # time.monotonic() when the request was sent

    def json(self) -> dict[str, object]:
        import json

        return dict(json.loads(self.body))


class Browserless:
    """A logged-in HTTP client for a real server: session cookie, CSRF token, no redirects followed."""

    def __init__(self, port: int, session: str, timeout: float = 30) -> None:
        self.port = port
        self.timeout = timeout
        self.csrf = secrets.token_hex(16)  # 32 characters: a valid unmasked CSRF secret
        self.cookie = f"sessionid={session}; csrftoken={self.csrf}"

    def request(self, method: str, path: str, data: list[tuple[str, str]] | None = None) -> Response:
        headers = {"Cookie": self.cookie, "Accept": "application/json", "Connection": "close"}
        body = None
        if method == "POST":
            headers |= {"X-CSRFToken": self.csrf, "Content-Type": "application/x-www-form-urlencoded"}
            body = urlencode(data or [])
        started = time.monotonic()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            conn.request(method, path, body=body, headers=headers)
            raw = conn.getresponse()
            text = raw.read().decode("utf-8", "replace")
            headers = {k.lower(): v for k, v in raw.getheaders()}
            return Response(raw.status, headers, text, time.monotonic() - started, started=started)
        except (OSError, http.client.HTTPException) as exc:
            error = f"{type(exc).__name__}: {exc}"
            return Response(0, {}, "", time.monotonic() - started, error=error, started=started)
        finally:
            conn.close()

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def post(self, path: str, data: list[tuple[str, str]] | None = None) -> Response:
        return self.request("POST", path, data)


def wait_http(port: int, path: str = "/healthz", timeout: float = 30) -> None:
    def up() -> bool:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            return conn.getresponse().status == 200
        except OSError:
            return False

    wait_for(up, timeout, what=f"http://127.0.0.1:{port}{path}")
