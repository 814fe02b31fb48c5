"""The one place that turns domain weights into per-domain question counts.

The exam builder, ``bank_stats`` and the content minimums all call
:func:`domain_counts`, so a mock exam, the bank's health report and the tests
always agree on how many questions each domain needs.
"""

from __future__ import annotations

from collections.abc import Mapping


def domain_counts(n: int, weights: Mapping[int, float]) -> dict[int, int]:
    """Split ``n`` items over domains in proportion to ``weights``.

    Largest-remainder (Hamilton) rounding: every domain gets the floor of its
    exact share, and the items left over go to the largest fractional parts,
    ties broken by the lower domain number. The counts always sum to ``n``.

    >>> domain_counts(50, {1: 30, 2: 26, 3: 24, 4: 20})
    {1: 15, 2: 13, 3: 12, 4: 10}
    >>> domain_counts(15, {1: 30, 2: 26, 3: 24, 4: 20})
    {1: 5, 2: 4, 3: 3, 4: 3}
    """
    if n < 0:
        raise ValueError("n must not be negative")
    total = sum(weights.values())
    if not weights or total <= 0:
        raise ValueError("weights must be positive")
    exact = {number: n * weight / total for number, weight in weights.items()}
    counts = {number: int(share) for number, share in exact.items()}
    left = n - sum(counts.values())
    by_remainder = sorted(exact, key=lambda number: (-(exact[number] - counts[number]), number))
    for number in by_remainder[:left]:
        counts[number] += 1
    return dict(sorted(counts.items()))


def full_mock_needs(question_count: int, unscored_count: int, weights: Mapping[int, float]) -> dict[int, int]:
    """Per-domain questions one full mock draws: scored plus pilot items."""
    scored = domain_counts(question_count - unscored_count, weights)
    pilot = domain_counts(unscored_count, weights)
    return {number: scored[number] + pilot[number] for number in scored}
