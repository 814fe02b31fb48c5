"""Outage lengths, from the environment (chaos/run.sh passes them; QUICK=1 shortens them)."""

from __future__ import annotations

import os


def seconds(name: str, default: float) -> float:
    return float(os.environ.get(name) or default)


QUICK = os.environ.get("QUICK", "") not in {"", "0"}
REDIS_OUTAGE = seconds("CHAOS_REDIS_OUTAGE", 20 if QUICK else 60)
PG_OUTAGE = seconds("CHAOS_PG_OUTAGE", 8 if QUICK else 20)
OFFLINE_SECONDS = seconds("CHAOS_OFFLINE_SECONDS", 15 if QUICK else 120)
