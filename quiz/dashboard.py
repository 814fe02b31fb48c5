"""What the dashboard shows: the stored report plus recent attempts, in a fixed number of queries."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from django.utils import timezone

from accounts.models import User
from questions.models import Exam
from quiz.charts import activity_svg, bar_rows, score_history_svg
from quiz.labels import MIN_ANSWERS_FOR_BORDERLINE
from quiz.models import Attempt, Report
from quiz.spacing import review_summary


def dashboard_context(user: User, exam_code: str | None) -> dict[str, Any]:
    exams = list(Exam.objects.all())
    exam = next((e for e in exams if e.code == exam_code), None)
    if exam is None and user.target_exam_id:
        exam = next((e for e in exams if e.pk == user.target_exam_id), None)
    recent = list(Attempt.objects.filter(user=user).select_related("exam").order_by("-started_at")[:5])
    if exam is None:
        exam = recent[0].exam if recent else (exams[0] if exams else None)
    report = Report.objects.filter(user=user, exam=exam).first() if exam else None
    data = report.data if report else {}
    breakdowns = []
    if data:
        tasks = [{**row, "label_text": row["code"]} for row in data.get("tasks", [])]
        tags = [
            {**row, "label_text": row["name"]}
            for row in sorted(data.get("tags", []), key=lambda r: r["mastery"])
        ]
        breakdowns = [
            ("By task statement", tasks, "Task"),
            ("By AWS service, weakest first", tags, "Service"),
        ]
    zone = zoneinfo.ZoneInfo(user.time_zone)
    history = history_in_zone(data.get("history", []), zone)
    stored_review = data.get("review", {})
    review = {
        **review_summary(map(dt.datetime.fromisoformat, stored_review.get("due", [])), timezone.now(), zone),
        "learned": stored_review.get("learned", 0),
    }
    names = {d["number"]: d["name"] for d in data.get("domains", [])}
    weakest = [f"{n}. {names[n]}" if n in names else str(n) for n in data.get("weakest_domains", [])]
    return {
        "exam_day": exam_day(user, exam),
        "review": review,
        "breakdowns": breakdowns,
        "history": history,
        "weakest_domains": weakest,
        "exams": exams,
        "exam": exam,
        "report": report,
        "data": data,
        "computing": bool(report and report.stale),
        "recent": recent,
        "open_attempts": [a for a in recent if a.status == Attempt.Status.OPEN],
        "history_svg": score_history_svg(history, exam) if exam and data else "",
        "activity_svg": activity_svg(data.get("activity", {}).get("days", [])) if data else "",
        "borderline_after": MIN_ANSWERS_FOR_BORDERLINE,
        "domain_bars": bar_rows(data.get("domains", []), data.get("bar", 0.72)) if data else [],
    }


def history_in_zone(history: list[dict[str, Any]], zone: dt.tzinfo) -> list[dict[str, Any]]:
    """The report's full mocks, each with ``when``: its stored UTC time in the learner's zone."""
    return [{**h, "when": dt.datetime.fromisoformat(h["at"]).astimezone(zone)} for h in history if h["at"]]


def exam_day(user: User, exam: Exam | None, now: dt.datetime | None = None) -> dict[str, Any] | None:
    """The learner's planned exam date for this dashboard's exam, and how far off it is.

    The date in the profile belongs to the target exam (or to whichever exam is
    shown, when no target is set). Days are counted in the learner's time zone.
    """
    if user.exam_date is None or exam is None or user.target_exam_id not in (None, exam.pk):
        return None
    days = (user.exam_date - user.local_today(now)).days
    return {"date": user.exam_date, "days": days, "past": days < 0}
