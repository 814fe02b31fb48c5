from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.db import connections, router
from django.http import HttpRequest

from accounts import sessions
from accounts.models import User


class EmailBackend(ModelBackend):
    """Authenticates by email, case-insensitively."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        email = (username or kwargs.get("email") or "").strip()
        if not email or password is None:
            return None
        try:
            user = User.objects.get(email__iexact=email)
        except User.DoesNotExist:
            User().set_password(password)  # same work as a real check: no timing oracle
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None

    def get_user(self, user_id: Any) -> User | None:
        """The signed-in user, on every request: the row read with the session, or one plain query."""
        user = sessions.take_loaded_user(user_id)
        if user is None:
            alias = router.db_for_read(User)
            with connections[alias].cursor() as cursor:
                cursor.execute(_USER_BY_ID, [user_id])
                row = cursor.fetchone()
            if row is None:
                return None
            user = User.from_db(alias, sessions.USER_FIELDS, row)
        return user if self.user_can_authenticate(user) else None


_USER_BY_ID = f"SELECT {sessions.USER_COLUMNS} FROM accounts_user u WHERE u.id = %s"
