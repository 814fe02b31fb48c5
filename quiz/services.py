"""Writes that touch several models: start, save, check, flag, submit, abandon, correct a key.

Each takes keyword arguments and an explicit ``now`` so tests control time.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import secrets
from collections import defaultdict
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Max, Model

from accounts.models import User
from questions.models import Exam, Question, QuestionVersion
from quiz import assembly, inserts, spacing
from quiz.itemstats import item_stats_refresh
from quiz.labels import attempt_label
from quiz.models import Attempt, AttemptItem, KeyCorrection, Report
from quiz.rawsql import aware_datetime
from quiz.scoring import passes, scaled_score

log = logging.getLogger(__name__)


class AnswerRefused(Exception):
    """A save the server will not record. ``code`` tells the page why."""

    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.remaining: int | None = None  # seconds left on the attempt's clock, when known


@dataclass
class StartOptions:
    mode: str
    count: int | None = None
    domains: list[int] | None = None
    tag_ids: list[int] | None = None
    timed: bool = True
    include_pilot: bool = True


def open_attempt(user: User, exam: Exam) -> Attempt | None:
    return Attempt.objects.filter(user=user, exam=exam, status=Attempt.Status.OPEN).first()


def _duration(exam: Exam, user: User, count: int) -> dt.timedelta:
    """Exam time (plus the user's allowance), scaled to the number of questions."""
    minutes = (exam.duration_minutes + user.extra_time_minutes) * count / exam.question_count
    return dt.timedelta(minutes=minutes)


def attempt_start(
    *, user: User, exam: Exam, options: StartOptions, now: dt.datetime, seed: int | None = None
) -> Attempt:
    """Start an attempt, or return the user's open one for this exam.

    Raises :class:`assembly.NotEnoughQuestions` when the bank cannot fill it, and
    :class:`spacing.NothingDue` when "Retry my mistakes" has nothing due.
    """
    existing = open_attempt(user, exam)
    if existing is not None:
        return existing
    rng = random.Random(seed if seed is not None else secrets.randbits(64))
    mode = options.mode
    if mode == Attempt.Mode.FULL:
        pilot = exam.unscored_count if options.include_pilot else 0
        plan = assembly.plan_weighted(exam, user.pk, scored=exam.scored_count, pilot=pilot, rng=rng)
        count, timed, include_pilot = exam.scored_count + pilot, True, bool(pilot)
    elif mode == Attempt.Mode.MISTAKES:
        schedule = spacing.review_schedule(user.pk, exam.pk, domains=options.domains, tag_ids=options.tag_ids)
        due = schedule.due(now)[: options.count or exam.question_count]
        if not due:
            raise spacing.NothingDue(schedule.upcoming(now))
        ids = [card.question_id for card in due]
        plan = assembly.plan_from_ids(ids)
        count, timed, include_pilot = len(ids), options.timed, False
    else:
        count = max(1, min(options.count or 10, exam.question_count))
        if not options.tag_ids:
            plan = assembly.plan_weighted(
                exam, user.pk, scored=count, pilot=0, domains=options.domains, rng=rng
            )
        else:
            plan = assembly.plan_any(
                exam, user.pk, count=count, domains=options.domains, tag_ids=options.tag_ids, rng=rng
            )
        timed = options.timed and mode == Attempt.Mode.DRILL
        include_pilot = False
    items = assembly.build_items(plan, rng=rng)
    try:
        with transaction.atomic():
            attempt = Attempt.objects.create(
                user=user,
                exam=exam,
                mode=mode,
                started_at=now,
                deadline=now + _duration(exam, user, count) if timed else None,
                question_count=len(items),
                include_pilot=include_pilot,
                settings={"domains": options.domains or [], "tag_ids": options.tag_ids or []},
                current_since=now,
            )
            inserts.insert_items(attempt, items)
            inserts.mark_seen(user.pk, [item.question_id for item in items], now)
    except IntegrityError:
        # A concurrent Start won the race for the one open attempt: resume it.
        existing = open_attempt(user, exam)
        if existing is None:
            raise
        return existing
    return attempt


def _lock(attempt_id: int, user: User) -> Attempt:
    return Attempt.objects.select_for_update().get(pk=attempt_id, user=user)


def note_position(*, attempt: Attempt, position: int, now: dt.datetime) -> None:
    """Credit the time since the last move to the question that was on screen."""
    if not attempt.is_open:
        return
    previous, since = attempt.current_position, attempt.current_since or now
    spent = int(min(max((now - since).total_seconds(), 0), 30 * 60) * 1000)
    # The attempt row first, then the item: the order every writer of an attempt
    # uses (submit, check, flag, save), so two of them can never deadlock.
    with transaction.atomic():
        moved = Attempt.objects.filter(pk=attempt.pk, status=Attempt.Status.OPEN).update(
            current_position=position, current_since=now
        )
        if spent and moved:
            from django.db.models import F

            AttemptItem.objects.filter(attempt=attempt, position=previous).update(
                time_spent_ms=F("time_spent_ms") + spent
            )
    attempt.current_position, attempt.current_since = position, now


# The answer save is the hot path (every click of every taker), so it is two
# hand-written statements in autocommit instead of ORM queries in a transaction:
# compiling the ORM's queries cost about a third of the request's CPU, and BEGIN and
# COMMIT two more round trips. tests/test_exam.py and tests/test_concurrency.py cover it.
_SAVE_READ = """
    SELECT a.status, a.deadline, i.id, i.seq, i.checked, i.choice_tokens, i.choice_order, {choose}
      FROM quiz_attemptitem i
      JOIN quiz_attempt a ON a.id = i.attempt_id
      JOIN questions_questionversion v ON v.id = i.version_id
     WHERE i.attempt_id = %s AND i.position = %s AND i.user_id = %s
"""
# One statement re-checks everything that may have changed since the read. The
# sub-select takes a key-share lock on the attempt row: it waits for a submit that
# holds the row (FOR UPDATE) and then sees the attempt closed, so no answer can land
# between submit reading the answers and its commit; saves do not block each other.
# seq and checked are checked on the item row as it is when the write happens.
_SAVE_WRITE = """
    UPDATE quiz_attemptitem SET selected = %s, seq = %s, answered_at = %s
     WHERE id = %s AND seq < %s AND NOT checked
       AND EXISTS (SELECT 1 FROM quiz_attempt a
                    WHERE a.id = %s AND a.status = 'open' AND (a.deadline IS NULL OR a.deadline >= %s){lock})
"""


def answer_save(
    *, user: User, attempt_id: int, position: int, tokens: list[str], seq: int, now: dt.datetime
) -> AttemptItem:
    """Record the options chosen for one question: a plain read, then one guarded write.

    Refused (and nothing written) when the attempt is not open, the deadline
    plus grace has passed, ``seq`` is not newer than the last accepted save,
    a token is foreign, too many options are chosen, or the answer was checked.
    Raises ``AttemptItem.DoesNotExist`` for anyone else's attempt.
    """
    item, choose = _item_for_save(user, attempt_id, position)
    try:
        return _write_answer(item, choose, user=user, tokens=tokens, seq=seq, now=now)
    except AnswerRefused as refused:
        refused.remaining = item.attempt.remaining_seconds(now)  # the page resyncs its clock
        raise


def _write_answer(
    item: AttemptItem, choose: int, *, user: User, tokens: list[str], seq: int, now: dt.datetime
) -> AttemptItem:
    attempt_id, position = item.attempt.pk, item.position
    _refuse_if_not_writable(item, seq, now)
    indexes = item.indexes_for_tokens(tokens)
    if indexes is None:
        raise AnswerRefused("invalid", "That option does not belong to this question.", 422)
    if len(indexes) > choose:
        raise AnswerRefused("too_many", f"Choose at most {choose}.", 422)
    cutoff = now - dt.timedelta(seconds=settings.ANSWER_GRACE_SECONDS)
    lock = " FOR KEY SHARE" if connection.features.has_select_for_update else ""
    with connection.cursor() as cursor:
        cursor.execute(
            _SAVE_WRITE.format(lock=lock),
            [json.dumps(indexes), seq, connection.ops.adapt_datetimefield_value(now), item.pk, seq,
             attempt_id, connection.ops.adapt_datetimefield_value(cutoff)],
        )  # fmt: skip
        written = cursor.rowcount
    if not written:
        # Something changed between the read and the write: say what, from a fresh read.
        item, _ = _item_for_save(user, attempt_id, position)
        _refuse_if_not_writable(item, seq, now)
        raise AnswerRefused("stale", "A newer answer for this question was already saved.", 409)
    item.selected, item.seq, item.answered_at = indexes, seq, now
    return item


def _item_for_save(user: User, attempt_id: int, position: int) -> tuple[AttemptItem, int]:
    """The item (with its attempt's status and deadline) and how many options it takes."""
    with connection.cursor() as cursor:
        # JSON_EXTRACT for SQLite: its ->> operator needs 3.38 or later.
        choose = (
            "v.data ->> 'choose'" if connection.vendor == "postgresql" else "JSON_EXTRACT(v.data, '$.choose')"
        )
        cursor.execute(_SAVE_READ.format(choose=choose), [attempt_id, position, user.pk])
        row = cursor.fetchone()
    if row is None:
        raise AttemptItem.DoesNotExist
    status, deadline, item_id, seq, checked, tokens_json, order_json, choose = row
    attempt = _loaded(Attempt, id=attempt_id, status=status, deadline=aware_datetime(deadline))
    item = _loaded(
        AttemptItem, id=item_id, attempt_id=attempt_id, position=position, seq=seq, checked=bool(checked),
        choice_tokens=json.loads(tokens_json), choice_order=json.loads(order_json),
    )  # fmt: skip
    item.attempt = attempt
    return item, int(choose or 1)


def _loaded[M: Model](model: type[M], **values: Any) -> M:
    """An instance with only these fields loaded (the rest deferred), as a queryset would build it.

    ``Model(**kwargs)`` would compute a default for every other field; on the answer
    save, the hottest path, that was a tenth of the CPU.
    """
    names = [f.attname for f in model._meta.concrete_fields if f.attname in values]
    return model.from_db(connection.alias, names, [values[name] for name in names])


def _refuse_if_not_writable(item: AttemptItem, seq: int, now: dt.datetime) -> None:
    if not item.attempt.is_open:
        raise AnswerRefused("closed", "This attempt has ended; the answer was not saved.", 409)
    if not item.attempt.accepts_answers_at(now):
        raise AnswerRefused(
            "too_late", "Time is up: this answer arrived after the deadline and was not saved.", 409
        )
    if item.checked:
        raise AnswerRefused("checked", "This answer was checked and can no longer change.", 409)
    if seq <= item.seq:
        raise AnswerRefused("stale", "A newer answer for this question was already saved.", 409)


def item_flag(*, user: User, attempt_id: int, position: int, flagged: bool) -> AttemptItem:
    with transaction.atomic():
        attempt = _lock(attempt_id, user)
        item = AttemptItem.objects.get(attempt=attempt, position=position)
        if not attempt.is_open:
            raise AnswerRefused("closed", "This attempt has ended.", 409)
        item.flagged = flagged
        item.save(update_fields=["flagged"])
    return item


def answer_check(*, user: User, attempt_id: int, position: int, now: dt.datetime) -> AttemptItem:
    """Practice mode: lock the answer and reveal correctness and explanations."""
    with transaction.atomic():
        attempt = _lock(attempt_id, user)
        item = AttemptItem.objects.select_related("version").get(attempt=attempt, position=position)
        if not attempt.is_open or not attempt.can_check_answers():
            raise AnswerRefused(
                "not_allowed", "Answers can be checked only in an open practice attempt.", 409
            )
        if not item.selected:
            raise AnswerRefused("unanswered", "Choose an answer before checking it.", 422)
        if not item.checked:
            item.checked = True
            item.correct = item.grade()
            item.count_at(now)
            item.save(update_fields=["checked", "correct", "counted_at", "recency_basis"])
    return item


def mark_report_stale(*, user_id: int, exam_id: int, now: dt.datetime) -> None:
    """Record, in the caller's transaction, that the report needs recomputing; enqueue after commit."""
    Report.objects.bulk_create(
        [Report(user_id=user_id, exam_id=exam_id, stale=True, stale_since=now)],
        update_conflicts=True,
        unique_fields=["user", "exam"],
        update_fields=["stale", "stale_since"],
    )
    from quiz.tasks import enqueue_report

    transaction.on_commit(partial(enqueue_report, user_id, exam_id), robust=True)


def _score(attempt: Attempt, items: list[AttemptItem]) -> None:
    exam = attempt.exam
    per_domain: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for item in items:
        item.correct = item.grade()
        if item.scored:
            per_domain[item.domain_number][1] += 1
            per_domain[item.domain_number][0] += int(item.correct)
    total = sum(t for _, t in per_domain.values())
    correct = sum(c for c, _ in per_domain.values())
    names = {d.number: d.name for d in exam.domains.all()}
    bar = exam.passing_raw_percent / 100
    attempt.scored_total = total
    attempt.scored_correct = correct
    attempt.scaled_score = scaled_score(exam, correct / total if total else 0)
    attempt.passed = passes(exam, attempt.scaled_score) if attempt.mode == Attempt.Mode.FULL else None
    attempt.domain_results = [
        {
            "number": number,
            "name": names.get(number, f"Domain {number}"),
            "correct": c,
            "total": t,
            "label": attempt_label(c, t, bar),
        }
        for number, (c, t) in sorted(per_domain.items())
    ]


def _update_grouped(items: list[AttemptItem], fields: list[str]) -> None:
    """Write ``fields`` of ``items`` with one plain UPDATE per distinct combination of values.

    A submit writes 65 rows that share two or three values; ``bulk_update`` builds
    a CASE branch per row and field, and compiling it was most of a submit's CPU.
    """
    groups: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for item in items:
        groups[tuple(getattr(item, name) for name in fields)].append(item.pk)
    for values, ids in groups.items():
        AttemptItem.objects.filter(pk__in=ids).update(**dict(zip(fields, values, strict=True)))


def attempt_submit(*, user: User, attempt_id: int, now: dt.datetime, auto: bool = False) -> Attempt:
    """Finish and score an attempt. Idempotent: a second submit returns the first result."""
    with transaction.atomic():
        attempt = Attempt.objects.select_for_update().select_related("exam").get(pk=attempt_id, user=user)
        if not attempt.is_open:
            return attempt
        items = list(attempt.items.select_related("version"))
        _score(attempt, items)
        attempt.status = Attempt.Status.SUBMITTED
        end = min(now, attempt.deadline) if attempt.deadline and now > attempt.deadline else now
        attempt.submitted_at = end
        attempt.auto_submitted = auto
        since = attempt.current_since or attempt.started_at
        counted_now, on_screen = [], []
        for item in items:
            if item.counted_at is None:
                item.count_at(end)
                counted_now.append(item)
            if item.position == attempt.current_position and end > since:
                # The question on screen at the end gets the time since the last move.
                item.time_spent_ms += int(min((end - since).total_seconds(), 30 * 60) * 1000)
                on_screen.append(item)
        _update_grouped(items, ["correct"])
        _update_grouped(counted_now, ["counted_at", "recency_basis"])
        _update_grouped(on_screen, ["time_spent_ms"])
        attempt.save()
        mark_report_stale(user_id=user.pk, exam_id=attempt.exam_id, now=now)
    return attempt


def attempt_abandon(*, user: User, attempt_id: int, now: dt.datetime) -> Attempt:
    with transaction.atomic():
        attempt = _lock(attempt_id, user)
        if attempt.is_open:
            attempt.status = Attempt.Status.ABANDONED
            attempt.submitted_at = now
            attempt.save(update_fields=["status", "submitted_at"])
    return attempt


def finalize_if_expired(*, attempt: Attempt, now: dt.datetime) -> Attempt:
    """Any visit to an attempt whose time ran out submits it."""
    if attempt.is_expired(now):
        return attempt_submit(user=attempt.user, attempt_id=attempt.pk, now=now, auto=True)
    return attempt


def finalize_expired(*, now: dt.datetime, limit: int = 500) -> int:
    """Submit open attempts whose deadline plus grace has passed (the beat task calls this)."""

    cutoff = now - dt.timedelta(seconds=settings.ANSWER_GRACE_SECONDS)
    done = 0
    for attempt in Attempt.objects.filter(status=Attempt.Status.OPEN, deadline__lt=cutoff).select_related(
        "user"
    )[:limit]:
        attempt_submit(user=attempt.user, attempt_id=attempt.pk, now=now, auto=True)
        done += 1
    return done


def key_correct(
    *, version: QuestionVersion, correct_indexes: list[int], staff: User, note: str, now: dt.datetime
) -> KeyCorrection:
    """Staff correction of a wrong key: re-score every affected attempt and mark reports stale.

    The one deliberate exception to "recorded results never change", and audited.
    """
    with transaction.atomic():
        version = QuestionVersion.objects.select_for_update().get(pk=version.pk)
        old = sorted(version.correct_indexes())
        new = sorted(set(correct_indexes))
        choices = version.data["choices"]
        if not new or any(i < 0 or i >= len(choices) for i in new):
            raise ValueError("Choose at least one existing option as correct.")
        data = dict(version.data)
        data["choices"] = [{**c, "correct": i in new} for i, c in enumerate(choices)]
        if data.get("type") == "multiple" or len(new) > 1:
            data["type"] = "multiple" if len(new) > 1 else "single"
            data["choose"] = len(new)
        version.data = data
        version.save(update_fields=["data"])
        question = version.question
        if question.current_version_id == version.pk:
            for i, choice in enumerate(question.choices.all()):
                if choice.correct != (i in new):
                    choice.correct = i in new
                    choice.save(update_fields=["correct"])
            Question.objects.filter(pk=question.pk).update(type=data["type"], choose=data["choose"])
        attempt_ids = list(
            AttemptItem.objects.filter(version=version, attempt__status=Attempt.Status.SUBMITTED)
            .values_list("attempt_id", flat=True)
            .distinct()
        )
        for attempt in Attempt.objects.filter(pk__in=attempt_ids).select_for_update().select_related("exam"):
            items = list(attempt.items.select_related("version"))
            _score(attempt, items)
            _update_grouped(items, ["correct"])
            attempt.save(
                update_fields=["scored_total", "scored_correct", "scaled_score", "passed", "domain_results"]
            )
            mark_report_stale(user_id=attempt.user_id, exam_id=attempt.exam_id, now=now)
        # Checked practice answers of open attempts keep their recorded correctness in sync too.
        for item in AttemptItem.objects.filter(
            version=version, checked=True, attempt__status=Attempt.Status.OPEN
        ):
            item.version = version
            item.correct = item.grade()
            item.save(update_fields=["correct"])
        # The item analysis of this version follows at once, so its "check the key" flags clear.
        item_stats_refresh(now=now, version_ids=[version.pk])
        return KeyCorrection.objects.create(
            version=version,
            changed_by=staff,
            changed_at=now,
            old_correct=old,
            new_correct=new,
            note=note,
            attempts_rescored=len(attempt_ids),
        )


def latest_submitted_at(user: User) -> Any:
    return Attempt.objects.filter(user=user, status=Attempt.Status.SUBMITTED).aggregate(
        m=Max("submitted_at")
    )["m"]
