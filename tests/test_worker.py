"""Celery wiring, tested once with a real worker process through Redis."""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from quiz import services
from quiz.models import Report
from quiz.reports import report_compute
from quiz.tasks import compute_report, ping
from tests.factories import UserFactory, make_exam

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.worker, pytest.mark.redis]


@pytest.fixture
def worker() -> Iterator[subprocess.Popen[bytes]]:
    settings_dict = connection.settings_dict
    env = dict(os.environ)
    if connection.vendor == "postgresql":
        env["DATABASE_URL"] = (
            f"postgres://{settings_dict['USER']}@{settings_dict['HOST'] or '127.0.0.1'}:"
            f"{settings_dict['PORT'] or 5432}/{settings_dict['NAME']}"
        )
    else:
        env["DATABASE_URL"] = f"sqlite:///{settings_dict['NAME']}"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "quiz",
            "worker",
            "--pool=solo",
            "--loglevel=WARNING",
            "-n",
            f"test{os.getpid()}@%h",
        ],
        cwd=ROOT,
        env=env,
    )
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def test_task_travels_through_redis_to_a_worker_and_back(worker):
    result = ping.apply_async((21,))
    assert result.get(timeout=60) == 42


@pytest.mark.django_db(transaction=True)
def test_worker_computes_the_report_after_submit(worker):
    exam = make_exam(question_count=10, unscored=0)
    user = UserFactory()
    attempt = services.attempt_start(
        user=user, exam=exam, options=services.StartOptions(mode="full"), now=timezone.now()
    )
    services.attempt_submit(user=user, attempt_id=attempt.pk, now=timezone.now())
    assert Report.objects.get(user=user, exam=exam).stale  # marked in the submit's transaction
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        report = Report.objects.get(user=user, exam=exam)
        if not report.stale:
            break
        time.sleep(0.5)
    assert not report.stale
    clean = report_compute(user_id=user.pk, exam_id=exam.pk, now=report.computed_at)
    assert report.data["domains"] == clean["domains"]
    assert report.data["answered"] == 10
    compute_report.apply_async((user.pk, exam.pk)).get(timeout=60)  # at-least-once: running again is harmless
    assert Report.objects.filter(user=user, exam=exam).count() == 1
