"""Item analysis: facility, discrimination and option counts from learners' first answers,
the flags they raise for authors, and where learners and authors see them."""

import datetime as dt
from collections.abc import Callable
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.urls import reverse

from accounts.models import User
from questions.models import Exam, Question
from quiz import services
from quiz.itemstats import MIN_LEARNERS, item_flags, item_stats_refresh
from quiz.models import Attempt, AttemptItem, ItemStat
from quiz.tasks import refresh_item_stats
from tests.factories import UserFactory, make_exam

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC)
TARGET = "IA-C01-D1-001"  # single answer; make_exam keys it at option 1 (B)

Answer = Callable[[AttemptItem], list[int] | None]


@pytest.fixture
def exam() -> Exam:
    # 12 questions, 3 per domain, and a full mock of 12 scored items: every attempt draws every question.
    return make_exam("IA-C01", per_domain=3, weights=(25, 25, 25, 25), question_count=12, unscored=0)


def take(user: User, exam: Exam, answer: Answer, *, now: dt.datetime = NOW) -> Attempt:
    """A submitted full mock in which ``answer`` picks authored option indexes (None: leave blank)."""
    attempt = services.attempt_start(
        user=user, exam=exam, options=services.StartOptions(mode="full"), now=now
    )
    for item in attempt.items.select_related("version", "question"):
        chosen = answer(item)
        if chosen is None:
            continue
        tokens = [t for t, i in zip(item.choice_tokens, item.choice_order, strict=True) if i in chosen]
        services.answer_save(
            user=user, attempt_id=attempt.pk, position=item.position, tokens=tokens, seq=1, now=now
        )
    return services.attempt_submit(user=user, attempt_id=attempt.pk, now=now + dt.timedelta(minutes=5))


def key(item: AttemptItem) -> list[int]:
    return sorted(item.version.correct_indexes())


def wrong(item: AttemptItem) -> list[int]:
    return [
        next(i for i in range(len(item.version.data["choices"])) if i not in item.version.correct_indexes())
    ]


def crowd(exam: Exam) -> None:
    """MIN_LEARNERS (20) learners who get everything right, except 5 who choose A on the target."""
    for n in range(MIN_LEARNERS):
        take(
            UserFactory(),
            exam,
            lambda item, n=n: (
                [0] if item.question.external_id == TARGET and n >= MIN_LEARNERS - 5 else key(item)
            ),
        )


def target_stat() -> ItemStat:
    question = Question.objects.get(external_id=TARGET)
    return ItemStat.objects.get(version_id=question.current_version_id)


def test_facility_and_option_counts_use_each_learners_first_answer(exam: Exam) -> None:
    learners = UserFactory.create_batch(MIN_LEARNERS)
    for n, user in enumerate(learners):
        # 15 of 20 right on the target; 5 choose option 0 (A).
        take(
            user, exam, lambda item, n=n: key(item) if item.question.external_id != TARGET or n < 15 else [0]
        )
    # A second attempt by a learner who missed it: now right, but only the first answer counts.
    take(learners[-1], exam, key, now=NOW + dt.timedelta(days=1))
    # A learner who left it blank is not counted at all.
    take(UserFactory(), exam, lambda item: None if item.question.external_id == TARGET else key(item))

    assert item_stats_refresh(now=NOW) == 12
    stat = target_stat()
    assert (stat.learners, stat.right) == (20, 15)
    assert stat.option_counts == [5, 15, 0, 0]
    assert stat.facility == 0.75
    assert stat.flags == [] and not stat.flagged


