"""Choosing the questions of a new attempt.

Domain counts come from the bank's one counting function. Within a domain the
draw prefers questions the user has never seen, then the least recently seen,
with random tie-breaks. The whole draw runs a fixed number of queries whatever
the bank's size: one for the exam's domains, and one for the pool, with each
question's current version, that version's option count and the user's
last-seen time.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import OuterRef, Subquery

from questions.blueprint import domain_counts
from questions.models import Domain, Exam, Question
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
    version_id: int  # the question's current version when drawn: what the attempt will show
    choice_count: int
    domain: int
    scored: bool


@dataclass
class Plan:
    draws: list[Draw] = field(default_factory=list)


def _chosen_domains(exam: Exam, numbers: list[int] | None) -> list[Domain]:
    """The exam's domains with these numbers (all of them when none are given)."""
    return [d for d in exam.domains.all() if not numbers or d.number in numbers]


def _pool(exam: Exam, user_id: int, domains: list[Domain], tag_ids: list[int] | None) -> list[dict]:
    """The questions a draw may take: domain number, current version (and its option count), last seen.

    Questions are matched on the domains' ids, so the query needs no join to the
    domain table. Rows come in id order, not the model's ``external_id`` ordering:
    a seeded draw stays reproducible, and the database sorts integers, not strings.
    """
    numbers = {d.pk: d.number for d in domains}
    questions = (
        Question.objects.published()
        .for_exam(exam)
        .filter(current_version__isnull=False, domain_id__in=list(numbers))
    )
    if tag_ids:
        questions = questions.filter(
            pk__in=Question.tags.through.objects.filter(tag_id__in=tag_ids).values("question_id")
        )
    seen = SeenQuestion.objects.filter(user_id=user_id, question=OuterRef("pk")).values("last_seen_at")[:1]
    rows = questions.annotate(last_seen=Subquery(seen)).order_by("pk")
    fields = ("pk", "current_version_id", "current_version__choice_count", "domain_id", "last_seen")
    return [
        {
            "id": pk,
            "version_id": version_id,
            "choice_count": count,
            "domain": numbers[domain_id],
            "last_seen": seen,
        }
        for pk, version_id, count, domain_id, seen in rows.values_list(*fields)
    ]


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
    chosen_domains = _chosen_domains(exam, domains)
    weights = {d.number: d.weight for d in chosen_domains}
    scored_counts = domain_counts(scored, weights)
    pilot_counts = domain_counts(pilot, weights) if pilot else dict.fromkeys(weights, 0)
    by_domain: dict[int, list[dict]] = defaultdict(list)
    for row in _pool(exam, user_id, chosen_domains, tag_ids):
        by_domain[row["domain"]].append(row)
    needs = {d: scored_counts[d] + pilot_counts[d] for d in weights}
    short = {d: (need, len(by_domain[d])) for d, need in needs.items() if len(by_domain[d]) < need}
    if short:
        available = {d: len(rows) for d, rows in by_domain.items()}
        raise NotEnoughQuestions(short, largest_fillable(weights, available, scored + pilot))
    plan = Plan()
    for d in sorted(weights):
        chosen = _prefer_unseen(by_domain[d], rng)[: needs[d]]
        pilot_ids = {r["id"] for r in rng.sample(chosen, pilot_counts[d])}
        plan.draws += [
            Draw(r["id"], r["version_id"], r["choice_count"], d, r["id"] not in pilot_ids) for r in chosen
        ]
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
    rows = _prefer_unseen(_pool(exam, user_id, _chosen_domains(exam, domains), tag_ids), rng)
    if len(rows) < count:
        raise NotEnoughQuestions({0: (count, len(rows))}, len(rows))
    plan = Plan(
        draws=[Draw(r["id"], r["version_id"], r["choice_count"], r["domain"], True) for r in rows[:count]]
    )
    rng.shuffle(plan.draws)
    return plan


def plan_from_ids(question_ids: list[int]) -> Plan:
    """The given questions, in the given order, at their current versions (one query)."""
    fields = ("pk", "current_version_id", "current_version__choice_count", "domain__number")
    found = {
        pk: (v, count, d)
        for pk, v, count, d in Question.objects.filter(pk__in=question_ids).values_list(*fields)
    }
    return Plan(draws=[Draw(q, *found[q], scored=True) for q in question_ids])


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


def build_items(plan: Plan, *, rng: random.Random) -> list[NewItem]:
    """The new attempt's items, with shuffled option order and fresh opaque tokens (no query).

    Plain values, not ``AttemptItem`` objects: building 65 model instances, and loading
    each question's whole version, were a large share of a Start's CPU.
    """
    items = []
    for position, draw in enumerate(plan.draws):
        order = list(range(draw.choice_count))
        rng.shuffle(order)
        tokens = [f"o{rng.getrandbits(48):012x}" for _ in order]
        items.append(
            NewItem(position, draw.question_id, draw.version_id, draw.domain, draw.scored, order, tokens)
        )
    return items
