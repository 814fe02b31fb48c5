"""`make bench`: load-test the real stack (gunicorn, Celery worker and beat, PostgreSQL, Redis).

    .venv/bin/python bench/run.py --scenario all            # the targets' sizes (about 25 minutes)
    .venv/bin/python bench/run.py --scenario all --quick    # smoke sizes (a few minutes)
    .venv/bin/python bench/run.py --scenario deadline --quick --keep

Creates a throwaway PostgreSQL database, migrates it, loads the shipped bank,
prepares users with ready sessions, starts the processes on a free port, runs the
scenarios (bench/scenarios.py), prints figures and checks, then stops everything
and drops the database. Exit status 1 when a check failed. See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import runpy
import secrets
import shutil
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make the project importable
    sys.path.insert(0, str(ROOT))

from bench.stack import Stack, createdb, dropdb, free_port  # noqa: E402

if TYPE_CHECKING:
    from bench.scenarios import Outcome

NAMES = ["answer-rate", "saturation", "start-burst", "deadline", "steady"]
LETTERS = dict(zip("abcde", NAMES, strict=True))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--scenario", action="append", choices=[*NAMES, *LETTERS, "all"],
        help="a scenario (name or letter a-e), repeatable; default all",
    )  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="smoke-test sizes")
    web = runpy.run_path(str(ROOT / "gunicorn.conf.py"))  # production's settings are the defaults
    parser.add_argument(
        "--workers", type=int, default=web["workers"], help=f"gunicorn workers (default {web['workers']})"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=web["threads"],
        help=f"threads per gthread worker (default {web['threads']})",
    )
    parser.add_argument("--worker-class", default=web["worker_class"], choices=["gthread", "sync"])
    parser.add_argument("--celery-concurrency", type=int, default=2)
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--keep", action="store_true", help="keep the database and the process logs afterwards"
    )
    args = parser.parse_args(argv)
    chosen = args.scenario or ["all"]
    args.scenarios = NAMES if "all" in chosen else list(dict.fromkeys(LETTERS.get(s, s) for s in chosen))
    return args


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def machine() -> list[str]:
    import celery
    import django
    import gunicorn
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
    import redis
    from django.conf import settings

    redis_version = redis.Redis.from_url(settings.REDIS_URL).info("server")["redis_version"]
    meminfo = dict(
        line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines() if ":" in line
    )
    memory = int(meminfo["MemTotal"].split()[0]) / 1024 / 1024
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return [
        f"machine: {os.cpu_count()} cores (nproc {len(os.sched_getaffinity(0))}), {memory:.1f} GiB, "
        f"{platform.system()} {platform.release()}; load average before the run {load}",
        f"software: Python {platform.python_version()}, Django {django.get_version()}, "
        f"PostgreSQL {postgres}, Redis {redis_version}, gunicorn {gunicorn.__version__}, Celery {celery.__version__}",
    ]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    for tool in ("createdb", "dropdb"):
        if shutil.which(tool) is None:
            print(f"bench: `{tool}` (PostgreSQL client tools) is not on PATH", file=sys.stderr)
            return 2
    import redis

    try:
        redis.Redis.from_url(args.redis_url, socket_connect_timeout=2, socket_timeout=2).ping()
    except redis.RedisError as exc:
        print(f"bench: Redis at {args.redis_url} is not answering ({exc})", file=sys.stderr)
        return 2
    run_id = os.getpid()
    database = f"awsprep_bench_load_{run_id}"
    workdir = Path(tempfile.mkdtemp(prefix=f"awsprep-bench-{run_id}-"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "quiz.settings_bench",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{database}",
        "REDIS_URL": args.redis_url,
        "CELERY_BROKER_URL": args.redis_url,
        "CELERY_RESULT_BACKEND": args.redis_url,
        "BENCH_STATIC_ROOT": str(workdir / "static"),
        "BENCH_CELERY_QUEUE": f"awsprep-bench-{run_id}",
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    stack = Stack(
        env=env, workdir=workdir, port=free_port(), web_workers=args.workers, worker_class=args.worker_class,
        threads=args.threads, celery_concurrency=args.celery_concurrency,
    )  # fmt: skip
    outcomes: list[Outcome] = []
    started = time.monotonic()
    created = False
    try:
        createdb(database)
        created = True
        import django

        django.setup()
        from django.conf import settings

        from bench import setup
        from bench.scenarios import SCENARIOS, Context, Outcome

        print(
            f"==> bench ({'quick smoke sizes' if args.quick else 'full sizes'}): {', '.join(args.scenarios)}"
        )
        print(
            f"    database {database}, Redis {args.redis_url} (queue {env['BENCH_CELERY_QUEUE']}), logs {workdir}"
        )
        prepared = time.monotonic()
        setup.prepare_database()
        print(
            f"    migrated, loaded the bank and collected static files in {time.monotonic() - prepared:.0f} s"
        )
        for line in machine():
            print("    " + line)
        stack.start()
        print(
            f"    gunicorn on 127.0.0.1:{stack.port}: {args.workers} workers x {args.worker_class}"
            + (f" {args.threads} threads" if args.worker_class == "gthread" else "")
            + f"; Celery worker concurrency {args.celery_concurrency}; beat (finalise every "
            + f"{settings.CELERY_BEAT_SCHEDULE['finalize-expired-attempts']['schedule']:.0f} s)",
            flush=True,
        )
        wait_for_worker()
        ctx = Context(port=stack.port, quick=args.quick, csrf=secrets.token_hex(16), seed=args.seed)
        for name in args.scenarios:
            print(flush=True)
            began = time.monotonic()
            try:
                outcome = SCENARIOS[name](ctx)
            except Exception:  # noqa: BLE001 - one broken scenario must not cost the others
                traceback.print_exc()
                outcome = Outcome(name)
                outcome.check("the scenario ran to the end", False)
            dead = stack.check_alive()
            if dead:
                outcome.check(f"processes still running after the scenario ({', '.join(dead)} died)", False)
            print(f"  ({name} took {time.monotonic() - began:.0f} s)", flush=True)
            outcomes.append(outcome)
    finally:
        stack.stop()
        if created:
            from django.db import connections

            connections.close_all()
            forget_queue(args.redis_url, env["BENCH_CELERY_QUEUE"])
            if args.keep:
                print(f"kept database {database} and logs in {workdir}")
            else:
                dropdb(database)
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"\n==> summary ({time.monotonic() - started:.0f} s{', quick smoke sizes' if args.quick else ''})")
    for outcome in outcomes:
        failed = [text for text, ok in outcome.checks if not ok]
        print(f"  {outcome.name:12} {'PASS' if not failed else 'FAIL: ' + '; '.join(failed)}")
    return 0 if outcomes and all(o.passed for o in outcomes) else 1


def wait_for_worker(timeout: float = 60) -> None:
    """A round trip through Redis and the Celery worker before any load."""
    from quiz.tasks import ping

    result = ping.apply_async((21,))
    if result.get(timeout=timeout) != 42:
        raise RuntimeError("the Celery worker answered the ping wrongly")
    result.forget()


def forget_queue(redis_url: str, queue: str) -> None:
    """Remove this run's queue and kombu's binding keys for it (the name is unique to the run)."""
    import redis

    with contextlib.suppress(redis.RedisError):
        client = redis.Redis.from_url(redis_url, socket_timeout=2)
        keys = [queue, *client.scan_iter(match=f"_kombu.binding*.{queue}")]
        client.delete(*keys)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\nbench: interrupted (processes stopped, database dropped)", file=sys.stderr)
        sys.exit(130)
