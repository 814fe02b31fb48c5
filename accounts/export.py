"""Everything the app stores about one user, for the "download my data" page."""

from __future__ import annotations

from typing import Any

from accounts.models import User


def user_data(user: User) -> dict[str, Any]:
    from quiz.export import attempts_data  # the exam app adds its own records

    return {
        "account": {
            "email": user.email,
            "display_name": user.display_name,
            "time_zone": user.time_zone,
            "target_exam": user.target_exam.code if user.target_exam else None,
            "exam_date": user.exam_date,
            "extra_time_minutes": user.extra_time_minutes,
            "date_joined": user.date_joined,
            "last_login": user.last_login,
        },
        "attempts": attempts_data(user),
    }
