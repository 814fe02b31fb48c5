"""Hand-written multi-row INSERTs for starting an attempt.

Start writes one row per question twice (the attempt's items, and when each
question was last seen). ``bulk_create`` prepares every field of every object
through the ORM's compiler, which was a third of a Start's CPU; these build one
statement each from plain values. Both run on PostgreSQL and SQLite (3.24+ for
``ON CONFLICT ... DO UPDATE``). tests/test_exam.py and tests/test_concurrency.py
cover them through ``attempt_start``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from django.db import connection

from quiz.models import Attempt, AttemptItem

_ITEM_COLUMNS = (
    "attempt_id", "user_id", "exam_id", "position", "question_id", "version_id", "domain_number", "scored",
    "choice_order", "choice_tokens", "selected", "seq", "flagged", "checked", "time_spent_ms",
)  # fmt: skip


def _values(rows: Sequence[Sequence[Any]]) -> tuple[str, list[Any]]:
    row = "(" + ", ".join(["%s"] * len(rows[0])) + ")"
    return ", ".join([row] * len(rows)), [value for r in rows for value in r]


def insert_items(attempt: Attempt, items: Sequence[AttemptItem]) -> None:
    """Insert the attempt's unsaved items (as ``assembly.build_items`` made them)."""
    placeholders, params = _values(
        [
            (attempt.pk, attempt.user_id, attempt.exam_id, i.position, i.question_id, i.version_id,
             i.domain_number, i.scored, json.dumps(i.choice_order), json.dumps(i.choice_tokens), "[]", 0,
             False, False, 0)
            for i in items
        ]
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO quiz_attemptitem ({', '.join(_ITEM_COLUMNS)}) VALUES {placeholders}", params)


def mark_seen(user_id: int, question_ids: Sequence[int], now: dt.datetime) -> None:
    """Set when ``user_id`` last saw each question, adding the rows that are missing."""
    seen_at = connection.ops.adapt_datetimefield_value(now)
    placeholders, params = _values([(user_id, q, seen_at, 1) for q in question_ids])
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO quiz_seenquestion (user_id, question_id, last_seen_at, times_seen)"
            f" VALUES {placeholders}"
            " ON CONFLICT (user_id, question_id) DO UPDATE SET last_seen_at = excluded.last_seen_at",
            params,
        )
