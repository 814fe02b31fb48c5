"""Housekeeping for accounts, run by Celery beat."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from accounts.models import UserSession


@shared_task(ignore_result=True)
def clear_expired_sessions() -> int:
    """Delete sessions past their expiry (Django never does it by itself); returns how many."""
    deleted, _ = UserSession.objects.filter(expire_date__lt=timezone.now()).delete()
    return deleted
