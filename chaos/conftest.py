"""Fault tests: a pytest plugin that points Django at the private services before it loads.

chaos/run.sh starts a private PostgreSQL and Redis and exports CHAOS_DIR,
DATABASE_URL and REDIS_URL; this file refuses to run against anything else (in
particular the machine's shared PostgreSQL on 5432 and Redis on 6379), then sets
up Django itself (pytest-django is switched off in chaos/pytest.ini: these tests
use one real, throwaway database shared with the worker and web processes they
start, not a per-test database).

Outage lengths are in chaos/params.py.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

SHARED_PORTS = {"postgres": 5432, "redis": 6379}


def _private_or_exit() -> None:
    if not os.environ.get("CHAOS_DIR"):
        pytest.exit("run the fault tests with `make chaos` (chaos/run.sh starts the private services)", 2)
    for name, var in (("postgres", "DATABASE_URL"), ("redis", "REDIS_URL")):
        url = urlparse(os.environ.get(var, ""))
        if not url.scheme.startswith(name[:5]) or url.port in (None, SHARED_PORTS[name]):
            pytest.exit(f"{var}={os.environ.get(var)!r} is not a private {name}: refusing to run", 2)


def pytest_configure(config: pytest.Config) -> None:
    _private_or_exit()
    os.environ["DJANGO_SETTINGS_MODULE"] = "quiz.settings"
    os.environ.setdefault("SECRET_KEY", "chaos-" + secrets.token_hex(32))
    os.environ.setdefault("FAST_PASSWORD_HASHER", "1")
    import django

    django.setup()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    if report.when == "call" or (report.when == "setup" and report.failed):
        verdict = "PASS" if report.passed else ("SKIP" if report.skipped else "FAIL")
        print(f"\n  ==> {item.name}: {verdict}", flush=True)
    return report


@pytest.fixture(scope="session")
def chaos_dir() -> Path:
    return Path(os.environ["CHAOS_DIR"])


@pytest.fixture
def procs(chaos_dir: Path) -> Iterator[Callable[..., object]]:
    """Start worker/web processes for one test; all are stopped (by pid) afterwards."""
    from chaos.harness import Proc

    started: list[Proc] = []

    def keep(proc: Proc) -> Proc:
        started.append(proc)
        return proc.start()

    yield keep
    for proc in reversed(started):
        proc.stop()


@pytest.fixture(autouse=True)
def _fresh_connections() -> Iterator[None]:
    """Each test starts and ends with new database connections (a test may restart PostgreSQL)."""
    from django.db import connections

    connections.close_all()
    yield
    connections.close_all()


@pytest.fixture
def web(procs: Callable[..., object], chaos_dir: Path) -> Callable[..., tuple[object, int]]:
    """Start a gunicorn web server (the Procfile's web process) on a free port: ``web(debug=...)``.

    ``debug=False`` is production mode (no technical error pages); its static
    files would need collectstatic, so use it only for JSON and redirect endpoints.
    """
    from chaos.harness import free_port, gunicorn, wait_http

    def start(name: str = "web", *, debug: bool = True, workers: int = 4) -> tuple[object, int]:
        port = free_port()
        env = {"DEBUG": "true" if debug else "false"}
        if not debug:
            env |= {
                "ALLOWED_HOSTS": "127.0.0.1,localhost",
                "SECURE_SSL_REDIRECT": "false",
                "SECURE_COOKIES": "false",
            }
        proc = procs(gunicorn(chaos_dir, name, port, workers=workers, env=env))
        wait_http(port)
        return proc, port

    return start


@pytest.fixture
def worker(procs: Callable[..., object], chaos_dir: Path) -> Callable[..., object]:
    """Start a Celery worker (prefork, one pool child) and wait until it is ready: ``worker(name)``."""
    from chaos.harness import celery_worker, wait_for

    def start(name: str = "worker", *extra: str) -> object:
        proc = procs(celery_worker(chaos_dir, name, *extra))
        wait_for(lambda: " ready." in proc.tail(200) and proc.children(), 60, what=f"{name} ready")  # type: ignore[attr-defined]
        return proc

    return start
