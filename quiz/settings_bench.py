"""Settings for `make bench` (bench/run.py): production-like, on plain HTTP over loopback.

The harness sets DATABASE_URL (a throwaway database), REDIS_URL, BENCH_STATIC_ROOT
and BENCH_CELERY_QUEUE before anything imports this module; gunicorn, the Celery
worker and beat inherit them. Never used outside the benchmark.
"""

from __future__ import annotations

import os
from pathlib import Path

from quiz.settings import *  # noqa: F403
from quiz.settings import BASE_DIR, LOGGING, MIDDLEWARE, STORAGES

DEBUG = False
# A fixed, public, throwaway key: the benchmark database is dropped after the run.
SECRET_KEY = "bench-only-throwaway-key-not-secret-9f3c1e7a5b2d4c6e8a0b1d3f5e7c9a2b"
ALLOWED_HOSTS = ["127.0.0.1"]
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = False

# The app's URLs plus a no-database ping view, and a per-request query counter
# (X-Queries response header) outside everything else so it sees every query.
ROOT_URLCONF = "bench.urls"
MIDDLEWARE = ["bench.middleware.QueryCountMiddleware", *MIDDLEWARE]

# Production static storage (hashed names from a manifest), collected into the run's temp dir.
STATIC_ROOT = Path(os.environ.get("BENCH_STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# One queue per run, so two runs sharing a Redis database never take each other's tasks.
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("BENCH_CELERY_QUEUE", "awsprep-bench")

LOGGING = {
    **LOGGING,
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
