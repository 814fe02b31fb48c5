from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from quiz.health import broker_state, database_state


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """200 whenever this process can serve; dependency state is in the body.

    A broker or database outage must not take every web node out of the load
    balancer, so only the process itself decides the status code.
    """
    return JsonResponse({"status": "ok", "database": database_state(), "broker": broker_state()})


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "quiz/home.html")


@login_required
def start(request: HttpRequest) -> HttpResponse:
    return render(request, "quiz/start.html")


@login_required
def history(request: HttpRequest) -> HttpResponse:
    return render(request, "quiz/history.html")
