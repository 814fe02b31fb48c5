"""Raw score to estimated scaled score, and attempt grading.

AWS publishes no formula. This app's estimate is piecewise linear through three
points taken from the exam's data: 0% -> score_min, ``passing_raw_percent`` ->
passing_score, 100% -> score_max. It is always shown labelled as an estimate.
"""

from __future__ import annotations

from questions.models import Exam


def scaled_score(exam: Exam, raw_fraction: float) -> int:
    raw = min(max(raw_fraction, 0.0), 1.0)
    cut = exam.passing_raw_percent / 100
    if raw <= cut:
        value = exam.score_min + (exam.passing_score - exam.score_min) * raw / cut
    else:
        value = exam.passing_score + (exam.score_max - exam.passing_score) * (raw - cut) / (1 - cut)
    return round(value)


def passes(exam: Exam, score: int) -> bool:
    return score >= exam.passing_score
