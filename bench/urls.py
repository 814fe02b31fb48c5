"""The app's URLs plus ``bench/ping``: the same stack, minus the database."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import include, path


def ping(request: HttpRequest) -> HttpResponse:
    """Baseline: every middleware runs, no view work, no query."""
    return HttpResponse(b"pong", content_type="text/plain")


urlpatterns = [
    path("bench/ping", ping, name="bench_ping"),
    path("", include("quiz.urls")),
]