def test_a_wrong_looking_key_is_flagged_with_negative_discrimination(exam: Exam) -> None:
    # Strong learners get everything right but the target, where they all choose A;
    # weak learners get everything wrong but the target. That is how a miskeyed item looks.
    for n in range(24):
        strong = n < 14
        take(
            UserFactory(),
            exam,
            lambda item, strong=strong: (
                ([0] if strong else key(item))
                if item.question.external_id == TARGET
                else (key(item) if strong else wrong(item))
            ),
        )
    item_stats_refresh(now=NOW)
    stat = target_stat()
    assert (stat.learners, stat.right) == (24, 10)
    assert stat.discrimination is not None and stat.discrimination < -0.9
    assert stat.flagged
    assert any("chose A than the key" in flag for flag in stat.flags)
    assert any("score well elsewhere" in flag for flag in stat.flags)
    # The other items separate strong from weak learners, as good items do.
    other = ItemStat.objects.exclude(pk=stat.pk).first()
    assert other is not None and other.discrimination is not None and other.discrimination > 0.9

    # An author agrees and corrects the key to A: the item's figures follow at once, and the flags clear.
    staff = User.objects.create_superuser(email="author@example.com", password="long enough pw 1")
    services.key_correct(version=stat.version, correct_indexes=[0], staff=staff, note="A is right", now=NOW)
    stat = target_stat()
    assert (stat.learners, stat.right, stat.flags, stat.flagged) == (24, 14, [], False)
    assert stat.discrimination is not None and stat.discrimination > 0.9


def test_flags_wait_for_enough_learners_and_name_hard_and_easy_items() -> None:
    few = item_flags(learners=MIN_LEARNERS - 1, right=0, discrimination=-1.0, option_counts=[19, 0], key={1})
    assert few == []
    hard = item_flags(learners=40, right=8, discrimination=0.3, option_counts=[10, 8, 11, 11], key={1})
    assert "Very hard: 20% answer it correctly." in hard
    assert any("chose A, C, D than the key" in flag for flag in hard)
    # A slightly negative discrimination is within noise; a clearly negative one is flagged.
    assert item_flags(learners=40, right=20, discrimination=-0.2, option_counts=[5, 20, 10, 5], key={1}) == []
    assert item_flags(learners=40, right=20, discrimination=-0.4, option_counts=[5, 20, 10, 5], key={1}) == [
        "Learners who score well elsewhere miss it more often: check the key and the wording."
    ]
    easy = item_flags(learners=40, right=39, discrimination=0.1, option_counts=[1, 39, 0, 0], key={1})
    assert easy == []
    # Multiple response: a distractor beats the least chosen key.
    multi = item_flags(learners=30, right=15, discrimination=0.2, option_counts=[28, 9, 20, 3, 1], key={0, 2})
    assert multi == []
    multi = item_flags(
        learners=30, right=15, discrimination=0.2, option_counts=[28, 21, 20, 3, 1], key={0, 2}
    )
    assert multi == ["More learners chose B than the key: check the key."]


def test_refresh_replaces_old_figures_and_the_task_runs_it(exam: Exam) -> None:
    user = UserFactory()
    take(user, exam, key)
    assert refresh_item_stats() == 12
    assert ItemStat.objects.count() == 12
    Attempt.objects.all().delete()
    assert item_stats_refresh(now=NOW) == 0
    assert ItemStat.objects.count() == 0


def test_a_checked_practice_answer_counts_before_its_attempt_is_submitted(exam: Exam) -> None:
    user = UserFactory()
    attempt = services.attempt_start(
        user=user, exam=exam, options=services.StartOptions(mode="practice", count=3), now=NOW
    )
    item = attempt.items.select_related("version").get(position=0)
    token = item.choice_tokens[item.choice_order.index(key(item)[0])]
    services.answer_save(user=user, attempt_id=attempt.pk, position=0, tokens=[token], seq=1, now=NOW)
    services.answer_check(user=user, attempt_id=attempt.pk, position=0, now=NOW)
    assert item_stats_refresh(now=NOW) == 1
    stat = ItemStat.objects.get()
    assert (stat.version_id, stat.learners, stat.right, stat.discrimination) == (item.version_id, 1, 1, None)


def _review(client: Any, user: User, attempt: Attempt) -> str:
    client.force_login(user)
    return client.get(reverse("quiz:review", args=[attempt.pk])).content.decode()


