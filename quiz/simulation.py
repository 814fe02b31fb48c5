"""Is the report right? Synthetic learners with known abilities take full mocks.

Each learner's true per-domain ability is drawn uniformly from 40% to 95%. The
learner takes full mocks built by the real assembly code, answers each question
correctly with their true ability for its domain, and the real scoring and
report code run. We then ask: does the report's weakest domain match the truly
weakest one, and is its pass probability better calibrated than a naive guess
("you will pass if you passed your last mock")?
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from accounts.models import User
from questions.models import Choice, Domain, Exam, Question, Tag
from quiz import services
from quiz.models import Attempt, AttemptItem
from quiz.reports import report_compute

GAP = 0.15


def synthetic_exam(code: str = "SIM-C01", per_domain: int = 100) -> Exam:
    """An exam with the SAA-C03 blueprint and enough placeholder questions for many mocks."""
    exam = Exam.objects.filter(code=code).first()
    if exam:
        return exam
    exam = Exam.objects.create(
        code=code, name="Simulation exam", question_count=65, unscored_count=15, duration_minutes=130,
        passing_score=720, passing_raw_percent=72,
    )  # fmt: skip
    tag, _ = Tag.objects.get_or_create(kind=Tag.Kind.SERVICE, name="Simulated service")
    for number, weight in enumerate((30, 26, 24, 20), start=1):
        domain = Domain.objects.create(exam=exam, number=number, name=f"Domain {number}", weight=weight)
        for n in range(per_domain):
            q = Question.objects.create(
                external_id=f"{code}-D{number}-{n:03d}", exam=exam, domain=domain, stem=f"Simulated {number}.{n}",
                explanation="x", status="published", provenance="beyond seeds", origin="admin",
            )  # fmt: skip
            Choice.objects.bulk_create(
                Choice(question=q, position=i, text=f"o{i}", correct=i == 0, rationale="r") for i in range(4)
            )
            q.tags.add(tag)
            q.sync_version()
    return exam


def take_mock(
    user: User, exam: Exam, abilities: dict[int, float], rng: random.Random, now: dt.datetime
) -> Attempt:
    attempt = services.attempt_start(
        user=user, exam=exam, options=services.StartOptions(mode="full"), now=now, seed=rng.getrandbits(32)
    )
    items = list(attempt.items.select_related("version"))
    for item in items:
        key = sorted(item.version.correct_indexes())
        wrong = [i for i in range(len(item.version.data["choices"])) if i not in key]
        item.selected = key if rng.random() < abilities[item.domain_number] else [rng.choice(wrong)]
        item.seq = 1
        item.answered_at = now
    AttemptItem.objects.bulk_update(items, ["selected", "seq", "answered_at"])
    return services.attempt_submit(user=user, attempt_id=attempt.pk, now=now + dt.timedelta(minutes=100))


def _pass_mark(exam: Exam) -> int:
    return round(exam.passing_raw_percent / 100 * exam.scored_count)


def real_exam_passes(exam: Exam, abilities: dict[int, float], rng: random.Random) -> bool:
    counts = exam.domain_counts(exam.scored_count)
    correct = sum(rng.random() < abilities[d] for d, n in counts.items() for _ in range(n))
    return correct >= _pass_mark(exam)


def real_exam_pass_probability(exam: Exam, abilities: dict[int, float]) -> float:
    """The exact chance that a learner with these abilities passes the real exam.

    The distribution of the number correct, built one question at a time. Calibration
    judged against this has none of the noise of one simulated sitting per learner.
    """
    counts = exam.domain_counts(exam.scored_count)
    dist = [1.0]  # dist[k]: probability of k correct so far
    for domain, n in counts.items():
        p = abilities[domain]
        for _ in range(n):
            dist = [a * (1 - p) + b * p for a, b in zip([*dist, 0.0], [0.0, *dist], strict=True)]
    return sum(dist[_pass_mark(exam) :])


@dataclass
class SimulationResult:
    learners: int
    eligible: int
    weakest_found: dict[int, float] = field(default_factory=dict)
    brier: float = 0.0
    brier_naive: float = 0.0
    reliability: list[dict[str, Any]] = field(default_factory=list)
    error_vs_true: float = 0.0  # mean |predicted - true pass probability| over learners
    naive_error_vs_true: float = 0.0  # the same for "you will pass if you passed your last mock"


def simulate(*, learners: int, mocks: int = 3, seed: int = 2026, prefix: str = "sim") -> SimulationResult:
    rng = random.Random(seed)
    exam = synthetic_exam(per_domain=max(20 * mocks + 10, 40))
    start = timezone.now()
    found = dict.fromkeys(range(1, mocks + 1), 0)
    eligible = 0
    predictions: list[tuple[float, float, bool, float]] = []
    for n in range(learners):
        user = User.objects.create_user(email=f"{prefix}-{seed}-{n}@example.invalid", password=None)
        abilities = {d: rng.uniform(0.40, 0.95) for d in range(1, 5)}
        ordered = sorted(abilities.values())
        truly_weakest = min(abilities, key=lambda d: abilities[d])
        is_eligible = ordered[1] - ordered[0] >= GAP
        eligible += is_eligible
        last: Attempt | None = None
        data: dict[str, Any] = {}
        for m in range(1, mocks + 1):
            now = start + dt.timedelta(hours=m)
            last = take_mock(user, exam, abilities, rng, now)
            data = report_compute(user_id=user.pk, exam_id=exam.pk, now=now + dt.timedelta(hours=2))
            weakest = min(data["domains"], key=lambda d: d["mastery"])["number"]
            if is_eligible and weakest == truly_weakest:
                found[m] += 1
        outcome = real_exam_passes(exam, abilities, rng)
        chance = real_exam_pass_probability(exam, abilities)
        assert last is not None
        predictions.append(
            (data["readiness"]["pass_probability"], 1.0 if last.passed else 0.0, outcome, chance)
        )
    brier = sum((p - o) ** 2 for p, _, o, _ in predictions) / len(predictions)
    naive = sum((b - o) ** 2 for _, b, o, _ in predictions) / len(predictions)
    bins = []
    for low in (0.0, 0.2, 0.4, 0.6, 0.8):
        members = [
            (p, o, t) for p, _, o, t in predictions if low <= p < low + 0.2 or (low == 0.8 and p == 1.0)
        ]
        if members:
            bins.append(
                {
                    "predicted": f"{low:.1f}-{low + 0.2:.1f}",
                    "learners": len(members),
                    "mean_predicted": round(sum(p for p, _, _ in members) / len(members), 3),
                    "observed_pass_rate": round(sum(o for _, o, _ in members) / len(members), 3),
                    "true_pass_probability": round(sum(t for _, _, t in members) / len(members), 3),
                }
            )
    return SimulationResult(
        error_vs_true=sum(abs(p - t) for p, _, _, t in predictions) / len(predictions),
        naive_error_vs_true=sum(abs(b - t) for _, b, _, t in predictions) / len(predictions),
        learners=learners,
        eligible=eligible,
        weakest_found={m: (found[m] / eligible if eligible else 0.0) for m in found},
        brier=brier,
        brier_naive=naive,
        reliability=bins,
    )
