"""Item analysis: how learners do on each question version, and which items need an author's look.

The classic figures of a quiz statistics report, from each learner's first counted
answer to a version (a submitted attempt other than a review of mistakes, or a
checked practice answer):

- *facility*: the share of learners who answered correctly;
- *discrimination*: the correlation between getting this item right and the rest of
  the attempt's score (the attempt's other scored items). A clearly negative value
  (about two standard errors, 1.96 / sqrt(learners), below zero) means learners who
  do well elsewhere miss this item more often: a wrong key or an ambiguous stem is
  the usual cause;
- *option counts*: how many learners chose each option.

Unanswered items are left out: in a timed mock they say more about the clock than
about the item. Nothing is shown or flagged below ``MIN_LEARNERS``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction

from questions.models import QuestionVersion
from quiz.models import Attempt, AttemptItem, ItemStat

MIN_LEARNERS = 20
# An attempt needs this many other scored items for its rest score to mean anything.
MIN_REST_ITEMS = 4
HARD_BELOW = 0.30


@dataclass
class _Tally:
    learners: int = 0
    right: int = 0
    options: Counter[int] = field(default_factory=Counter)
    # Sums for the Pearson correlation of x (right, 0/1) with y (rest score, 0-1).
    n: int = 0
    sx: float = 0.0
    sy: float = 0.0
    sxy: float = 0.0
    syy: float = 0.0

    def add(self, right: bool, selected: list[int], rest: float | None) -> None:
        self.learners += 1
        self.right += right
        self.options.update(selected)
        if rest is not None:
            x = float(right)
            self.n += 1
            self.sx += x
            self.sy += rest
            self.sxy += x * rest
            self.syy += rest * rest

    def discrimination(self) -> float | None:
        # x is 0/1, so the sum of x squared is the sum of x.
        var_x = self.n * self.sx - self.sx * self.sx
        var_y = self.n * self.syy - self.sy * self.sy
        if self.n < MIN_LEARNERS or var_x <= 0 or var_y <= 1e-12:
            return None
        return (self.n * self.sxy - self.sx * self.sy) / math.sqrt(var_x * var_y)


def _rest_score(
    right: bool, scored: bool, attempt_right: int | None, attempt_total: int | None
) -> float | None:
    """The attempt's score on its other scored items, or None when there are too few."""
    if attempt_right is None or attempt_total is None:
        return None  # a practice answer in an attempt not yet submitted
    others = attempt_total - int(scored)
    if others < MIN_REST_ITEMS:
        return None
    return (attempt_right - int(scored and right)) / others


def item_flags(
    *, learners: int, right: int, discrimination: float | None, option_counts: list[int], key: set[int]
) -> list[str]:
    """What an author should look at, in words; empty below ``MIN_LEARNERS``.

    Very easy items are not flagged: sorting the item analysis by facility finds them,
    and an easy item is not a wrong one.
    """
    if learners < MIN_LEARNERS:
        return []
    flags = []
    least_chosen_key = min((option_counts[i] for i in key if i < len(option_counts)), default=0)
    popular = [
        chr(65 + i) for i, count in enumerate(option_counts) if i not in key and count > least_chosen_key
    ]
    if popular:
        flags.append(f"More learners chose {', '.join(popular)} than the key: check the key.")
    # About two standard errors below zero: with tens of learners, small negative values are noise.
    if discrimination is not None and discrimination < -1.96 / math.sqrt(learners):
        flags.append("Learners who score well elsewhere miss it more often: check the key and the wording.")
    facility = right / learners
    if facility < HARD_BELOW:
        flags.append(f"Very hard: {facility:.0%} answer it correctly.")
    return flags


def shown_to_learners(version_ids: Iterable[int]) -> dict[int, ItemStat]:
    """The figures learners may see, by version: only those from ``MIN_LEARNERS`` or more."""
    stats = ItemStat.objects.filter(version_id__in=list(version_ids), learners__gte=MIN_LEARNERS)
    return {stat.version_id: stat for stat in stats}


def item_stats_refresh(*, now: dt.datetime, version_ids: list[int] | None = None) -> int:
    """Recompute every version's figures in one pass (or only ``version_ids``'s, as a key
    correction does); returns how many versions have some."""
    # Reviews of mistakes are left out, as in the reports: their learners were picked for having missed.
    answers = AttemptItem.objects.filter(counted_at__isnull=False).exclude(
        attempt__mode=Attempt.Mode.MISTAKES
    )
    if version_ids is not None:
        answers = answers.filter(version_id__in=version_ids)
    rows = answers.order_by("version_id", "user_id", "counted_at", "pk").values_list(
        "version_id",
        "user_id",
        "correct",
        "selected",
        "scored",
        "attempt__scored_correct",
        "attempt__scored_total",
    )
    tallies: dict[int, _Tally] = {}
    last: tuple[int, int] | None = None
    for version_id, user_id, correct, selected, scored, attempt_right, attempt_total in rows.iterator(
        chunk_size=5000
    ):
        if not selected or (version_id, user_id) == last:
            continue  # unanswered, or not this learner's first answer
        last = (version_id, user_id)
        right = bool(correct)
        tallies.setdefault(version_id, _Tally()).add(
            right, selected, _rest_score(right, scored, attempt_right, attempt_total)
        )

    keys = {
        pk: ({i for i, c in enumerate(data["choices"]) if c["correct"]}, len(data["choices"]))
        for pk, data in QuestionVersion.objects.filter(pk__in=tallies).values_list("pk", "data")
    }
    stats = []
    for version_id, tally in tallies.items():
        key, size = keys[version_id]
        counts = [tally.options[i] for i in range(size)]
        discrimination = tally.discrimination()
        flags = item_flags(
            learners=tally.learners,
            right=tally.right,
            discrimination=discrimination,
            option_counts=counts,
            key=key,
        )
        stats.append(
            ItemStat(
                version_id=version_id,
                learners=tally.learners,
                right=tally.right,
                facility=tally.right / tally.learners,
                option_counts=counts,
                discrimination=None if discrimination is None else round(discrimination, 3),
                flags=flags,
                flagged=bool(flags),
                computed_at=now,
            )
        )
    with transaction.atomic():  # readers see the old figures until the new ones are all in
        old = ItemStat.objects.all()
        (old if version_ids is None else old.filter(version_id__in=version_ids)).delete()
        ItemStat.objects.bulk_create(stats, batch_size=1000)
    return len(stats)
