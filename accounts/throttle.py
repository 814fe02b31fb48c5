"""Login throttling per account and per client address, stored in the database.

The same rule applies to addresses that have no account, so the response never
reveals whether an account exists. Failures expire after the window, so the
real owner is never locked out for good; a password reset also clears them.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone

from accounts.models import LoginFailure


def _window_start(now: dt.datetime) -> dt.datetime:
    return now - dt.timedelta(seconds=settings.LOGIN_THROTTLE_WINDOW_SECONDS)


def is_throttled(*, email: str, address: str | None, now: dt.datetime | None = None) -> bool:
    now = now or timezone.now()
    recent = LoginFailure.objects.filter(created_at__gte=_window_start(now))
    if recent.filter(email=email.strip().lower()).count() >= settings.LOGIN_FAILURES_PER_ACCOUNT:
        return True
    return bool(address and recent.filter(address=address).count() >= settings.LOGIN_FAILURES_PER_ADDRESS)


def record_failure(*, email: str, address: str | None, now: dt.datetime | None = None) -> None:
    now = now or timezone.now()
    LoginFailure.objects.create(email=email.strip().lower()[:254], address=address or None, created_at=now)
    LoginFailure.objects.filter(created_at__lt=_window_start(now)).delete()


def clear_failures(*, email: str) -> None:
    LoginFailure.objects.filter(email=email.strip().lower()).delete()
