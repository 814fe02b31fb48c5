"""Database sessions that read the session and its signed-in user with one query.

Every request of a signed-in user reads its session, then its user. The session
row (``accounts.models.UserSession``) names the user in a column, so ``load`` reads
both with one plain query (no ORM compiling) and hands the user to
``EmailBackend.get_user``, which Django's ``auth.get_user`` calls next, in the same
request, with the id it found in the session. Django still checks the session's
password hash against that user row, so a password change, a deactivation or an
expiry still signs the session out. Writes, expiry and the rest are Django's ``db``
backend unchanged.
"""

from __future__ import annotations

from contextvars import ContextVar
from functools import cache
from typing import Any, cast

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends import db
from django.db import connections, router
from django.utils import timezone

from accounts.models import User, UserSession

USER_FIELDS = [f.attname for f in User._meta.concrete_fields]
USER_COLUMNS = ", ".join(f'u."{f.column}"' for f in User._meta.concrete_fields)
_LOAD = f"""
    SELECT s.session_data, {USER_COLUMNS}
      FROM accounts_usersession s LEFT JOIN accounts_user u ON u.id = s.user_id
     WHERE s.session_key = %s AND s.expire_date > %s
"""

# The user row read with this thread's (or task's) latest session, for the one
# get_user call that follows it. Taken at most once, and only for the same id.
_loaded_user: ContextVar[User | None] = ContextVar("loaded_user", default=None)


def take_loaded_user(user_id: Any) -> User | None:
    """The user read with the session just loaded, if it has this id; once only."""
    user = _loaded_user.get()
    _loaded_user.set(None)
    return user if user is not None and str(user.pk) == str(user_id) else None


@cache
def _user_converters(alias: str) -> list[tuple[int, Any, list[Any]]]:
    """(column index, column, converters) for each user field the backend converts."""
    connection = connections[alias]
    found = []
    for i, field in enumerate(User._meta.concrete_fields):
        col = field.get_col(User._meta.db_table)
        converters = [*connection.ops.get_db_converters(col), *field.get_db_converters(connection)]
        if converters:
            found.append((i, col, converters))
    return found


def _converted(alias: str, values: tuple[Any, ...]) -> list[Any]:
    """The user's column values as the ORM would hand them over: a raw cursor skips
    the backend's converters (on SQLite, datetimes arrive naive). On PostgreSQL no
    user field has one, so the hot path pays nothing there."""
    out = list(values)
    for i, col, converters in _user_converters(alias):
        for convert in converters:
            out[i] = convert(out[i], col, connections[alias])
    return out


class SessionStore(db.SessionStore):
    @classmethod
    def get_model_class(cls) -> type[UserSession]:
        return UserSession

    def create_model_instance(self, data: dict[str, Any]) -> UserSession:
        """Django's, plus the signed-in user's id (None when nobody is signed in)."""
        session = cast(UserSession, super().create_model_instance(data))
        user_id = str(data.get(SESSION_KEY, ""))
        session.user_id = int(user_id) if user_id.isdigit() else None
        return session

    def load(self) -> dict[str, Any]:
        _loaded_user.set(None)
        if self.session_key is None:
            return {}
        alias = router.db_for_read(UserSession)
        with connections[alias].cursor() as cursor:
            cursor.execute(_LOAD, [self.session_key, timezone.now()])
            row = cursor.fetchone()
        if row is None:
            self._session_key = None
            return {}
        if row[1] is not None:
            _loaded_user.set(User.from_db(alias, USER_FIELDS, _converted(alias, row[1:])))
        return self.decode(row[0])
