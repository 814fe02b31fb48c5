"""Hand-written multi-row INSERTs for starting an attempt.

Start writes one row per question twice (the attempt's items, and when each
question was last seen). ``bulk_create`` prepares every field of every object
through the ORM's compiler, which was a third of a Start's CPU; these build one
statement each from plain values. PostgreSQL gets one array per column; SQLite a
VALUES list (3.24+ for ``ON CONFLICT ... DO UPDATE``). tests/test_exam.py and
tests/test_concurrency.py cover both through ``attempt_start``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any, cast

from django.db import connection, models

from quiz.assembly import NewItem
from quiz.models import Attempt, AttemptItem

# Start leaves these at the model's defaults; read from AttemptItem so they cannot drift.
_DEFAULTED = ("selected", "seq", "flagged", "checked", "time_spent_ms")
_FIELDS = [cast(models.Field, AttemptItem._meta.get_field(name)) for name in _DEFAULTED]
_DEFAULTS = [
    json.dumps(f.get_default()) if isinstance(f, models.JSONField) else f.get_default() for f in _FIELDS
]
_ITEM_COLUMNS = (
    "attempt_id", "user_id", "exam_id", "position", "question_id", "version_id", "domain_number", "scored",
    "choice_order", "choice_tokens", *_DEFAULTED,
)  # fmt: skip

# PostgreSQL takes one array per column and unnests them: a short statement whose
# parameters psycopg adapts in bulk. A VALUES list with a placeholder per value (975
# for a full mock) cost more to convert on the client than the rest of the insert.
_ITEMS_PG = f"""
    INSERT INTO quiz_attemptitem ({", ".join(_ITEM_COLUMNS)})
    SELECT %s, %s, %s, u.position, u.question_id, u.version_id, u.domain_number, u.scored,
           u.choice_order::jsonb, u.choice_tokens::jsonb, %s::jsonb, %s, %s, %s, %s
      FROM unnest(%s::int[], %s::bigint[], %s::bigint[], %s::int[], %s::bool[], %s::text[], %s::text[])
        AS u(position, question_id, version_id, domain_number, scored, choice_order, choice_tokens)
"""
_SEEN_PG = """
    INSERT INTO quiz_seenquestion (user_id, question_id, last_seen_at, times_seen)
    SELECT %s, q, %s, 1 FROM unnest(%s::bigint[]) AS q
"""
_SEEN_CONFLICT = " ON CONFLICT (user_id, question_id) DO UPDATE SET last_seen_at = excluded.last_seen_at"


def _values(rows: Sequence[Sequence[Any]]) -> tuple[str, list[Any]]:
    row = "(" + ", ".join(["%s"] * len(rows[0])) + ")"
    return ", ".join([row] * len(rows)), [value for r in rows for value in r]


def insert_items(attempt: Attempt, items: Sequence[NewItem]) -> None:
    """Insert the attempt's unsaved items (as ``assembly.build_items`` made them)."""
    head: list[Any] = [attempt.pk, attempt.user_id, attempt.exam_id]
    params: list[Any]
    if connection.vendor == "postgresql":
        columns = [
            [i.position for i in items], [i.question_id for i in items], [i.version_id for i in items],
            [i.domain_number for i in items], [i.scored for i in items],
            [json.dumps(i.choice_order) for i in items], [json.dumps(i.choice_tokens) for i in items],
        ]  # fmt: skip
        sql, params = _ITEMS_PG, [*head, *_DEFAULTS, *columns]
    else:
        rows = [
            (*head, i.position, i.question_id, i.version_id, i.domain_number, i.scored,
             json.dumps(i.choice_order), json.dumps(i.choice_tokens), *_DEFAULTS)
            for i in items
        ]  # fmt: skip
        placeholders, params = _values(rows)
        sql = f"INSERT INTO quiz_attemptitem ({', '.join(_ITEM_COLUMNS)}) VALUES {placeholders}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def mark_seen(user_id: int, question_ids: Sequence[int], now: dt.datetime) -> None:
    """Set when ``user_id`` last saw each question, adding the rows that are missing."""
    seen_at = connection.ops.adapt_datetimefield_value(now)
    if connection.vendor == "postgresql":
        sql, params = _SEEN_PG + _SEEN_CONFLICT, [user_id, seen_at, list(question_ids)]
    else:
        placeholders, params = _values([(user_id, q, seen_at, 1) for q in question_ids])
        sql = f"INSERT INTO quiz_seenquestion (user_id, question_id, last_seen_at, times_seen) VALUES {placeholders}"
        sql += _SEEN_CONFLICT
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
