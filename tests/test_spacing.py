"""Spaced review of missed questions: the schedule, "Retry my mistakes", the start page and the dashboard."""

import datetime as dt
import re
import zoneinfo

import pytest
from django.urls import reverse
from django.utils import timezone

from questions.models import Question, Tag
from quiz import services, spacing
from quiz.models import AttemptItem
from quiz.reports import report_refresh
from tests.factories import UserFactory, make_exam
from tests.test_exam import correct_tokens, wrong_tokens

NOW = dt.datetime(2026, 11, 22, 10, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def at(days: float) -> dt.datetime:
    return NOW + dt.timedelta(days=days)


def test_a_miss_is_due_at_once_and_each_right_answer_pushes_it_out_until_learned():
    rows = [
        (1, at(0), 0, at(0)),  # just missed
        (2, at(0), 1, at(1)),  # then right once, on day 1
        (3, at(0), 2, at(5)),
        (4, at(0), 3, at(13)),
        (5, at(0), 4, at(40)),  # right four times in a row: learned
    ]
    schedule = spacing.schedule_from(rows)
    assert [(c.question_id, c.due, c.streak) for c in schedule.cards] == [
        (1, at(0), 0), (2, at(1) + 3 * DAY, 1), (3, at(5) + 7 * DAY, 2), (4, at(13) + 21 * DAY, 3),
    ]  # fmt: skip
    assert schedule.learned == {5}


def test_due_orders_misses_newest_first_then_the_most_overdue():
    schedule = spacing.schedule_from(
        [
            (2, at(0), 1, at(1)),  # due at(4): a reinforcement
            (3, at(2), 0, at(2)),  # missed, older
            (4, at(3), 0, at(3)),  # missed, newest
            (5, at(-10), 1, at(-9)),  # due at(-6): the most overdue reinforcement
        ]
    )
    assert [c.question_id for c in schedule.due(at(5))] == [4, 3, 5, 2]
    assert [c.question_id for c in schedule.due(at(3.5))] == [4, 3, 5]
    assert [c.question_id for c in schedule.upcoming(at(3.5))] == [2]


@pytest.mark.django_db
def test_the_schedule_reads_each_questions_latest_miss_and_the_right_answers_since():
    exam = make_exam(question_count=12, unscored=0)  # a practice of 12 in domain 1 holds all of it
    user = UserFactory()
    domain_one = set(Question.objects.filter(exam=exam, domain__number=1).values_list("pk", flat=True))
    relapsed, flagged, *_ = sorted(domain_one)

    def practise(day: float, right: set[int], flag: int | None = None) -> dt.datetime:
        attempt = services.attempt_start(
            user=user, exam=exam, options=services.StartOptions(mode="practice", count=12, domains=[1]),
            now=at(day), seed=1,
        )  # fmt: skip
        for item in attempt.items.select_related("version"):
            if item.question_id in right:
                services.answer_save(
                    user=user, attempt_id=attempt.pk, position=item.position, tokens=correct_tokens(item),
                    seq=1, now=at(day),
                )  # fmt: skip
            if item.question_id == flag:
                services.item_flag(user=user, attempt_id=attempt.pk, position=item.position, flagged=True)
        return services.attempt_submit(user=user, attempt_id=attempt.pk, now=at(day)).submitted_at

    practise(0, domain_one - {relapsed})  # relapsed: missed
    for day in (1, 5):
        practise(day, domain_one)  # right twice
    missed_again = practise(10, domain_one - {relapsed})  # missed again: the count starts over
    last = practise(12, domain_one, flag=flagged)  # right, but flagged: a miss
    schedule = spacing.review_schedule(user.pk, exam.pk)
    assert sorted(schedule.cards, key=lambda c: c.question_id != flagged) == [
        spacing.Card(flagged, last, 0, last),
        spacing.Card(relapsed, missed_again, 1, last + 3 * DAY),
    ]
    assert schedule.learned == set()  # nothing else in domain 1 was ever missed


def test_review_summary_counts_due_and_names_the_next_day_in_the_learners_zone():
    tokyo = zoneinfo.ZoneInfo("Asia/Tokyo")
    times = [at(-1), at(0), at(2) + dt.timedelta(hours=14), at(2) + dt.timedelta(hours=20), at(4)]
    summary = spacing.review_summary(times, at(0), tokyo)
    # 10:00 UTC + 14 h is 09:00 the next day in Tokyo (UTC+9); + 20 h is 15:00 that day.
    assert summary == {"due": 2, "next_day": dt.date(2026, 11, 25), "next_count": 2}
    assert spacing.review_summary([], at(0), tokyo) == {"due": 0, "next_day": None, "next_count": 0}


def _take(user, exam, mode, now, right=(), wrong=(), **kwargs):
    """Start an attempt, answer the given questions right or wrong (others unanswered), submit it."""
    attempt = services.attempt_start(
        user=user, exam=exam, options=services.StartOptions(mode=mode, **kwargs), now=now, seed=1
    )
    for item in attempt.items.select_related("version"):
        if item.question_id in right or item.question_id in wrong:
            tokens = correct_tokens(item) if item.question_id in right else wrong_tokens(item)
            services.answer_save(
                user=user, attempt_id=attempt.pk, position=item.position, tokens=tokens, seq=1, now=now
            )
    services.attempt_submit(user=user, attempt_id=attempt.pk, now=now + dt.timedelta(minutes=5))
    return attempt


def _signed_in_with_misses(client, count: int, zone: str = "UTC"):  # type: ignore[no-untyped-def]
    """A signed-in learner who left a drill of ``count`` domain-1 questions unanswered a day ago."""
    exam = make_exam(question_count=10, unscored=0)
    user = UserFactory(time_zone=zone)
    client.force_login(user)
    now = timezone.now()
    drill = _take(user, exam, "drill", now - DAY, count=count, domains=[1])
    return exam, user, now, drill


@pytest.mark.django_db
def test_retry_my_mistakes_serves_what_is_due_and_brings_right_answers_back_later():
    exam = make_exam(question_count=10, unscored=0)
    user = UserFactory()
    first = _take(user, exam, "drill", NOW, count=4, domains=[1])
    ids = list(first.items.order_by("position").values_list("question_id", flat=True))
    # All four unanswered: all four due at once.
    retry = _take(user, exam, "mistakes", at(0.01), right=ids[:3], wrong=ids[3:])
    assert set(retry.items.values_list("question_id", flat=True)) == set(ids)
    # Minutes later only the one still wrong is due; the three right ones wait three days.
    again = _take(user, exam, "mistakes", at(0.02), right=ids[3:])
    assert list(again.items.values_list("question_id", flat=True)) == ids[3:]
    with pytest.raises(spacing.NothingDue) as nothing:
        services.attempt_start(
            user=user, exam=exam, options=services.StartOptions(mode="mistakes"), now=at(1), seed=1
        )
    assert len(nothing.value.upcoming) == 4
    # Three days after their right answer, the first three are due again, and the fourth is not yet.
    later = _take(user, exam, "mistakes", at(3.02), right=ids[:3])
    assert set(later.items.values_list("question_id", flat=True)) == set(ids[:3])
    assert sorted(c.streak for c in spacing.review_schedule(user.pk, exam.pk).cards) == [1, 2, 2, 2]
    # A retired question is never served, even when due.
    Question.objects.filter(pk=ids[3]).update(status="retired")
    assert ids[3] not in [c.question_id for c in spacing.review_schedule(user.pk, exam.pk).cards]


@pytest.mark.django_db
def test_a_review_keeps_to_the_chosen_domains_and_services():
    exam = make_exam(question_count=10, unscored=0)
    user = UserFactory()
    _take(user, exam, "drill", NOW, count=10)  # all unanswered: ten misses across the domains
    drilled = AttemptItem.objects.filter(user=user).values_list("question_id", flat=True)
    missed = dict(Question.objects.filter(pk__in=drilled).values_list("pk", "domain__number"))
    lambda_tag = Tag.objects.create(kind=Tag.Kind.SERVICE, name="AWS Lambda")
    tagged = next(pk for pk, number in missed.items() if number != 2)
    Question.objects.get(pk=tagged).tags.add(lambda_tag)

    def review(**kwargs):  # type: ignore[no-untyped-def]
        options = services.StartOptions(mode="mistakes", **kwargs)
        attempt = services.attempt_start(user=user, exam=exam, options=options, now=at(0.01), seed=1)
        services.attempt_abandon(user=user, attempt_id=attempt.pk, now=at(0.01))
        return set(attempt.items.values_list("question_id", flat=True))

    assert review(domains=[2]) == {pk for pk, number in missed.items() if number == 2} != set()
    assert review(tag_ids=[lambda_tag.pk]) == {tagged}
    assert review() == set(missed)


@pytest.mark.django_db
def test_start_page_says_when_the_next_review_falls_due_instead_of_a_shortage(client):
    exam = make_exam(question_count=10, unscored=0)
    user = UserFactory(time_zone="Asia/Tokyo")
    client.force_login(user)
    form = {"exam": exam.code, "mode": "mistakes", "count": 10}
    response = client.post(reverse("quiz:start"), form)
    page = response.content.decode()
    assert response.status_code == 422
    assert "Nothing is due for review yet." in page and "You have no missed questions waiting." in page
    assert "cannot fill" not in page

    now = timezone.now()
    drill = _take(user, exam, "drill", now - DAY, count=1, domains=[1])
    question_id = drill.items.get().question_id
    _take(user, exam, "mistakes", now - dt.timedelta(hours=1), right=[question_id])
    due = (now - dt.timedelta(hours=1) + dt.timedelta(minutes=5) + 3 * DAY).astimezone(
        zoneinfo.ZoneInfo("Asia/Tokyo")
    )
    response = client.post(reverse("quiz:start"), form)
    assert response.status_code == 422
    assert f"Next review: 1 question on {due:%A} {due.day} {due:%B}." in response.content.decode()
    # Narrowed to other domains, it says so.
    narrowed = client.post(reverse("quiz:start"), {**form, "domains": [2, 3]}).content.decode()
    assert "Nothing is due for review yet in the domains and services you chose." in narrowed
    assert "You have no missed questions waiting." in narrowed


@pytest.mark.django_db
def test_dashboard_counts_due_reviews_and_links_to_them(client):
    exam = make_exam(question_count=12, unscored=0)  # so that a practice of 12 in domain 1 holds all of it
    user = UserFactory()
    client.force_login(user)
    now = timezone.now()
    domain_one = set(Question.objects.filter(exam=exam, domain__number=1).values_list("pk", flat=True))
    learned, due, waiting = sorted(domain_one)[:3]

    def practise(days_ago: float, right: set[int]) -> None:  # all of domain 1; the rest left unanswered
        _take(user, exam, "practice", now - days_ago * DAY, count=12, domains=[1], right=right)

    # All three missed; then `learned` right four times in a row, `waiting` right once, 2 days ago.
    practise(30, domain_one - {learned, due, waiting})
    for days_ago in (29, 25, 18):
        practise(days_ago, domain_one - {due, waiting})
    practise(2, domain_one - {due})
    report_refresh(user_id=user.pk, exam_id=exam.pk, now=now)
    page = client.get(reverse("quiz:home") + f"?exam={exam.code}").content.decode()
    assert "<strong>1 missed question due for review.</strong>" in page
    assert "Learned: 1 once-missed question, right four times in a row since." in page
    link = re.search(r'<a class="button" id="review-mistakes" href="([^"]+)">Review them</a>', page)
    assert link is not None
    form = client.get(link.group(1).replace("&amp;", "&")).content.decode()
    assert re.search(r'<input type="radio" name="mode" value="mistakes"[^>]*checked', form)
    assert re.search(r'<input type="checkbox" name="timed"[^>]*>', form)
    assert not re.search(r'<input type="checkbox" name="timed"[^>]*checked', form)  # checkable answers

    # Once the due one is answered right, the dashboard names the next day instead.
    _take(user, exam, "mistakes", now - dt.timedelta(minutes=10), right={due})
    report_refresh(user_id=user.pk, exam_id=exam.pk, now=now)
    page = client.get(reverse("quiz:home") + f"?exam={exam.code}").content.decode()
    assert 'id="review-mistakes"' not in page
    tomorrow = now - 2 * DAY + dt.timedelta(minutes=5) + 3 * DAY
    assert f"No missed questions are due for review. Next review: 1 question on {tomorrow:%A}" in page


@pytest.mark.django_db
def test_a_finished_review_says_when_each_question_comes_back_instead_of_a_scaled_score(client):
    exam, user, now, drill = _signed_in_with_misses(client, 3, "America/Los_Angeles")
    ids = list(drill.items.order_by("position").values_list("question_id", flat=True))
    review = _take(user, exam, "mistakes", now - dt.timedelta(minutes=10), right=ids[:2], wrong=ids[2:])
    page = client.get(reverse("quiz:results", args=[review.pk])).content.decode()
    back = (now - dt.timedelta(minutes=5) + 3 * DAY).astimezone(zoneinfo.ZoneInfo("America/Los_Angeles"))
    assert "<strong>1</strong> missed again: due for review now." in page
    assert f"<strong>2</strong> right: back for review on {back:%A} {back.day} {back:%B}." in page
    assert "Estimated scaled score" not in page and 'id="retry-mistakes"' in page
    # A question retired since is said to be gone, not silently left out.
    Question.objects.filter(pk=ids[2]).update(status="retired")
    page = client.get(reverse("quiz:results", args=[review.pk])).content.decode()
    assert "<strong>1</strong> no longer in the bank" in page and "missed again" not in page
    # History and the dashboard give a review's right answers, not a scaled score.
    review.refresh_from_db()
    assert review.scaled_score is not None
    history = client.get(reverse("quiz:history")).content.decode()
    assert "<td>2/3 right</td>" in history and f"<td>{review.scaled_score} (2/3)</td>" not in history
    assert "retry my mistakes: 2/3 right" in client.get(reverse("quiz:home")).content.decode()
    # A drill's results keep the scaled score.
    assert "Estimated scaled score" in client.get(reverse("quiz:results", args=[drill.pk])).content.decode()


@pytest.mark.django_db
def test_reviews_of_mistakes_count_as_activity_but_not_toward_accuracy_or_readiness():
    exam = make_exam(question_count=10, unscored=0)
    user = UserFactory()
    now = timezone.now()
    options = services.StartOptions(mode="drill", count=10)
    drill = services.attempt_start(user=user, exam=exam, options=options, now=now - DAY, seed=1)
    for item in drill.items.select_related("version"):  # six right, four wrong
        tokens = correct_tokens(item) if item.position < 6 else wrong_tokens(item)
        services.answer_save(
            user=user, attempt_id=drill.pk, position=item.position, tokens=tokens, seq=1, now=now - DAY
        )
    services.attempt_submit(user=user, attempt_id=drill.pk, now=now - DAY)
    ids = set(drill.items.values_list("question_id", flat=True))
    before = report_refresh(user_id=user.pk, exam_id=exam.pk, now=now).data
    # Every miss is due: a review gets them all wrong, which must not drag the estimates down.
    _take(user, exam, "mistakes", now - dt.timedelta(minutes=30), wrong=ids)
    after = report_refresh(user_id=user.pk, exam_id=exam.pk, now=now).data
    assert after["domains"] == before["domains"] and after["readiness"] == before["readiness"]
    assert after["answered"] == before["answered"]
    answered = sum(day["answered"] for day in after["activity"]["days"])
    assert answered == sum(day["answered"] for day in before["activity"]["days"]) + 4 == 14
    assert "not reviews of your mistakes" in after["counts"]


@pytest.mark.django_db
def test_an_untimed_review_checks_answers_as_it_goes_and_a_timed_one_does_not(client):
    exam, user, now, _ = _signed_in_with_misses(client, 4)
    for timed, status in ((True, 409), (False, 200)):
        options = services.StartOptions(mode="mistakes", timed=timed)
        review = services.attempt_start(user=user, exam=exam, options=options, now=now, seed=1)
        item = review.items.select_related("version").get(position=0)
        page = client.get(reverse("quiz:question", args=[review.pk, 0])).content.decode()
        assert ('id="check-button"' in page) is not timed
        save = reverse("quiz:save_answer", args=[review.pk, 0])
        client.post(save, {"choice": correct_tokens(item), "seq": 1})
        response = client.post(reverse("quiz:check_answer", args=[review.pk, 0]))
        assert response.status_code == status
        assert (item.version.data["explanation"] in response.content.decode()) is not timed
        services.attempt_abandon(user=user, attempt_id=review.pk, now=now)
    # The checked answer counts at once: that question now waits three days.
    assert item.question_id not in [c.question_id for c in spacing.review_schedule(user.pk, exam.pk).due(now)]


@pytest.mark.django_db
def test_a_checked_review_answer_says_when_the_question_returns(client):
    exam, user, now, _ = _signed_in_with_misses(client, 2, "Asia/Tokyo")
    options = services.StartOptions(mode="mistakes", timed=False)
    review = services.attempt_start(user=user, exam=exam, options=options, now=now, seed=1)
    items = list(review.items.select_related("version").order_by("position"))
    for item, tokens in zip(items, (correct_tokens(items[0]), wrong_tokens(items[1])), strict=True):
        client.post(
            reverse("quiz:save_answer", args=[review.pk, item.position]), {"choice": tokens, "seq": 1}
        )
        client.post(reverse("quiz:check_answer", args=[review.pk, item.position]))
    right = client.get(reverse("quiz:question", args=[review.pk, 0])).content.decode()
    checked_at = AttemptItem.objects.get(pk=items[0].pk).counted_at
    back = (checked_at + 3 * DAY).astimezone(zoneinfo.ZoneInfo("Asia/Tokyo"))
    assert f"It comes back for review on {back:%A} {back.day} {back:%B}." in right
    wrong = client.get(reverse("quiz:question", args=[review.pk, 1])).content.decode()
    assert "It stays due for review." in wrong and items[1].version.data["explanation"] in wrong


@pytest.mark.django_db
def test_item_analysis_leaves_reviews_of_mistakes_out():
    from quiz.itemstats import item_stats_refresh
    from quiz.models import ItemStat

    exam = make_exam(question_count=10, unscored=0)
    user = UserFactory()
    drill = _take(user, exam, "drill", NOW, count=1, domains=[1])  # unanswered: a miss
    question = Question.objects.get(pk=drill.items.get().question_id)
    question.stem += " (Reworded.)"
    question.save()
    edited = question.sync_version()  # a review now serves the new version: the learner's first answer to it
    review = _take(user, exam, "mistakes", at(0.01), right={question.pk})
    assert review.items.get().version_id == edited.pk
    item_stats_refresh(now=at(0.02))
    assert not ItemStat.objects.filter(version_id=edited.pk).exists()
