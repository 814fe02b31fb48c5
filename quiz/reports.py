"""Per-domain weakness reports: what a learner should study next.

What a report counts: every question of every submitted mock, drill and
practice (pilot items included, unanswered counted wrong) plus practice answers
that were checked, one answer per question per attempt. Reviews of mistakes are
left out of accuracy, mastery and readiness: their questions were chosen for
having been missed, so they would understate what a learner knows. They count
as activity and drive the review schedule (``quiz.spacing``). Score history
uses full mocks only.

Aggregation happens in SQL: answers are grouped by domain (or task statement,
or service tag) and by day, so Python only combines a bounded number of
buckets, never the answers themselves; the spaced-review schedule
(``quiz.spacing``) is one more grouped pass, with a window function. The query
count does not depend on how many attempts a learner has.

Mastery is recency-weighted: an answer ``a`` days old counts ``0.5 ** (a / 30)``
(a 30-day half-life), so what a learner got right last week matters more than
what they got wrong two months ago.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from typing import Any

from django.db import transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate

from questions.models import Exam, Question, Tag
from quiz.labels import NOT_ENOUGH, report_label, wilson_interval
from quiz.models import Attempt, AttemptItem, Report
from quiz.scoring import scaled_score
from quiz.spacing import review_schedule

HALF_LIFE_DAYS = 30.0
COUNTS_SENTENCE = (
    "Counts every question of every finished mock, drill and practice (unscored pilot items and checked "
    "practice answers included, unanswered counted wrong), but not reviews of your mistakes, whose questions "
    "were picked for being missed; score history uses full mocks only."
)
MASTERY_SENTENCE = "Mastery weights each answer by 0.5^(age in days / 30): an answer a month old counts half."
READINESS_SENTENCE = (
    "Estimated from each domain's recency-weighted accuracy (a Beta posterior) and the blueprint's weights, "
    "treating a 50-question exam as a sum of per-domain binomials (normal approximation); not an official score."
)


RECENCY_EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def recency_weight(age_days: float) -> float:
    return 0.5 ** (max(age_days, 0.0) / HALF_LIFE_DAYS)


def recency_basis(when: dt.datetime) -> float:
    """Stored per answer when it starts counting: ``2 ** (days since RECENCY_EPOCH / half-life)``.

    The weight of an answer at ``now`` is ``basis * 0.5 ** (days from epoch to now / half-life)``,
    so a report sums stored bases in SQL and multiplies once, with no per-row power.
    """
    return 2.0 ** ((when - RECENCY_EPOCH).total_seconds() / 86400 / HALF_LIFE_DAYS)


def recency_scale(now: dt.datetime) -> float:
    return 0.5 ** ((now - RECENCY_EPOCH).total_seconds() / 86400 / HALF_LIFE_DAYS)


def _answers(user_id: int, exam_id: int):  # type: ignore[no-untyped-def]
    """Answers that count: set on submit (every item) or on checking a practice answer; no reviews."""
    return AttemptItem.objects.filter(user_id=user_id, exam_id=exam_id, counted_at__isnull=False).exclude(
        attempt__mode=Attempt.Mode.MISTAKES
    )


def _per_question(user_id: int, exam_id: int, now: dt.datetime) -> list[dict[str, Any]]:
    """One grouped scan of one table: per question, answers, correct, recency-weighted counts, time."""
    rows = list(
        _answers(user_id, exam_id)
        .values("question_id", "domain_number")
        .annotate(
            n=Count("id"),
            c=Count("id", filter=Q(correct=True)),
            wn=Sum("recency_basis"),
            wc=Sum("recency_basis", filter=Q(correct=True)),
            ms=Sum("time_spent_ms"),
        )
        .order_by()
    )
    scale = recency_scale(now)
    for row in rows:
        row["wn"] = (row["wn"] or 0.0) * scale
        row["wc"] = (row["wc"] or 0.0) * scale
    return rows


def _stats(rows: list[dict[str, Any]], keys_of: Any, bar: float) -> dict[Any, dict[str, Any]]:
    """Sum per-question rows into counts, interval, mastery and label per key (domain, task or tag).

    ``keys_of(row)`` lists the keys a question counts toward. Python loops over
    questions here, a number bounded by the bank, never over answers.
    """
    acc: dict[Any, dict[str, float]] = defaultdict(lambda: {"n": 0, "c": 0, "wn": 0.0, "wc": 0.0, "ms": 0})
    for row in rows:
        for key in keys_of(row):
            a = acc[key]
            a["n"] += row["n"]
            a["c"] += row["c"]
            a["wn"] += min(row["wn"] or 0.0, row["n"])  # clock skew cannot weigh an answer above 1
            a["wc"] += min(row["wc"] or 0.0, row["c"])
            a["ms"] += row["ms"] or 0
    out = {}
    for k, a in acc.items():
        low, high = wilson_interval(a["c"], a["n"])
        mastery = (a["wc"] + 1) / (a["wn"] + 2)  # Beta(1, 1) prior on recency-weighted counts
        label = report_label(low, high, bar, int(a["n"]))
        out[k] = {
            "answered": int(a["n"]),
            "correct": int(a["c"]),
            "accuracy": a["c"] / a["n"] if a["n"] else None,
            "low": low,
            "high": high,
            "mastery": mastery,
            "weighted_n": a["wn"],
            "label": label,
            "seconds_per_question": a["ms"] / 1000 / a["n"] if a["n"] else None,
        }
    return out


def _normal_cdf(x: float) -> float:
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def readiness(exam: Exam, domains: dict[int, dict[str, Any]], weights: dict[int, float]) -> dict[str, Any]:
    """Estimated score, its 95% interval and the probability of passing."""
    scored = exam.scored_count
    counts = exam.domain_counts(scored)
    mean = 0.0
    var = 0.0
    for number, n in counts.items():
        d = domains.get(number)
        wn = d["weighted_n"] if d else 0.0
        p = d["mastery"] if d else 0.5
        alpha, beta = p * (wn + 2), (1 - p) * (wn + 2)
        var_p = alpha * beta / ((alpha + beta) ** 2 * (alpha + beta + 1))
        mean += n * p
        var += n * p * (1 - p) + n * n * var_p
    sd = math.sqrt(var) if var > 0 else 1e-9
    cut = math.ceil(exam.passing_raw_percent / 100 * scored - 1e-9)
    p_pass = 1 - _normal_cdf((cut - 0.5 - mean) / sd)
    low_raw = max(0.0, mean - 1.96 * sd)
    high_raw = min(float(scored), mean + 1.96 * sd)
    return {
        "score": scaled_score(exam, mean / scored),
        "low": scaled_score(exam, low_raw / scored),
        "high": scaled_score(exam, high_raw / scored),
        "pass_probability": p_pass,
        "explanation": READINESS_SENTENCE,
    }


def report_compute(*, user_id: int, exam_id: int, now: dt.datetime) -> dict[str, Any]:
    """Everything the dashboard shows, from a fixed number of grouped queries."""
    exam = Exam.objects.get(pk=exam_id)
    domain_rows = list(exam.domains.all())
    weights = {d.number: d.weight for d in domain_rows}
    bar = exam.passing_raw_percent / 100
    rows = _per_question(user_id, exam_id, now)
    ids = [r["question_id"] for r in rows]
    task_of = dict(Question.objects.filter(pk__in=ids).values_list("pk", "task__code"))
    tags_of: dict[int, list[str]] = defaultdict(list)
    for question_id, name in Question.tags.through.objects.filter(
        question_id__in=ids, tag__kind=Tag.Kind.SERVICE
    ).values_list("question_id", "tag__name"):
        tags_of[question_id].append(name)
    domains = _stats(rows, lambda r: [r["domain_number"]], bar)
    tasks = _stats(rows, lambda r: [task_of[r["question_id"]]] if task_of.get(r["question_id"]) else [], bar)
    tags = _stats(rows, lambda r: tags_of.get(r["question_id"], []), bar)

    # Trend: accuracy per domain over the last five finished attempts.
    recent = list(
        Attempt.objects.filter(user_id=user_id, exam_id=exam_id, status=Attempt.Status.SUBMITTED)
        .exclude(mode=Attempt.Mode.MISTAKES)
        .order_by("-submitted_at")
        .values_list("pk", flat=True)[:5]
    )
    trend_rows = (
        AttemptItem.objects.filter(attempt_id__in=recent)
        .values("attempt_id", "domain_number")
        .annotate(n=Count("id"), c=Count("id", filter=Q(correct=True)))
        .order_by()
    )
    trend: dict[int, dict[int, float]] = defaultdict(dict)
    for row in trend_rows:
        trend[row["domain_number"]][row["attempt_id"]] = row["c"] / row["n"]
    history = list(
        Attempt.objects.filter(
            user_id=user_id, exam_id=exam_id, status=Attempt.Status.SUBMITTED, mode=Attempt.Mode.FULL
        )
        .order_by("submitted_at")
        .values("pk", "submitted_at", "scaled_score", "passed")
    )

    activity = _activity(user_id, exam_id, now)

    domain_list = []
    for d in domain_rows:
        empty = {
            "answered": 0, "correct": 0, "accuracy": None, "low": 0.0, "high": 1.0, "mastery": 0.5,
            "weighted_n": 0.0, "label": NOT_ENOUGH, "seconds_per_question": None,
        }  # fmt: skip
        stats = domains.get(d.number, empty)
        gap = max(0.0, bar - stats["mastery"])
        domain_list.append(
            {
                "number": d.number,
                "name": d.name,
                "weight": d.weight,
                **stats,
                "trend": [round(trend[d.number][a], 3) for a in reversed(recent) if a in trend[d.number]],
                "priority": gap * d.weight,
            }
        )
    weakest_domains = [
        d["number"] for d in sorted(domain_list, key=lambda d: -d["priority"]) if d["priority"] > 0
    ][:2] or [min(domain_list, key=lambda d: d["mastery"])["number"]]
    tag_list = [
        {"name": name, **stats, "priority": max(0.0, bar - stats["mastery"]) * math.sqrt(stats["answered"])}
        for name, stats in tags.items()
    ]
    weakest_tags = [t["name"] for t in sorted(tag_list, key=lambda t: -t["priority"]) if t["priority"] > 0][
        :5
    ]
    total = sum(d["answered"] for d in domain_list)
    review = review_schedule(user_id, exam_id)
    return {
        "computed_at": now.isoformat(),
        "counts": COUNTS_SENTENCE,
        "mastery_note": MASTERY_SENTENCE,
        "bar": bar,
        "pace_seconds": exam.seconds_per_question,
        "answered": total,
        "domains": domain_list,
        "tasks": [{"code": k, **v} for k, v in sorted(tasks.items())],
        "tags": sorted(tag_list, key=lambda t: t["name"]),
        "weakest_domains": weakest_domains,
        "weakest_tags": weakest_tags,
        "readiness": readiness(exam, domains, weights) if total else None,
        "activity": activity,
        "review": {"due": sorted(c.due.isoformat() for c in review.cards), "learned": len(review.learned)},
        "history": [
            {
                "id": h["pk"],
                "at": h["submitted_at"].isoformat() if h["submitted_at"] else "",
                "score": h["scaled_score"],
                "passed": h["passed"],
            }
            for h in history
        ],
    }


def _activity(user_id: int, exam_id: int, now: dt.datetime) -> dict[str, Any]:
    """Questions answered per day over the last 30 days, in the learner's time zone, and the streak."""
    import zoneinfo

    from accounts.models import User

    zone = zoneinfo.ZoneInfo(User.objects.values_list("time_zone", flat=True).get(pk=user_id))
    today = now.astimezone(zone).date()
    since = now - dt.timedelta(days=31)
    rows = (
        AttemptItem.objects.filter(
            attempt__in=Attempt.objects.filter(
                user_id=user_id, exam_id=exam_id, started_at__gte=since - dt.timedelta(days=2)
            ),
            answered_at__gte=since,
        )
        .annotate(day=TruncDate("answered_at", tzinfo=zone))
        .values("day")
        .annotate(n=Count("id"))
        .order_by()
    )
    per_day = {row["day"]: row["n"] for row in rows}
    days = [today - dt.timedelta(days=i) for i in range(29, -1, -1)]
    streak = 0
    for day in reversed(days):
        if per_day.get(day):
            streak += 1
        elif day != today:  # today without practice yet does not break the streak
            break
    return {"days": [{"day": d.isoformat(), "answered": per_day.get(d, 0)} for d in days], "streak": streak}


def report_refresh(*, user_id: int, exam_id: int, now: dt.datetime) -> Report:
    """Recompute and store the one report for this user and exam. Idempotent.

    The stale flag is cleared only if no newer submit marked it stale while we
    were computing (compare-and-set on ``stale_since``).
    """
    marker = (
        Report.objects.filter(user_id=user_id, exam_id=exam_id).values_list("stale_since", flat=True).first()
    )
    data = report_compute(user_id=user_id, exam_id=exam_id, now=now)
    with transaction.atomic():
        report, _ = Report.objects.select_for_update().get_or_create(
            user_id=user_id, exam_id=exam_id, defaults={"stale": False}
        )
        report.data = data
        report.computed_at = now
        if report.stale_since == marker:
            report.stale = False
        report.save()
    return report
