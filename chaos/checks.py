"""Assertions shared by the scenarios: reports are current and equal to a clean recompute."""

from __future__ import annotations

import math
import re
from typing import Any

from django.db import connection

from chaos.harness import say
from quiz.models import Report
from quiz.reports import report_compute


def same(a: Any, b: Any, rel: float = 1e-9) -> bool:
    """Equal, allowing floats to differ in their last bits (SQL sums in a different order)."""
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, int | float) and isinstance(b, int | float) and math.isclose(a, b, rel_tol=rel)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k], rel) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y, rel) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def largest_difference(a: Any, b: Any) -> float:
    """The largest relative difference between matching floats of two equal-shaped structures."""
    if isinstance(a, float) and isinstance(b, int | float):
        return abs(a - b) / max(abs(a), abs(b), 1e-300)
    if isinstance(a, dict) and isinstance(b, dict):
        return max((largest_difference(a[k], b[k]) for k in a if k in b), default=0.0)
    if isinstance(a, list) and isinstance(b, list):
        return max((largest_difference(x, y) for x, y in zip(a, b, strict=False)), default=0.0)
    return 0.0


def report_is_current(user_id: int, exam_id: int) -> bool:
    return Report.objects.filter(
        user_id=user_id, exam_id=exam_id, stale=False, computed_at__isnull=False
    ).exists()


def stale_reports(user_ids: list[int], exam_id: int) -> list[int]:
    return sorted(
        Report.objects.filter(user_id__in=user_ids, exam_id=exam_id, stale=True).values_list(
            "user_id", flat=True
        )
    )


def assert_reports_current(user_ids: list[int], exam_id: int) -> None:
    """Exactly one report per user, not stale, and equal to a clean recompute at its computed_at."""
    for user_id in user_ids:
        rows = list(Report.objects.filter(user_id=user_id, exam_id=exam_id))
        assert len(rows) == 1, f"user {user_id}: {len(rows)} report rows"
        report = rows[0]
        assert not report.stale and report.computed_at, f"user {user_id}: report still stale"
        clean = report_compute(user_id=user_id, exam_id=exam_id, now=report.computed_at)
        exact = report.data["domains"] == clean["domains"]
        assert exact or same(report.data["domains"], clean["domains"]), (
            f"user {user_id}: stored report differs from a clean recompute:\n"
            f"stored {report.data['domains']}\nclean  {clean['domains']}"
        )
        assert report.data["answered"] == clean["answered"]
        say(
            f"user {user_id}: one report, current, {report.data['answered']} answers, "
            f"domains {'identical' if exact else 'equal'} to a clean recompute"
            + (
                ""
                if exact
                else f" (floats differ by at most {largest_difference(report.data['domains'], clean['domains']):.1e}, relative)"
            )
        )


def report_query_running() -> bool:
    """Whether a worker is running a report query right now (from pg_stat_activity).

    With server-side binding the query text shows ``$1`` where the user id goes, so
    it does not say whose report it is.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT query FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid() "
            "AND datname = current_database() AND query ILIKE %s",
            ["%quiz_attemptitem%"],
        )
        rows = cursor.fetchall()
    return any(re.search(r'"user_id" = (\d+|\$\d+)', query) for (query,) in rows)
