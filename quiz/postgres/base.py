"""Django's PostgreSQL backend with a cheaper connection health check.

With ``CONN_HEALTH_CHECKS`` Django runs ``SELECT 1`` on a persistent connection at
the first query of every request: one more round trip on every page and every
answer save. An idle connection in autocommit receives nothing from the server
until it sends something, unless the server has hung up (a restart, a crash,
``pg_terminate_backend``): then the socket turns readable, with the EOF and
usually a FATAL message before it. So when the socket has nothing to read and no
transaction is open, the connection is as usable as ``SELECT 1`` would have
found it, and only in the other cases is ``SELECT 1`` run. A link that dies with
no word from the server is no worse off: ``SELECT 1`` would hang on it too.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base
from psycopg.pq import TransactionStatus


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        conn = self.connection
        if conn is None or conn.closed:
            return False
        if conn.info.transaction_status == TransactionStatus.IDLE and not _has_input(conn.fileno()):
            return True
        return bool(super().is_usable())


def _has_input(fd: int) -> bool:
    """Whether the server has sent something (a hang-up reads as input); unknown counts as yes."""
    try:
        return bool(select.select([fd], [], [], 0)[0])
    except (OSError, ValueError):
        return True
