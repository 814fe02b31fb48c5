"""Races that only a real PostgreSQL can show: parallel starts, saves racing a submit, double submits."""

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from quiz import services
from quiz.models import Attempt
from tests.factories import UserFactory, make_exam

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_parallel(n: int, target: Callable[[int], Any]) -> tuple[list[Any], list[BaseException]]:
    barrier = threading.Barrier(n)
    results: list[Any] = []
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            barrier.wait()
            results.append(target(i))
        except BaseException as exc:  # noqa: BLE001 - collected and asserted on
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results, errors


def test_twenty_parallel_starts_give_one_open_attempt():
    exam = make_exam()
    user = UserFactory()
    results, errors = run_parallel(
        20,
        lambda i: (
            services.attempt_start(
                user=user, exam=exam, options=services.StartOptions(mode="full"), now=timezone.now()
            ).pk
        ),
    )
    assert errors == []
    assert len(set(results)) == 1
    assert Attempt.objects.filter(user=user, status="open").count() == 1


def test_two_concurrent_submits_give_one_result():
    exam = make_exam()
    user = UserFactory()
    attempt = services.attempt_start(
        user=user, exam=exam, options=services.StartOptions(mode="full"), now=timezone.now()
    )
    results, errors = run_parallel(
        2, lambda i: services.attempt_submit(user=user, attempt_id=attempt.pk, now=timezone.now())
    )
    assert errors == []
    assert len({(a.submitted_at, a.scaled_score) for a in results}) == 1


def test_saves_racing_a_submit_leave_score_equal_to_stored_answers():
    exam = make_exam()
    user = UserFactory()
    attempt = services.attempt_start(
        user=user, exam=exam, options=services.StartOptions(mode="full"), now=timezone.now()
    )
    items = list(attempt.items.select_related("version"))

    def act(i: int) -> Any:
        if i == len(items):
            return services.attempt_submit(user=user, attempt_id=attempt.pk, now=timezone.now())
        item = items[i]
        key = item.version.correct_indexes()
        tokens = [t for t, idx in zip(item.choice_tokens, item.choice_order, strict=True) if idx in key]
        try:
            return services.answer_save(
                user=user,
                attempt_id=attempt.pk,
                position=item.position,
                tokens=tokens,
                seq=1,
                now=timezone.now(),
            )
        except services.AnswerRefused as refused:
            return refused.code

    results, errors = run_parallel(len(items) + 1, act)
    assert errors == []
    attempt.refresh_from_db()
    stored = list(attempt.items.select_related("version"))
    assert attempt.scored_correct == sum(1 for i in stored if i.scored and i.grade())
    assert all(i.correct == i.grade() for i in stored)


def test_two_sessions_saving_one_question_keep_the_newest():
    exam = make_exam()
    user = UserFactory()
    attempt = services.attempt_start(
        user=user, exam=exam, options=services.StartOptions(mode="full"), now=timezone.now()
    )
    item = attempt.items.get(position=0)

    def save(i: int) -> Any:
        try:
            return services.answer_save(
                user=user,
                attempt_id=attempt.pk,
                position=0,
                tokens=[item.choice_tokens[i % 4]],
                seq=i + 1,
                now=timezone.now(),
            ).seq
        except services.AnswerRefused as refused:
            return refused.code

    results, errors = run_parallel(8, save)
    assert errors == []
    item.refresh_from_db()
    assert item.seq == 8
    assert item.selected == item.indexes_for_tokens([item.choice_tokens[7 % 4]])


def test_moves_saves_and_a_submit_on_one_attempt_never_deadlock():
    """Every writer takes the attempt row before the item rows (note_position too), so no cycle."""
    exam = make_exam()
    user = UserFactory()
    for _ in range(4):
        attempt = services.attempt_start(
            user=user, exam=exam, options=services.StartOptions(mode="full"), now=timezone.now()
        )
        items = list(attempt.items.order_by("position")[:2])

        def act(i: int, attempt: Attempt = attempt, items: list = items) -> Any:
            if i == 8:
                return services.attempt_submit(user=user, attempt_id=attempt.pk, now=timezone.now())
            if i % 2:
                fresh = Attempt.objects.get(pk=attempt.pk)
                return services.note_position(
                    attempt=fresh, position=1 - fresh.current_position, now=timezone.now()
                )
            item = items[(i // 2) % 2]
            try:
                return services.answer_save(
                    user=user,
                    attempt_id=attempt.pk,
                    position=item.position,
                    tokens=item.choice_tokens[:1],
                    seq=i + 1,
                    now=timezone.now(),
                )
            except services.AnswerRefused as refused:
                return refused.code

        results, errors = run_parallel(9, act)
        assert errors == []
        attempt.refresh_from_db()
        stored = list(attempt.items.select_related("version"))
        assert attempt.status == "submitted"
        assert attempt.scored_correct == sum(1 for i in stored if i.scored and i.grade())
