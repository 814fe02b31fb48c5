from typing import Any

from quiz.models import Attempt


def attempts_data(user: Any) -> list[dict[str, Any]]:
    """Every attempt of the user with its answers, for the data download."""
    out = []
    for attempt in (
        Attempt.objects.filter(user=user).select_related("exam").prefetch_related("items__version")
    ):
        out.append(
            {
                "exam": attempt.exam.code,
                "mode": attempt.mode,
                "status": attempt.status,
                "started_at": attempt.started_at,
                "deadline": attempt.deadline,
                "submitted_at": attempt.submitted_at,
                "scaled_score": attempt.scaled_score,
                "scored_correct": attempt.scored_correct,
                "scored_total": attempt.scored_total,
                "passed": attempt.passed,
                "answers": [
                    {
                        "question": item.version.data["stem"][:200],
                        "question_id": item.question_id,
                        "selected": [item.version.data["choices"][i]["text"] for i in item.selected],
                        "correct": item.correct,
                        "flagged": item.flagged,
                        "time_spent_seconds": round(item.time_spent_ms / 1000, 1),
                    }
                    for item in attempt.items.all()
                ],
            }
        )
    return out
