"""Server-rendered SVG charts: geometry attributes only, no inline styles (the CSP forbids them)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from questions.models import Exam

WIDTH, HEIGHT, PAD = 600, 220, 30
LEFT = 120  # room for the score axis labels
MAX_DOT_LABELS = 12  # beyond this many mocks the scores would overlap; each dot keeps its tooltip


def _short_date(day: dt.date) -> str:
    """15 Nov."""
    return f"{day.day} {day:%b}"


def score_history_svg(history: list[dict[str, Any]], exam: Exam) -> SafeString:
    """Scaled score of each full mock, with the pass line, the score axis and the first and last dates.

    Each row has ``score``, ``passed`` and ``when`` (its time in the learner's time zone).

    A text table sits beside it for screen readers.
    """
    if not history:
        return mark_safe("")
    lo, hi = exam.score_min, exam.score_max
    bottom = HEIGHT - PAD

    def y(score: float) -> float:
        return bottom - (score - lo) / (hi - lo) * (HEIGHT - 2 * PAD)

    n = len(history)
    first = LEFT + 25  # clear of the axis labels
    xs = [first + (i * (WIDTH - first - PAD) / max(n - 1, 1)) for i in range(n)]
    scores = [h["score"] if h["score"] is not None else lo for h in history]
    points = " ".join(f"{x:.1f},{y(v):.1f}" for x, v in zip(xs, scores, strict=True))
    dots = format_html_join(
        "",
        '<circle cx="{}" cy="{}" r="4" class="{}"><title>{}</title></circle>',
        (
            (
                f"{x:.1f}",
                f"{y(v):.1f}",
                "dot-pass" if h["passed"] else "dot-fail",
                f"{v} on {_short_date(h['when'])}",
            )
            for x, v, h in zip(xs, scores, history, strict=True)
        ),
    )
    values = (
        format_html_join(
            "",
            '<text x="{}" y="{}" text-anchor="middle" class="chart-value">{}</text>',
            ((f"{x:.1f}", f"{y(v) - 9:.1f}", v) for x, v in zip(xs, scores, strict=True)),
        )
        if n <= MAX_DOT_LABELS
        else ""
    )
    ticks = format_html_join(
        "",
        '<text x="{}" y="{}" text-anchor="end" class="chart-label">{}</text>',
        (
            (LEFT - 8, f"{y(v) + 4:.1f}", text)
            for v, text in ((hi, hi), (exam.passing_score, f"pass {exam.passing_score}"), (lo, lo))
        ),
    )
    dates = format_html(
        '<text x="{}" y="{}" text-anchor="{}" class="chart-label">{}</text>',
        f"{xs[0]:.1f}",
        HEIGHT - 6,
        "middle" if n == 1 else "start",
        _short_date(history[0]["when"]),
    )
    if n > 1:
        dates += format_html(
            '<text x="{}" y="{}" text-anchor="end" class="chart-label">{}</text>',
            f"{xs[-1]:.1f}",
            HEIGHT - 6,
            _short_date(history[-1]["when"]),
        )
    pass_y = f"{y(exam.passing_score):.1f}"
    return format_html(
        '<svg viewBox="0 0 {w} {h}" class="chart chart-scores" role="img" aria-labelledby="history-title">'
        '<title id="history-title">Estimated scaled score of each full mock; pass line at {p}</title>'
        '<line x1="{left}" x2="{xe}" y1="{top}" y2="{top}" class="chart-grid"/>'
        '<line x1="{left}" x2="{xe}" y1="{bottom}" y2="{bottom}" class="chart-grid"/>'
        '<line x1="{left}" x2="{xe}" y1="{py}" y2="{py}" class="pass-line"/>'
        '{ticks}{dates}<polyline points="{pts}" class="score-line" fill="none"/>{dots}{values}</svg>',
        w=WIDTH, h=HEIGHT, p=exam.passing_score, left=LEFT, xe=WIDTH - PAD, top=PAD, bottom=bottom,
        py=pass_y, ticks=ticks, dates=dates, pts=points, dots=dots, values=values,
    )  # fmt: skip


def bar_rows(domains: list[dict[str, Any]], bar: float) -> list[dict[str, Any]]:
    """Geometry for per-domain mastery bars with their intervals, in a 0-100 SVG coordinate space."""
    rows = []
    for d in domains:
        rows.append(
            {
                **d,
                "mastery_pct": round(d["mastery"] * 100),
                "low_pct": round(d["low"] * 100),
                "high_pct": round(d["high"] * 100),
                "bar_pct": round(bar * 100),
                "interval_pct": round((d["high"] - d["low"]) * 100),
            }
        )
    return rows


def activity_svg(days: list[dict[str, Any]]) -> SafeString:
    """Questions answered per day as columns, with the busiest day's count and the first and last dates."""
    if not days:
        return mark_safe("")
    top = max([d["answered"] for d in days] + [1])
    width, height, base = 10, 60, 72  # column pitch, tallest column, baseline (room for the top label)
    bars = format_html_join(
        "",
        '<rect x="{}" y="{}" width="8" height="{}" class="bar-fill"><title>{}: {}</title></rect>',
        (
            (
                i * width,
                f"{base - height * d['answered'] / top:.1f}",
                f"{height * d['answered'] / top:.1f}",
                d["day"],
                d["answered"],
            )
            for i, d in enumerate(days)
        ),
    )
    right = len(days) * width
    return format_html(
        '<svg viewBox="0 0 {right} 90" class="chart chart-activity" role="img" aria-label="Questions answered per day, last {n} days">'
        '<line x1="0" x2="{right}" y1="{base}" y2="{base}" class="chart-grid"/>'
        '<text x="0" y="9" class="chart-label">most in a day: {top}</text>{bars}'
        '<text x="0" y="87" class="chart-label">{first}</text>'
        '<text x="{right}" y="87" text-anchor="end" class="chart-label">{last}</text></svg>',
        right=right, n=len(days), base=base, top=top, bars=bars, first=_short_date(dt.date.fromisoformat(days[0]["day"])), last=_short_date(dt.date.fromisoformat(days[-1]["day"])),
    )  # fmt: skip
