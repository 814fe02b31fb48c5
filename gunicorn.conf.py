"""gunicorn settings: the Procfile's web process, `make bench` and `make chaos` all use them.

gunicorn reads this file from the working directory by itself. Command-line flags
override it (the harnesses pass ``--bind``). Environment:

- ``PORT`` (default 8000): the port to listen on, on every interface.
- ``WEB_CONCURRENCY`` (default 4): worker processes.
- ``WEB_THREADS`` (default 4): threads per worker.

Four workers of four threads is what `make bench` measured on two cores (see
docs/benchmarks.md): sixteen requests in flight, where three single-threaded
workers would queue every answer save behind the three slowest pages.
"""

import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "4"))
# Idle connections stay open 30 s: a taker saving every few seconds reuses one, and
# a gthread worker parks idle connections without holding a thread.
keepalive = 30
# A request that runs longer than this is stuck: the worker is killed and replaced.
timeout = 30
