"""Database-side preparation, run in the harness process after ``django.setup()``.

Users share one password hash made once; each gets a ready database session
(the row SessionMiddleware would have written at login), so the load generator
sends ``sessionid`` and ``csrftoken`` cookies and never logs in.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.hashers import make_password
from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from django.utils.crypto import get_random_string

from accounts.models import User, UserSession
from accounts.sessions import SessionStore
from bench.loadgen import Identity
from questions.models import Exam
from quiz import services
from quiz.models import Attempt, AttemptItem

EXAM = "SAA-C03"
PASSWORD = "bench-password-not-a-secret"


@dataclass(frozen=True, slots=True)
class Item:
    position: int
    tokens: tuple[str, ...]  # display order, as the page shows them
    choose: int

    def pick(self, rng: random.Random) -> list[str]:
        return rng.sample(self.tokens, min(self.choose, len(self.tokens)))


@dataclass(frozen=True, slots=True)
class Taker:
    user_id: int
    identity: Identity
    attempt_id: int = 0
    items: tuple[Item, ...] = ()


def prepare_database() -> None:
    call_command("migrate", interactive=False, verbosity=0)
    call_command("import_questions", str(settings.BANK_DIR), "--sync", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    with connection.cursor() as cursor:
        # What a DBA runs after a bulk load, and autovacuum would do a minute later:
        # planner statistics, and a visibility map for index-only scans of the bank.
        cursor.execute("VACUUM ANALYZE")


def make_takers(prefix: str, count: int, csrf: str) -> list[Taker]:
    """``count`` users with one shared password hash and a signed-in session each."""
    hashed = make_password(PASSWORD)
    users = User.objects.bulk_create(
        [User(email=f"{prefix}-{n}@bench.invalid", password=hashed) for n in range(count)], batch_size=1000
    )
    auth_hash = users[0].get_session_auth_hash()  # depends on the password hash only: the same for all
    store = SessionStore()
    expires = timezone.now() + dt.timedelta(seconds=settings.SESSION_COOKIE_AGE)
    backend = settings.AUTHENTICATION_BACKENDS[0]
    rows, takers = [], []
    for user in users:
        key = get_random_string(32, VALID_KEY_CHARS)
        data = {SESSION_KEY: str(user.pk), BACKEND_SESSION_KEY: backend, HASH_SESSION_KEY: auth_hash}
        rows.append(
            UserSession(session_key=key, session_data=store.encode(data), expire_date=expires, user=user)
        )
        takers.append(Taker(user_id=user.pk, identity=Identity(key, csrf)))
    UserSession.objects.bulk_create(rows, batch_size=1000)
    return takers


def start_attempts(takers: Sequence[Taker], *, mode: str = Attempt.Mode.FULL, seed: int = 1) -> list[Taker]:
    """Start one attempt per taker through the app's own service (as POST /start/ would)."""
    exam = Exam.objects.get(code=EXAM)
    users = User.objects.in_bulk([t.user_id for t in takers])
    options = services.StartOptions(mode=mode, count=exam.question_count, include_pilot=True, timed=True)
    now = timezone.now()
    attempt_ids = [
        services.attempt_start(user=users[t.user_id], exam=exam, options=options, now=now, seed=seed + n).pk
        for n, t in enumerate(takers)
    ]
    items = items_for(attempt_ids)
    return [replace(t, attempt_id=a, items=items[a]) for t, a in zip(takers, attempt_ids, strict=True)]


def items_for(attempt_ids: Iterable[int]) -> dict[int, tuple[Item, ...]]:
    found: dict[int, list[Item]] = {}
    rows = (
        AttemptItem.objects.filter(attempt_id__in=list(attempt_ids))
        .order_by("attempt_id", "position")
        .values_list("attempt_id", "position", "choice_tokens", "version__data__choose")
    )
    for attempt_id, position, tokens, choose in rows:
        found.setdefault(attempt_id, []).append(Item(position, tuple(tokens), int(choose or 1)))
    return {k: tuple(v) for k, v in found.items()}


def set_deadlines(attempt_ids: Sequence[int], deadline: dt.datetime) -> None:
    Attempt.objects.filter(pk__in=list(attempt_ids)).update(deadline=deadline)