def test_review_shows_how_other_learners_did_once_there_are_enough(client: Any, exam: Exam) -> None:
    crowd(exam)
    learner = UserFactory()
    mine = take(learner, exam, key)
    item_stats_refresh(now=NOW)  # 21 learners: 16 of 21 right on the target (76%)
    page = _review(client, learner, mine)
    assert "76% of 21 learners answered it correctly" in page
    assert "chosen by 24% of learners" in page  # option A: 5 of 21
    assert "chosen by 76% of learners" in page

    # Below the minimum nothing is shown: a figure from a handful of learners would mislead.
    ItemStat.objects.update(learners=MIN_LEARNERS - 1)
    page = _review(client, learner, mine)
    assert "learners answered it correctly" not in page and "chosen by" not in page


def test_item_analysis_admin_lists_flagged_items_for_staff_only(client: Any, exam: Exam) -> None:
    for n in range(MIN_LEARNERS):
        take(UserFactory(), exam, lambda item, n=n: [0] if item.question.external_id == TARGET else key(item))
    item_stats_refresh(now=NOW)
    url = reverse("admin:quiz_itemstat_changelist")
    client.force_login(UserFactory())
    assert client.get(url).status_code == 302  # not staff: the admin's login page

    client.force_login(User.objects.create_superuser(email="author@example.com", password="long enough pw 1"))
    flagged = client.get(url, {"flagged__exact": "1"}).content.decode()
    assert TARGET in flagged and "IA-C01-D1-002" not in flagged
    assert "check the key" in flagged and "0%" in flagged
    for query in ({}, {"learners": "enough"}, {"learners": "few"}, {"o": "4"}, {"q": TARGET}):
        assert client.get(url, query).status_code == 200, query
    detail = client.get(reverse("admin:quiz_itemstat_change", args=[target_stat().pk])).content.decode()
    assert "<td>A</td>" in detail and "<td>20</td>" in detail and "key" in detail


def test_command_prints_the_flagged_items(exam: Exam) -> None:
    for _ in range(MIN_LEARNERS):
        take(UserFactory(), exam, lambda item: [0] if item.question.external_id == TARGET else key(item))
    out = StringIO()
    call_command("item_stats", stdout=out)
    text = out.getvalue()
    assert f"12 question version(s) have answers; 12 have at least {MIN_LEARNERS} learners." in text
    assert f"{TARGET} v1 (20 learners):" in text and "Very hard: 0% answer it correctly." in text


def test_a_checked_practice_answer_shows_how_other_learners_did(client: Any, exam: Exam) -> None:
    crowd(exam)
    item_stats_refresh(now=NOW)  # 15 of 20 right on the target
    learner = UserFactory()
    attempt = services.attempt_start(
        user=learner, exam=exam, options=services.StartOptions(mode="practice", count=12), now=NOW
    )
    item = attempt.items.select_related("version", "question").get(question__external_id=TARGET)
    token = item.choice_tokens[item.choice_order.index(key(item)[0])]
    client.force_login(learner)
    client.post(reverse("quiz:save_answer", args=[attempt.pk, item.position]), {"choice": [token], "seq": 1})
    page = client.post(reverse("quiz:check_answer", args=[attempt.pk, item.position])).content.decode()
    assert "75% of 20 learners answered it correctly" in page
    assert "chosen by 25% of learners" in page and "chosen by 75% of learners" in page
    # Another question, with figures from too few learners, shows none.
    ItemStat.objects.update(learners=MIN_LEARNERS - 1)
    other = attempt.items.select_related("version").exclude(pk=item.pk).first()
    assert other is not None
    token = other.choice_tokens[0]
    client.post(reverse("quiz:save_answer", args=[attempt.pk, other.position]), {"choice": [token], "seq": 1})
    page = client.post(reverse("quiz:check_answer", args=[attempt.pk, other.position])).content.decode()
    assert "learners answered it correctly" not in page and "chosen by" not in page
