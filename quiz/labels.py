"""Per-domain labels, shared by the results page and the weakness reports.

The bar is the accuracy the passing score needs: the exam's
``passing_raw_percent``. A single attempt is labelled as the real exam does
(meets or needs improvement). A report, which has many answers, is labelled
from its 95% interval: meets or needs improvement when the whole interval is on
one side of the bar. When the interval holds the bar, a domain with few answers
has "Not enough data yet"; one with many is "Borderline", because that much data
says its accuracy is close to the bar, not that nothing is known.
"""

from __future__ import annotations

import math

MEETS = "Meets competencies"
NEEDS = "Needs improvement"
NOT_ENOUGH = "Not enough data yet"
BORDERLINE = "Borderline"

MIN_ANSWERS_FOR_LABEL = 5  # fewer answers than this say nothing either way
MIN_ANSWERS_FOR_BORDERLINE = 20  # an interval still holding the bar after this many: close to it


def attempt_label(correct: int, total: int, bar: float) -> str:
    if total == 0:
        return NOT_ENOUGH
    return MEETS if correct / total >= bar else NEEDS


def wilson_interval(correct: float, total: float, z: float = 1.959964) -> tuple[float, float]:
    """95% Wilson score interval for a proportion; (0, 1) with no data."""
    if total <= 0:
        return 0.0, 1.0
    p = correct / total
    denom = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denom
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def report_label(low: float, high: float, bar: float, answered: int) -> str:
    """Meets if the whole interval is at or above the bar, needs improvement if below it."""
    if answered < MIN_ANSWERS_FOR_LABEL:
        return NOT_ENOUGH
    if low >= bar:
        return MEETS
    if high < bar:
        return NEEDS
    return BORDERLINE if answered >= MIN_ANSWERS_FOR_BORDERLINE else NOT_ENOUGH
