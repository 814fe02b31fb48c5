"""Choosing the questions of a new attempt.

Domain counts come from the bank's one counting function. Within a domain the
draw prefers questions the user has never seen, then the least recently seen,
with random tie-breaks. The whole draw runs a fixed number of queries whatever
the bank's size: one for the pool (with each question's last-seen time), one
for the chosen versions.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Func, IntegerField, OuterRef, Subquery

from questions.blueprint import domain_counts
from questions.models import Exam, Question, QuestionVersion
from quiz.models import SeenQuestion


class NotEnoughQuestions(Exception):
    """The bank cannot fill the request honestly; never padded from other domains."""

    def __init__(self, shortages: dict[int, tuple[int, int]], largest: int) -> None:
        self.shortages = shortages  # domain -> (needed, available)
        self.largest = largest  # the largest attempt the bank can fill at the same weights
        parts = [f"domain {d}: {have} of {need}" for d, (need, have) in sorted(shortages.items())]
        super().__init__("Not enough published questions (" + "; ".join(parts) + ")")


@dataclass
class Draw:
    question_id: int
    domain: int
    scored: bool


@dataclass
class Plan:
    draws: list[Draw] = field(default_factory=list)


def _pool(exam: Exam, user_id: int, domains: list[int] | None, tag_ids: list[int] | None) -> list[dict]:
    questions = Question.objects.published().for_exam(exam).filter(current_version__isnull=False)
    if domains:
        questions = questions.filter(domain__number__in=domains)
    else:
        questions = questions.filter(domain__isnull=False)
    if tag_ids:
        questions = questions.filter(
            pk__in=Question.tags.through.objects.filter(tag_id__in=tag_ids).values("question_id")
        )
    seen = SeenQuestion.objects.filter(user_id=user_id, question=OuterRef("pk")).values("last_seen_at")[:1]
    rows = questions.annotate(last_seen=Subquery(seen)).values("id", "domain__number", "last_seen")
    return [dict(row) for row in rows]


def _prefer_unseen(rows: list[dict], rng: random.Random) -> list[dict]:
    oldest = dt.datetime.min.replace(tzinfo=dt.UTC)
    rng.shuffle(rows)
    return sorted(rows, key=lambda r: (r["last_seen"] is not None, r["last_seen"] or oldest))


def largest_fillable(weights: dict[int, float], available: dict[int, int], upto: int) -> int:
    for n in range(upto, 0, -1):
        counts = domain_counts(n, weights)
        if all(counts[d] <= available.get(d, 0) for d in counts):
            return n
    return 0


def plan_weighted(
    exam: Exam,
    user_id: int,
    *,
    scored: int,
    pilot: int,
    domains: list[int] | None = None,
    tag_ids: list[int] | None = None,
    rng: random.Random,
) -> Plan:
    """Draw ``scored`` + ``pilot`` questions at the domain weights (restricted to ``domains``)."""
    weights = {d.number: d.weight for d in exam.domains.all() if not domains or d.number in domains}
    scored_counts = domain_counts(scored, weights)
    pilot_counts = domain_counts(pilot, weights) if pilot else dict.fromkeys(weights, 0)
    by_domain: dict[int, list[dict]] = defaultdict(list)
    for row in _pool(exam, user_id, list(weights), tag_ids):
        by_domain[row["domain__number"]].append(row)
    needs = {d: scored_counts[d] + pilot_counts[d] for d in weights}
    short = {d: (need, len(by_domain[d])) for d, need in needs.items() if len(by_domain[d]) < need}
    if short:
        available = {d: len(rows) for d, rows in by_domain.items()}
        raise NotEnoughQuestions(short, largest_fillable(weights, available, scored + pilot))
    plan = Plan()
    for d in sorted(weights):
        chosen = _prefer_unseen(by_domain[d], rng)[: needs[d]]
        pilot_ids = {r["id"] for r in rng.sample(chosen, pilot_counts[d])}
        plan.draws += [Draw(r["id"], d, r["id"] not in pilot_ids) for r in chosen]
    rng.shuffle(plan.draws)
    return plan


def plan_any(
    exam: Exam,
    user_id: int,
    *,
    count: int,
    domains: list[int] | None,
    tag_ids: list[int] | None,
    rng: random.Random,
) -> Plan:
    """A drill: ``count`` questions from the chosen domains/tags, unseen first, not weighted."""
    rows = _prefer_unseen(_pool(exam, user_id, domains, tag_ids), rng)
    if len(rows) < count:
        raise NotEnoughQuestions({0: (count, len(rows))}, len(rows))
    plan = Plan(draws=[Draw(r["id"], r["domain__number"], True) for r in rows[:count]])
    rng.shuffle(plan.draws)
    return plan


def plan_from_ids(question_ids: list[int], domains_of: dict[int, int]) -> Plan:
    return Plan(draws=[Draw(q, domains_of[q], True) for q in question_ids])


@dataclass(frozen=True, slots=True)
class NewItem:
    """One question of a new attempt, before it is written (``inserts.insert_items``)."""

    position: int
    question_id: int
    version_id: int
    domain_number: int
    scored: bool
    choice_order: list[int]
    choice_tokens: list[str]


class _ChoiceCount(Func):
    """How many choices a version's ``data`` holds, counted by the database (no JSON comes back)."""

    output_field = IntegerField()
    template = "jsonb_array_length(%(expressions)s -> 'choices')"

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, template="json_array_length(%(expressions)s, '$.choices')", **extra)


def build_items(plan: Plan, *, rng: random.Random) -> list[NewItem]:
    """The new attempt's items, with shuffled option order and fresh opaque tokens (one query).

    Plain values, not ``AttemptItem`` objects: building 65 model instances, and loading
    each question's whole version, were a large share of a Start's CPU.
    """
    ids = [d.question_id for d in plan.draws]
    versions = {
        question_id: (version_id, choice_count)
        for question_id, version_id, choice_count in QuestionVersion.objects.filter(current_of__in=ids)
        .order_by()  # a dict needs no order; the default one joined the question table to sort
        .annotate(choice_count=_ChoiceCount("data"))
        .values_list("question_id", "id", "choice_count")
    }
    items = []
    for position, draw in enumerate(plan.draws):
        version_id, choice_count = versions[draw.question_id]
        order = list(range(choice_count))
        rng.shuffle(order)
        tokens = [f"o{rng.getrandbits(48):012x}" for _ in order]
        items.append(NewItem(position, draw.question_id, version_id, draw.domain, draw.scored, order, tokens))
    return items
