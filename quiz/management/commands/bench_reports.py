import datetime as dt
import random
import statistics
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import User
from quiz.itemstats import item_stats_refresh
from quiz.models import Attempt, AttemptItem
from quiz.reports import recency_basis, report_compute, report_refresh
from quiz.simulation import synthetic_exam
from quiz.spacing import review_schedule


class Command(BaseCommand):
    help = (
        "Build synthetic answers and time report computation (one report, and all) and the item analysis. "
        "Data is rolled back."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--users", type=int, default=10)
        parser.add_argument("--answers-per-user", type=int, default=10_000)
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args: Any, **options: Any) -> None:
        rng = random.Random(options["seed"])
        users, per_user = options["users"], options["answers_per_user"]
        with transaction.atomic():
            built = time.perf_counter()
            exam = synthetic_exam("BENCH-C01", per_domain=40)
            questions = list(exam.questions.values_list("pk", "current_version_id", "domain__number"))
            now = timezone.now()
            user_ids = []
            for n in range(users):
                user = User.objects.create_user(email=f"bench-{n}@example.invalid", password=None)
                user_ids.append(user.pk)
                attempts = []
                for _ in range(-(-per_user // 65)):
                    when = now - dt.timedelta(days=rng.uniform(0, 90))
                    attempts.append(
                        Attempt(
                            user=user, exam=exam, mode="full", status="submitted", started_at=when,
                            submitted_at=when + dt.timedelta(minutes=100), question_count=65,
                        )
                    )  # fmt: skip
                Attempt.objects.bulk_create(attempts, batch_size=2000)
                items = []
                left = per_user
                for attempt in attempts:
                    for position, (qid, vid, domain) in enumerate(rng.sample(questions, min(65, left))):
                        correct = rng.random() < 0.7
                        items.append(
                            AttemptItem(
                                attempt=attempt, user=user, exam=exam, position=position, question_id=qid, version_id=vid,
                                domain_number=domain, choice_order=[0, 1, 2, 3], choice_tokens=["a", "b", "c", "d"],
                                selected=[0] if correct else [1], correct=correct, seq=1,
                                answered_at=attempt.started_at, time_spent_ms=rng.randint(20_000, 200_000),
                                counted_at=attempt.started_at, recency_basis=recency_basis(attempt.started_at),
                            )
                        )  # fmt: skip
                    left -= 65
                    if left <= 0:
                        break
                AttemptItem.objects.bulk_create(items, batch_size=5000)
            built = time.perf_counter() - built
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("ANALYZE quiz_attemptitem; ANALYZE quiz_attempt")
            one = []
            for _ in range(5):
                started = time.perf_counter()
                report_compute(user_id=user_ids[0], exam_id=exam.pk, now=now)
                one.append(time.perf_counter() - started)
            spaced = []
            for _ in range(5):
                started = time.perf_counter()
                review_schedule(user_ids[0], exam.pk)
                spaced.append(time.perf_counter() - started)
            started = time.perf_counter()
            for user_id in user_ids:
                report_refresh(user_id=user_id, exam_id=exam.pk, now=now)
            every = time.perf_counter() - started
            started = time.perf_counter()
            versions = item_stats_refresh(now=now)
            analysis = time.perf_counter() - started
            transaction.set_rollback(True)
        self.stdout.write(
            f"database: {connection.vendor}; {users} users x {per_user} answers (built in {built:.1f} s)"
        )
        self.stdout.write(
            f"one report over {per_user} answers: median {statistics.median(one) * 1000:.1f} ms "
            f"(min {min(one) * 1000:.1f}, max {max(one) * 1000:.1f}, 5 runs)"
        )
        self.stdout.write(
            f"  of which the spaced-review schedule: median {statistics.median(spaced) * 1000:.1f} ms"
        )
        self.stdout.write(
            f"all {users} reports (compute and store): {every:.2f} s, {every / users * 1000:.1f} ms each"
        )
        self.stdout.write(
            f"item analysis over all {users * per_user} answers ({versions} versions): {analysis:.2f} s"
        )
