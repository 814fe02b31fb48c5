"""The processes under test: a throwaway database, gunicorn, a Celery worker and beat.

Everything started here is remembered by pid and stopped by pid (its own process
group, created at start); nothing is ever killed by name.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
PG = ["-h", "127.0.0.1", "-U", "postgres"]


def createdb(name: str) -> None:
    subprocess.run(["createdb", *PG, name], check=True)


def dropdb(name: str) -> None:
    subprocess.run(["dropdb", *PG, "--if-exists", "--force", name], check=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Proc:
    """One long-running process, its own process group leader, logging to a file."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> Proc:
        with self.log.open("ab") as handle:
            self.popen = subprocess.Popen(
                self.argv,
                cwd=ROOT,
                env=self.env,
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM (the process stops its own children); SIGKILL to the group we created after ``timeout``."""
        if self.popen is None or self.popen.poll() is not None:
            return
        self.popen.terminate()
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.pid, signal.SIGKILL)  # still ours: the leader is not reaped yet
            self.popen.wait(timeout=10)

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@dataclass
class Stack:
    env: dict[str, str]
    workdir: Path
    port: int
    web_workers: int  # bench/run.py's defaults come from gunicorn.conf.py
    worker_class: str
    threads: int
    celery_concurrency: int = 2
    procs: list[Proc] = field(default_factory=list)

    def start(self) -> None:
        # Production's gunicorn.conf.py (keep-alive, timeout), on a loopback port, with
        # the harness's worker counts (by default the file's own) and a short graceful stop.
        gunicorn = [
            str(VENV_BIN / "gunicorn"), "quiz.wsgi", "--config", str(ROOT / "gunicorn.conf.py"),
            "--bind", f"127.0.0.1:{self.port}", "--workers", str(self.web_workers),
            "--worker-class", self.worker_class, "--threads", str(self.threads), "--graceful-timeout", "5",
        ]  # fmt: skip
        queue = self.env["BENCH_CELERY_QUEUE"]
        worker = [
            str(VENV_BIN / "celery"), "-A", "quiz", "worker", "--pool=prefork",
            f"--concurrency={self.celery_concurrency}", "--loglevel=WARNING", "-Q", queue,
            "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"{queue}@%h",
        ]  # fmt: skip
        beat = [
            str(VENV_BIN / "celery"), "-A", "quiz", "beat", "--loglevel=WARNING",
            "-s", str(self.workdir / "beat-schedule"), "--pidfile", str(self.workdir / "beat.pid"),
        ]  # fmt: skip
        for name, argv in (("gunicorn", gunicorn), ("worker", worker), ("beat", beat)):
            self.procs.append(Proc(name, argv, self.env, self.workdir / f"{name}.log").start())
        self.wait_for_web()

    def wait_for_web(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for proc in self.procs:
                if not proc.running():
                    raise RuntimeError(f"{proc.name} exited early:\n{proc.tail()}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/bench/ping")
                if conn.getresponse().status == 200:
                    conn.close()
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError(
            f"gunicorn did not answer /bench/ping within {timeout:.0f} s:\n{self.procs[0].tail()}"
        )

    def check_alive(self) -> list[str]:
        return [proc.name for proc in self.procs if not proc.running()]

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()
