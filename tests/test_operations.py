import os
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

import psycopg
import pytest
from django.db import connection
from django.urls import reverse

from accounts.models import User
from quiz.middleware import client_address

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.django_db
def test_healthz_reports_dependencies(client):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert "broker" in body


@pytest.mark.django_db
def test_healthz_stays_200_when_broker_is_down(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json()["broker"].startswith("error")


@pytest.mark.django_db
def test_every_html_page_carries_a_strict_csp(client):
    response = client.get(reverse("accounts:login"))
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "style-src 'self'" in policy
    assert b" style=" not in response.content
    assert b"hx-on" not in response.content


def test_client_address_trusts_only_configured_proxies(rf):
    request = rf.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9")
    assert client_address(request, 0) == "10.0.0.1"
    assert client_address(request, 1) == "203.0.113.9"  # the spoofed left entry is ignored


def _check_deploy(extra_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    unset = {"SECRET_KEY", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE"}  # the browser tests set the last one
    env = {k: v for k, v in os.environ.items() if k not in unset}
    env.update({"DEBUG": "false", "ALLOWED_HOSTS": "exam.example.com", **extra_env})
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_passes_with_production_settings():
    result = _check_deploy({"SECRET_KEY": "x7#" + "kq9Zp2Lm4Rt8Vw1Yb6Nc3Hd5Jf0Gs" * 2})
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_deploy_fails_with_the_development_key():
    result = _check_deploy({})
    assert result.returncode != 0
    assert "security.W009" in result.stdout + result.stderr


@pytest.mark.postgres
@pytest.mark.django_db
def test_answer_saves_can_update_item_rows_in_place():
    """quiz 0003: free space on each page for HOT updates, and no index the unique constraint already covers."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = 'quiz_attemptitem'")
        assert "fillfactor=70" in (cursor.fetchone()[0] or [])
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'quiz_attemptitem'")
        single_column = [d for (d,) in cursor.fetchall() if d.endswith("(attempt_id)")]
    assert single_column == []


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_draw_can_read_its_pool_from_the_index_alone():
    """questions 0002: the pool index carries the id and current version the draw selects."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'question_pool_idx'")
        (definition,) = cursor.fetchone()
    assert definition.endswith("(exam_id, status, domain_id) INCLUDE (id, current_version_id)")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_health_check_of_an_idle_live_connection_sends_no_query():
    connection.ensure_connection()
    with mock.patch.object(psycopg.Connection, "cursor", side_effect=AssertionError("SELECT 1 sent")):
        assert connection.is_usable() is True


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_connection_the_server_dropped_fails_the_health_check_and_is_replaced():
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    params = connection.get_connection_params()
    with psycopg.connect(**params, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    deadline = time.monotonic() + 5
    while connection.is_usable() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert connection.is_usable() is False

    # What Django does at the start of each request with CONN_HEALTH_CHECKS on.
    connection.health_check_enabled, connection.health_check_done = True, False
    connection.close_if_health_check_failed()
    assert connection.connection is None
    assert User.objects.count() == 0  # reconnects
    assert connection.connection.info.backend_pid != pid


def _gunicorn_settings(monkeypatch: pytest.MonkeyPatch, argv: list[str], **env: str):
    """What gunicorn would run with, given this command line and environment."""
    from gunicorn.app.wsgiapp import WSGIApplication

    for name in ("PORT", "WEB_CONCURRENCY", "WEB_THREADS", "GUNICORN_CMD_ARGS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(sys, "argv", argv)
    return WSGIApplication().cfg


def test_the_procfile_web_process_runs_the_settings_the_benchmark_measured(monkeypatch):
    web = next(line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:"))
    cfg = _gunicorn_settings(monkeypatch, web.removeprefix("web:").split())
    assert (cfg.worker_class_str, cfg.workers, cfg.threads) == ("gthread", 4, 4)
    assert cfg.bind == ["0.0.0.0:8000"]
    assert (cfg.keepalive, cfg.timeout) == (30, 30)

    cfg = _gunicorn_settings(
        monkeypatch, web.removeprefix("web:").split(), PORT="9123", WEB_CONCURRENCY="2", WEB_THREADS="8"
    )
    assert (cfg.bind, cfg.workers, cfg.threads) == (["0.0.0.0:9123"], 2, 8)


def test_the_benchmark_defaults_to_the_production_gunicorn_settings():
    from bench.run import parse_args

    args = parse_args([])
    assert (args.workers, args.threads, args.worker_class) == (4, 4, "gthread")
