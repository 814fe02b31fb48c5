"""Test tiers and shared fixtures.

Tests that need real services carry a marker (see pyproject.toml):
``postgres``, ``redis``, ``worker`` and ``browser``. Without the service they
are skipped and listed loudly at the end; with ``CI=true`` a missing service is
a failure instead, so CI can never pass by skipping.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
_NOT_RUN: list[str] = []


def _postgres_available() -> str | None:
    from django.db import connection

    return None if connection.vendor == "postgresql" else "DATABASE_URL is not a PostgreSQL URL"


def _redis_available() -> str | None:
    url = os.environ.get("REDIS_URL")
    if not url:
        return "REDIS_URL is not set"
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except Exception as exc:  # noqa: BLE001
        return f"Redis at {url} is unreachable ({type(exc).__name__})"
    return None


def _browser_available() -> str | None:
    if not shutil.which("chromium"):
        return "Debian's chromium is not installed"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "playwright is not installed"
    return None


_PROBES = {
    "postgres": _postgres_available,
    "redis": _redis_available,
    "worker": _redis_available,
    "browser": _browser_available,
}
_cache: dict[str, str | None] = {}


def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker, probe in _PROBES.items():
        if item.get_closest_marker(marker) is None:
            continue
        if marker not in _cache:
            _cache[marker] = probe()
        reason = _cache[marker]
        if reason:
            message = f"needs {marker}: {reason}"
            if IN_CI:
                pytest.fail(f"{message} (CI=true: a missing service is a failure, not a skip)")
            _NOT_RUN.append(f"{item.nodeid} ({message})")
            pytest.skip(message)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _NOT_RUN:
        terminalreporter.section("NOT RUN: services missing", sep="!", red=True, bold=True)
        for line in _NOT_RUN:
            terminalreporter.write_line(f"  {line}", red=True)
        terminalreporter.write_line(
            f"{len(_NOT_RUN)} test(s) did not run. Set DATABASE_URL/REDIS_URL and install chromium "
            "(or run .ci/run) to run everything.",
            red=True,
            bold=True,
        )


@pytest.fixture
def user(db: None) -> Iterator[object]:
    from tests.factories import UserFactory

    yield UserFactory()


@pytest.fixture(autouse=True)
def _celery_in_process(request: pytest.FixtureRequest) -> Iterator[None]:
    """Tasks run in-process unless a test is marked ``worker`` (then they go through Redis)."""
    from quiz.celery import app

    eager = request.node.get_closest_marker("worker") is None
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = eager
    yield
    app.conf.task_always_eager = previous
