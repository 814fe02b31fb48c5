"""Spaced review of missed questions: what "Retry my mistakes" serves, and when.

A question enters review when a counted answer to it is wrong, unanswered or
flagged; it is due at once. Each right answer after the latest miss pushes the
next review further out (3, 7, then 21 days after that answer), and the fourth
right answer in a row retires it as learned. A new miss starts it over. This is
Leitner's box system, the schedule behind flashcard apps, applied to the
learner's own answer history, so nothing extra is stored.

The answer history is every counted answer: full mocks, drills, checked practice
answers and the reviews themselves.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection

from questions.models import Question
from quiz.models import AttemptItem
from quiz.rawsql import aware_datetime

INTERVALS = (dt.timedelta(days=3), dt.timedelta(days=7), dt.timedelta(days=21))


@dataclass(frozen=True)
class Card:
    """One missed question still in review."""

    question_id: int
    missed_at: dt.datetime  # the latest miss
    streak: int  # right answers since that miss, fewer than len(INTERVALS) + 1
    due: dt.datetime


@dataclass
class Schedule:
    cards: list[Card] = field(default_factory=list)
    learned: set[int] = field(default_factory=set)  # missed, since right len(INTERVALS) + 1 times in a row

    def due(self, now: dt.datetime) -> list[Card]:
        """Due cards: latest answer missed first, newest miss first; then the most overdue."""
        return sorted(
            (c for c in self.cards if c.due <= now),
            key=lambda c: (c.streak > 0, -c.missed_at.timestamp() if c.streak == 0 else c.due.timestamp()),
        )

    def upcoming(self, now: dt.datetime) -> list[Card]:
        return sorted((c for c in self.cards if c.due > now), key=lambda c: c.due)


class NothingDue(Exception):
    """No missed question is due for review yet."""

    def __init__(self, upcoming: list[Card]) -> None:
        self.upcoming = upcoming
        super().__init__("Nothing is due for review yet.")


def schedule_from(history: Iterable[tuple[int, dt.datetime, int, dt.datetime]]) -> Schedule:
    """The schedule from each missed question's ``(question_id, latest miss, right answers since, latest answer)``."""
    schedule = Schedule()
    for question_id, missed_at, right, last_answer in history:
        if right > len(INTERVALS):
            schedule.learned.add(question_id)
            continue
        due = missed_at if right == 0 else last_answer + INTERVALS[right - 1]
        schedule.cards.append(Card(question_id, missed_at, right, due))
    return schedule


# Per missed question: its latest miss, the answers since (all right, by definition) and its
# latest answer. One pass over the learner's answers, in SQL that PostgreSQL and SQLite share.
_HISTORY_SQL = f"""
SELECT question_id, last_miss, COUNT(*) FILTER (WHERE counted_at > last_miss), MAX(counted_at)
FROM (
    SELECT question_id, counted_at,
           MAX(CASE WHEN correct IS NOT TRUE OR flagged THEN counted_at END)
               OVER (PARTITION BY question_id) AS last_miss
    FROM {AttemptItem._meta.db_table}
    WHERE user_id = %s AND exam_id = %s AND counted_at IS NOT NULL
) AS answers
WHERE last_miss IS NOT NULL
GROUP BY question_id, last_miss
"""


def review_schedule(
    user_id: int, exam_id: int, *, domains: list[int] | None = None, tag_ids: list[int] | None = None
) -> Schedule:
    """The learner's schedule for one exam, over questions that can still be served.

    ``domains`` and ``tag_ids`` narrow the cards to those domains and services, as
    they narrow a drill; ``learned`` always holds the whole exam's.
    """
    with connection.cursor() as cursor:
        cursor.execute(_HISTORY_SQL, [user_id, exam_id])
        rows = cursor.fetchall()
    history = []
    for question_id, missed, right, last in rows:
        missed_at, last_at = aware_datetime(missed), aware_datetime(last)
        assert missed_at and last_at  # the query never gives NULL for either
        history.append((question_id, missed_at, right, last_at))
    schedule = schedule_from(history)
    servable = Question.objects.published().filter(
        pk__in=[c.question_id for c in schedule.cards], current_version__isnull=False
    )
    if domains:
        servable = servable.filter(domain__number__in=domains)
    if tag_ids:
        servable = servable.filter(tags__in=tag_ids)
    ids = set(servable.values_list("pk", flat=True))
    schedule.cards = [c for c in schedule.cards if c.question_id in ids]
    return schedule


def review_summary(due_times: Iterable[dt.datetime], now: dt.datetime, zone: dt.tzinfo) -> dict[str, Any]:
    """How many reviews are due now, and when (in the learner's zone) the next ones fall due."""
    times = sorted(due_times)
    due = sum(1 for t in times if t <= now)
    later = [t.astimezone(zone).date() for t in times if t > now]
    if not later:
        return {"due": due, "next_day": None, "next_count": 0}
    return {"due": due, "next_day": later[0], "next_count": later.count(later[0])}


def standing(schedule: Schedule, question_ids: Iterable[int], zone: dt.tzinfo) -> dict[str, Any]:
    """Where some questions (a finished review's) stand now: due again, back on which days, learned,
    or gone (retired from the bank since, so never served again)."""
    cards = {c.question_id: c for c in schedule.cards}
    again, later, learned, gone = 0, Counter[dt.date](), 0, 0
    for question_id in question_ids:
        card = cards.get(question_id)
        if question_id in schedule.learned:
            learned += 1
        elif card is None:
            gone += 1
        elif card.streak == 0:
            again += 1
        else:
            later[card.due.astimezone(zone).date()] += 1
    return {"again": again, "later": sorted(later.items()), "learned": learned, "gone": gone}


def standing_for(user_id: int, exam_id: int, question_ids: Iterable[int], zone_name: str) -> dict[str, Any]:
    """:func:`standing` of these questions in the learner's current schedule, dates in their zone."""
    return standing(review_schedule(user_id, exam_id), question_ids, zoneinfo.ZoneInfo(zone_name))
