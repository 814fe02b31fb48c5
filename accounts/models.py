from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser, UserManager
from django.contrib.sessions.backends.base import SessionBase
from django.contrib.sessions.base_session import AbstractBaseSession
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone


@functools.cache
def known_time_zones() -> frozenset[str]:
    """The IANA names this machine knows. ``available_timezones`` reads the whole
    tz database on every call (about 20 ms), so it is read once per process."""
    return frozenset(zoneinfo.available_timezones())


def validate_time_zone(value: str) -> None:
    if value not in known_time_zones():
        raise ValidationError(f"{value!r} is not a known time zone.")


class EmailUserManager(UserManager["User"]):
    """Users are identified by email; lookups ignore case."""

    def _create_user_object(
        self, username: Any, email: str | None, password: str | None, **extra: Any
    ) -> User:  # type: ignore[override]
        email = self.normalize_email(email or username).lower()
        user = self.model(email=email, **extra)
        user.password = ""
        user.set_password(password)
        return user

    def _create_user(self, username: Any, email: str | None, password: str | None, **extra: Any) -> User:  # type: ignore[override]
        user = self._create_user_object(username, email, password, **extra)
        user.save(using=self._db)
        return user

    def create_user(self, email: str | None = None, password: str | None = None, **extra: Any) -> User:  # type: ignore[override]
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(None, email, password, **extra)

    def create_superuser(self, email: str | None = None, password: str | None = None, **extra: Any) -> User:  # type: ignore[override]
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self._create_user(None, email, password, **extra)

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(email__iexact=username or "")


class User(AbstractUser):
    """An account: email and password, plus the learner's profile."""

    username = None  # type: ignore[assignment]
    email = models.EmailField("email address", unique=True)
    display_name = models.CharField(max_length=80, blank=True)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    target_exam = models.ForeignKey(
        "questions.Exam", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    exam_date = models.DateField("planned exam date", null=True, blank=True)
    extra_time_minutes = models.PositiveSmallIntegerField(
        "extra time allowance (minutes)",
        default=0,
        help_text="AWS grants +30 minutes on request, e.g. to candidates whose first language is not English.",
    )
    keyboard_shortcuts = models.BooleanField(default=True)

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    objects = EmailUserManager()  # type: ignore[misc]

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
            models.CheckConstraint(
                condition=models.Q(extra_time_minutes__lte=120), name="user_extra_time_at_most_120"
            ),
        ]

    def __str__(self) -> str:
        return self.display_name or self.email

    def clean(self) -> None:
        super().clean()
        self.email = self.email.strip().lower()

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.email = self.email.strip().lower()
        super().save(*args, **kwargs)

    def local_today(self, now: dt.datetime | None = None) -> dt.date:
        now = now or timezone.now()
        return now.astimezone(zoneinfo.ZoneInfo(self.time_zone)).date()


class LoginFailure(models.Model):
    """One failed login, counted per account key and per client address.

    Kept in the database (not Redis) so throttling survives a cache outage.
    Rows older than the throttle window no longer count and are pruned.
    """

    email = models.CharField(max_length=254, db_index=True)
    address = models.GenericIPAddressField(null=True, db_index=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"{self.email} from {self.address} at {self.created_at:%Y-%m-%d %H:%M}"


class UserSession(AbstractBaseSession):
    """A database session that also names its signed-in user.

    With the user's id in a column, one query reads the session and its user
    (``accounts.sessions``), instead of one for each on every signed-in request.
    Deleting a user deletes their sessions.
    """

    user = models.ForeignKey(User, null=True, blank=True, on_delete=models.CASCADE, related_name="+")

    @classmethod
    def get_session_store_class(cls) -> type[SessionBase]:
        from accounts.sessions import SessionStore

        return SessionStore
