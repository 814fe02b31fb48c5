"""Test data for the fault tests: users, exams, sessions and bulk answer history."""

from __future__ import annotations

import itertools
import secrets

from django.conf import settings
from django.db import connection
from django.db.models import Model
from django.test import Client
from django.utils import timezone

from accounts.models import User
from questions.models import Exam
from quiz import services
from quiz.models import Attempt, AttemptItem
from tests.factories import make_exam

_serial = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}{next(_serial)}{secrets.token_hex(3)}".upper()


def new_exam(prefix: str, **kwargs: object) -> Exam:
    """A small exam with a unique code (make_exam from the test factories)."""
    return make_exam(unique(prefix)[:20], **kwargs)  # type: ignore[arg-type]


def new_user(prefix: str = "chaos") -> User:
    return User.objects.create_user(email=f"{unique(prefix).lower()}@example.invalid", password=None)


def session_cookie(user: User) -> str:
    """A real database session for ``user``: the cookie a logged-in browser would send."""
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def start_attempt(user: User, exam: Exam, mode: str = "full", **options: object) -> Attempt:
    return services.attempt_start(
        user=user,
        exam=exam,
        options=services.StartOptions(mode=mode, **options),
        now=timezone.now(),  # type: ignore[arg-type]
    )


def tokens_for(item: AttemptItem, indexes: list[int]) -> list[str]:
    """The opaque tokens the page would send for these authored option indexes."""
    lookup = dict(zip(item.choice_order, item.choice_tokens, strict=True))
    return [lookup[i] for i in indexes]


def take_attempt(user: User, exam: Exam, right: float = 0.7) -> Attempt:
    """A full mock through the app's own services: start, answer every question, submit."""
    attempt = start_attempt(user, exam)
    for n, item in enumerate(attempt.items.select_related("version").order_by("position")):
        key = sorted(item.version.correct_indexes())
        wrong = [i for i in item.choice_order if i not in key][:1]
        choice = key if (n * 7919 % 100) < right * 100 else wrong
        services.answer_save(
            user=user, attempt_id=attempt.pk, position=item.position, tokens=tokens_for(item, choice),
            seq=1, now=timezone.now(),
        )  # fmt: skip
    return services.attempt_submit(user=user, attempt_id=attempt.pk, now=timezone.now())


def _columns(model: type[Model], skip: set[str]) -> list[str]:
    return [f.column for f in model._meta.concrete_fields if not f.primary_key and f.column not in skip]


def bulk_history(user: User, exam: Exam, copies: int) -> int:
    """Give ``user`` a heavy history: one real submitted mock, cloned ``copies`` times in SQL.

    The clone copies every column the app wrote (whatever the schema is today),
    so report computation sees a learner with ``copies`` x 65 answers, built in
    seconds instead of minutes. Returns the number of answer rows written.
    """
    template = take_attempt(user, exam)
    attempt_cols = _columns(Attempt, set())
    item_cols = _columns(AttemptItem, {"attempt_id"})
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH clones AS (
                INSERT INTO quiz_attempt ({", ".join(attempt_cols)})
                SELECT {", ".join(attempt_cols)} FROM quiz_attempt, generate_series(1, %(n)s)
                WHERE id = %(template)s
                RETURNING id
            )
            INSERT INTO quiz_attemptitem (attempt_id, {", ".join(item_cols)})
            SELECT clones.id, {", ".join(f"i.{c}" for c in item_cols)}
            FROM clones, quiz_attemptitem i WHERE i.attempt_id = %(template)s
            """,
            {"n": copies, "template": template.pk},
        )  # noqa: S608 - column names come from the models, values are parameters
        written = cursor.rowcount
        cursor.execute("ANALYZE quiz_attemptitem; ANALYZE quiz_attempt")
    return written


def report_due(user_id: int, exam_id: int) -> None:
    """What a submit does for the report: mark it stale in a transaction, enqueue after commit."""
    from django.db import transaction

    with transaction.atomic():
        services.mark_report_stale(user_id=user_id, exam_id=exam_id, now=timezone.now())


def reported_answers(user_id: int, exam_id: int) -> int:
    """How many answers the stored report counts."""
    from quiz.models import Report

    return int(Report.objects.get(user_id=user_id, exam_id=exam_id).data["answered"])
