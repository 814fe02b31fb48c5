"""Values from a raw cursor, read the same way on PostgreSQL and SQLite."""

from __future__ import annotations

import datetime as dt

from django.utils.dateparse import parse_datetime


def aware_datetime(value: dt.datetime | str | None) -> dt.datetime | None:
    """PostgreSQL's timestamptz arrives as an aware datetime, SQLite's as a naive UTC string."""
    parsed = parse_datetime(value) if isinstance(value, str) else value
    return parsed.replace(tzinfo=dt.UTC) if parsed and parsed.tzinfo is None else parsed
