"""Server-rendered SVG charts: geometry attributes only, no inline styles (the CSP forbids them)."""

from __future__ import annotations

from typing import Any

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from questions.models import Exam

WIDTH, HEIGHT, PAD = 600, 200, 30


def score_history_svg(history: list[dict[str, Any]], exam: Exam) -> SafeString:
    """Scaled score of each full mock, with the pass line. Text table sits beside it for screen readers."""
    if not history:
        return mark_safe("")
    lo, hi = exam.score_min, exam.score_max

    def y(score: float) -> float:
        return HEIGHT - PAD - (score - lo) / (hi - lo) * (HEIGHT - 2 * PAD)

    n = len(history)
    xs = [PAD + (i * (WIDTH - 2 * PAD) / max(n - 1, 1)) for i in range(n)]
    points = " ".join(f"{x:.1f},{y(h['score'] or lo):.1f}" for x, h in zip(xs, history, strict=True))
    dots = format_html_join(
        "",
        '<circle cx="{}" cy="{}" r="4" class="{}"><title>{}</title></circle>',
        (
            (
                f"{x:.1f}",
                f"{y(h['score'] or lo):.1f}",
                "dot-pass" if h["passed"] else "dot-fail",
                f"{h['score']} on {h['at'][:10]}",
            )
            for x, h in zip(xs, history, strict=True)
        ),
    )
    pass_y = y(exam.passing_score)
    return format_html(
        '<svg viewBox="0 0 {w} {h}" class="chart" role="img" aria-labelledby="history-title">'
        '<title id="history-title">Estimated scaled score of each full mock; pass line at {p}</title>'
        '<line x1="{pad}" x2="{xe}" y1="{py}" y2="{py}" class="pass-line"/>'
        '<text x="{xe}" y="{pty}" text-anchor="end" class="chart-label">pass {p}</text>'
        '<polyline points="{pts}" class="score-line" fill="none"/>{dots}</svg>',
        w=WIDTH, h=HEIGHT, p=exam.passing_score, pad=PAD, xe=WIDTH - PAD, py=f"{pass_y:.1f}", pty=f"{pass_y - 4:.1f}",
        pts=points, dots=dots,
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
    """Questions answered per day as columns."""
    if not days:
        return mark_safe("")
    top = max([d["answered"] for d in days] + [1])
    width = 10
    bars = format_html_join(
        "",
        '<rect x="{}" y="{}" width="8" height="{}" class="bar-fill"><title>{}: {}</title></rect>',
        (
            (
                i * width,
                f"{60 - 60 * d['answered'] / top:.1f}",
                f"{60 * d['answered'] / top:.1f}",
                d["day"],
                d["answered"],
            )
            for i, d in enumerate(days)
        ),
    )
    return format_html(
        '<svg viewBox="0 0 {} 62" class="chart chart-activity" role="img" aria-label="Questions answered per day, last 30 days">{}</svg>',
        len(days) * width,
        bars,
    )
