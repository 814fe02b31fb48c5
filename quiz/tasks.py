"""Thin Celery tasks: take ids, call a function, retry on transient errors.

Reports are at-least-once: ``acks_late`` plus reject-on-worker-lost re-run a
task whose worker died, and the computation is idempotent (it rewrites the one
report row). The durable "stale" flag in the database means a lost enqueue is
picked up by ``refresh_stale_reports`` on the beat schedule.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import DatabaseError, InterfaceError, OperationalError
from django.utils import timezone

log = logging.getLogger(__name__)


def enqueue_report(user_id: int, exam_id: int) -> None:
    """Called after commit. Never raises: a broker outage must not fail a request."""
    try:
        compute_report.apply_async((user_id, exam_id), retry=False, ignore_result=True)
    except Exception:  # noqa: BLE001 - the stale flag in the database covers a lost enqueue
        log.warning("report enqueue failed for user %s exam %s; beat will pick it up", user_id, exam_id)


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=2,
    retry_backoff_max=60,
    max_retries=5,
    ignore_result=True,
)
def compute_report(self, user_id: int, exam_id: int) -> bool:  # type: ignore[no-untyped-def]
    """Recompute one report if it is still stale. Returns whether it computed.

    Several quick submits enqueue several tasks; the first one to run covers them
    all and clears the stale flag, so the rest return at once.
    """
    from quiz.models import Report
    from quiz.reports import report_refresh

    if not Report.objects.filter(user_id=user_id, exam_id=exam_id, stale=True).exists():
        return False
    report_refresh(user_id=user_id, exam_id=exam_id, now=timezone.now())
    return True


@shared_task(ignore_result=True, autoretry_for=(DatabaseError,), max_retries=3, retry_backoff=5)
def refresh_stale_reports(limit: int = 500) -> int:
    from quiz.models import Report

    pending = list(Report.objects.filter(stale=True).values_list("user_id", "exam_id")[:limit])
    for user_id, exam_id in pending:
        enqueue_report(user_id, exam_id)
    return len(pending)


@shared_task(ignore_result=True, autoretry_for=(DatabaseError,), max_retries=3, retry_backoff=5)
def finalize_expired_attempts() -> int:
    from quiz.services import finalize_expired

    return finalize_expired(now=timezone.now())


@shared_task(ignore_result=True)
def nightly_refresh_reports() -> int:
    """Recency weights move with time: mark every report stale once a day."""
    from quiz.models import Report

    count = Report.objects.filter(stale=False).update(stale=True, stale_since=timezone.now())
    refresh_stale_reports.delay()
    return count


@shared_task(ignore_result=True, autoretry_for=(DatabaseError,), max_retries=3, retry_backoff=5)
def refresh_item_stats() -> int:
    """Nightly item analysis for authors and the review page."""
    from quiz.itemstats import item_stats_refresh

    return item_stats_refresh(now=timezone.now())


@shared_task
def ping(value: int) -> int:
    """Round-trip check used by the worker test: the value comes back doubled."""
    return value * 2
