import datetime as dt
import re
from collections import Counter

import pytest
from django.urls import reverse
from django.utils import timezone

from questions.blueprint import domain_counts
from questions.models import Question
from quiz import services, spacing
from quiz.assembly import NotEnoughQuestions
from quiz.models import Attempt, AttemptItem, KeyCorrection, ProblemReport, Report, SeenQuestion
from tests.factories import UserFactory, make_exam

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 22, 10, 0, tzinfo=dt.UTC)


def start(user, exam, mode="full", now=NOW, **kwargs):
    return services.attempt_start(
        user=user, exam=exam, options=services.StartOptions(mode=mode, **kwargs), now=now, seed=1
    )


def correct_tokens(item):
    key = item.version.correct_indexes()
    return [t for t, i in zip(item.choice_tokens, item.choice_order, strict=True) if i in key]


def wrong_tokens(item):
    key = item.version.correct_indexes()
    return [next(t for t, i in zip(item.choice_tokens, item.choice_order, strict=True) if i not in key)]


def test_full_mock_follows_the_blueprint_with_pilot_items():
    exam = make_exam(question_count=10, unscored=2)
    user = UserFactory(extra_time_minutes=30)
    attempt = start(user, exam)
    items = list(attempt.items.all())
    weights = exam.weights()
    scored = Counter(i.domain_number for i in items if i.scored)
    pilot = Counter(i.domain_number for i in items if not i.scored)
    assert dict(scored) == {d: n for d, n in domain_counts(8, weights).items() if n}
    assert dict(pilot) == {d: n for d, n in domain_counts(2, weights).items() if n}
    assert len({i.question_id for i in items}) == 10
    assert sorted(i.position for i in items) == list(range(10))
    # 20 minutes + 30 minutes allowance, for all 10 questions.
    assert attempt.deadline == NOW + dt.timedelta(minutes=50)


def test_pilot_items_can_be_switched_off_and_time_scales():
    exam = make_exam(question_count=10, unscored=2, duration=20)
    attempt = start(exam=exam, user=UserFactory(), include_pilot=False)
    assert attempt.question_count == 8
    assert not attempt.items.filter(scored=False).exists()
    assert attempt.deadline == NOW + dt.timedelta(minutes=16)


def test_option_order_and_tokens_are_stored_and_differ_per_attempt():
    exam = make_exam()
    first = start(UserFactory(), exam)
    second = services.attempt_start(
        user=UserFactory(), exam=exam, options=services.StartOptions(mode="full"), now=NOW, seed=2
    )
    tokens_first = {t for i in first.items.all() for t in i.choice_tokens}
    tokens_second = {t for i in second.items.all() for t in i.choice_tokens}
    assert not tokens_first & tokens_second
    item = first.items.get(position=0)
    again = AttemptItem.objects.get(pk=item.pk)
    assert again.choice_order == item.choice_order and again.choice_tokens == item.choice_tokens


def test_start_writes_blank_items_and_marks_each_question_seen():
    exam = make_exam(per_domain=3, question_count=10, unscored=0)  # 12 questions: the next draw repeats some
    user = UserFactory()
    first = start(user, exam)
    items = list(first.items.select_related("question", "version"))
    assert len(items) == 10
    for item in items:
        assert (item.user_id, item.exam_id, item.version_id) == (
            user.pk,
            exam.pk,
            item.question.current_version_id,
        )
        assert (item.selected, item.seq, item.flagged, item.checked, item.time_spent_ms) == (
            [],
            0,
            False,
            False,
            0,
        )
        assert item.correct is None and item.answered_at is None
        assert sorted(item.choice_order) == list(range(len(item.version.data["choices"])))
        assert len(item.choice_tokens) == len(item.choice_order)
    seen = {s.question_id: s for s in SeenQuestion.objects.filter(user=user)}
    assert set(seen) == {i.question_id for i in items}
    assert {(s.last_seen_at, s.times_seen) for s in seen.values()} == {(NOW, 1)}

    services.attempt_abandon(user=user, attempt_id=first.pk, now=NOW)
    later = NOW + dt.timedelta(days=1)
    second = start(user, exam, now=later)
    drawn = set(second.items.values_list("question_id", flat=True))
    assert drawn & {i.question_id for i in items}
    seen = {s.question_id: s.last_seen_at for s in SeenQuestion.objects.filter(user=user)}
    assert set(seen) == drawn | {i.question_id for i in items}
    assert {seen[q] for q in drawn} == {later}
    assert {seen[i.question_id] for i in items if i.question_id not in drawn} <= {NOW}
    assert SeenQuestion.objects.filter(user=UserFactory()).count() == 0


def test_second_start_resumes_the_open_attempt():
    exam = make_exam()
    user = UserFactory()
    first = start(user, exam)
    second = start(user, exam, mode="drill", count=3)
    assert second.pk == first.pk
    assert Attempt.objects.filter(user=user, status="open").count() == 1


def test_start_view_resumes_instead_of_opening_another(client):
    exam = make_exam()
    user = UserFactory()
    client.force_login(user)
    data = {"exam": exam.code, "mode": "full", "count": 10, "include_pilot": "on", "timed": "on"}
    first = client.post(reverse("quiz:start"), data)
    second = client.post(reverse("quiz:start"), data)
    attempt = Attempt.objects.get(user=user)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == reverse("quiz:question", args=[attempt.pk, 0])  # straight to question 1
    assert second["Location"] == reverse("quiz:attempt", args=[attempt.pk])  # resumes where they were
    from django.contrib.messages import get_messages

    assert [str(m) for m in get_messages(second.wsgi_request)] == [
        "You have an attempt in progress for this exam: resuming it."
    ]


def test_draw_prefers_unseen_questions():
    exam = make_exam(per_domain=10, question_count=10, unscored=0)
    user = UserFactory()
    first = start(user, exam)
    services.attempt_abandon(user=user, attempt_id=first.pk, now=NOW)
    second = start(user, exam, now=NOW + dt.timedelta(minutes=1))
    first_ids = set(first.items.values_list("question_id", flat=True))
    second_ids = set(second.items.values_list("question_id", flat=True))
    assert not first_ids & second_ids


def test_bank_too_small_is_refused_and_offers_a_shorter_attempt(client):
    exam = make_exam(per_domain=2, question_count=10, unscored=0)
    with pytest.raises(NotEnoughQuestions) as info:
        start(UserFactory(), exam)
    assert info.value.largest == 8  # the most it can fill honestly at these weights
    user = UserFactory()
    client.force_login(user)
    response = client.post(reverse("quiz:start"), {"exam": exam.code, "mode": "full", "count": 10})
    assert response.status_code == 422
    assert b"cannot fill this honestly" in response.content
    assert not Attempt.objects.filter(user=user).exists()


def test_drill_by_domain_and_tag():
    exam = make_exam()
    attempt = start(UserFactory(), exam, mode="drill", count=5, domains=[2], timed=False)
    assert attempt.question_count == 5
    assert set(attempt.items.values_list("domain_number", flat=True)) == {2}
    assert attempt.deadline is None


def test_save_answer_records_choice_and_refuses_stale_sequence(client):
    exam = make_exam()
    user = UserFactory()
    attempt = start(user, exam, now=timezone.now())
    item = attempt.items.get(position=0)
    client.force_login(user)
    url = reverse("quiz:save_answer", args=[attempt.pk, 0])
    tokens = correct_tokens(item)
    response = client.post(url, {"choice": tokens, "seq": 5})
    assert response.status_code == 200
    assert response.json()["status"] == "saved"
    item.refresh_from_db()
    assert sorted(item.selected) == sorted(item.version.correct_indexes())

    late = client.post(url, {"choice": wrong_tokens(item), "seq": 4})
    assert late.status_code == 409
    assert late.json()["status"] == "stale"
    # A refusal still carries the server's clock, so the page can resync its timer.
    assert 0 < late.json()["remaining"] <= attempt.remaining_seconds(timezone.now()) + 1
    item.refresh_from_db()
    assert sorted(item.selected) == sorted(item.version.correct_indexes())
    assert item.seq == 5


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"choice": ["not-a-token"], "seq": 1}, "invalid"),
        ({"choice": ["x"], "seq": "abc"}, "invalid"),
        ({"seq": 0}, "invalid"),
    ],
)
def test_bad_answers_are_refused_and_change_nothing(client, payload, code):
    exam = make_exam()
    user = UserFactory()
    attempt = start(user, exam, now=timezone.now())
    client.force_login(user)
    response = client.post(reverse("quiz:save_answer", args=[attempt.pk, 0]), payload)
    assert response.status_code == 422
    assert response.json()["status"] == code
    assert attempt.items.get(position=0).selected == []


def test_multiple_response_refuses_more_than_asked(client):
    exam = make_exam()
    user = UserFactory()
    attempt = start(user, exam, now=timezone.now())
    item = attempt.items.filter(version__data__type="multiple").first()
    client.force_login(user)
    response = client.post(
        reverse("quiz:save_answer", args=[attempt.pk, item.position]),
        {"choice": item.choice_tokens[:3], "seq": 1},
    )
    assert response.status_code == 422
    assert response.json()["status"] == "too_many"


def test_answers_after_deadline_and_grace_are_refused(settings):
    settings.ANSWER_GRACE_SECONDS = 5
    exam = make_exam()
    user = UserFactory()
    attempt = start(user, exam)
    item = attempt.items.get(position=0)
    within_grace = attempt.deadline + dt.timedelta(seconds=4)
    services.answer_save(
        user=user, attempt_id=attempt.pk, position=0, tokens=correct_tokens(item), seq=1, now=within_grace
    )
    with pytest.raises(services.AnswerRefused) as refused:
        services.answer_save(
            user=user,
            attempt_id=attempt.pk,
            position=1,
            tokens=attempt.items.get(position=1).choice_tokens[:1],
            seq=1,
            now=attempt.deadline + dt.timedelta(seconds=6),
        )
    assert refused.value.code == "too_late"
    assert attempt.items.get(position=1).selected == []


def test_expired_attempt_is_finalised_on_visit_and_by_beat(client):
    exam = make_exam()
    visitor, absent = UserFactory(), UserFactory()
    visited = start(visitor, exam, now=timezone.now() - dt.timedelta(hours=2))
    left = start(absent, exam, now=timezone.now() - dt.timedelta(hours=2))
    client.force_login(visitor)
    response = client.get(reverse("quiz:question", args=[visited.pk, 0]))
    assert response.status_code == 302
    assert response["Location"] == reverse("quiz:results", args=[visited.pk])
    visited.refresh_from_db()
    assert visited.status == "submitted" and visited.auto_submitted
    assert visited.submitted_at == visited.deadline

    assert services.finalize_expired(now=timezone.now()) == 1
    left.refresh_from_db()
    assert left.status == "submitted"


def test_scoring_no_partial_credit_unanswered_wrong_pilot_not_counted(django_capture_on_commit_callbacks):
    exam = make_exam(question_count=10, unscored=2)
    user = UserFactory()
    attempt = start(user, exam)
    items = list(attempt.items.select_related("version"))
    expected = 0
    for n, item in enumerate(items):
        tokens = correct_tokens(item)
        if item.version.data["type"] == "multiple":
            tokens = tokens[:1]  # half right is wrong
        elif n % 3 == 0:
            continue  # unanswered
        services.answer_save(
            user=user, attempt_id=attempt.pk, position=item.position, tokens=tokens, seq=1, now=NOW
        )
        if item.scored and item.version.data["type"] == "single":
            expected += 1
    with django_capture_on_commit_callbacks(execute=True):
        done = services.attempt_submit(user=user, attempt_id=attempt.pk, now=NOW + dt.timedelta(minutes=5))
    assert done.scored_total == 8
    assert done.scored_correct == expected
    assert sum(d["total"] for d in done.domain_results) == 8
    assert Report.objects.get(user=user, exam=exam).stale is False  # computed in-process after commit


def test_submit_twice_gives_one_result(client):
    exam = make_exam()
    user = UserFactory()
    attempt = start(user, exam, now=timezone.now())
    client.force_login(user)
    url = reverse("quiz:submit", args=[attempt.pk])
    first = client.post(url, {"confirm": "yes"})
    attempt.refresh_from_db()
    submitted_at, score = attempt.submitted_at, attempt.scaled_score
    second = client.post(url, {"confirm": "yes"})
    assert first.status_code == second.status_code == 302
    attempt.refresh_from_db()
    assert (attempt.submitted_at, attempt.scaled_score) == (submitted_at, score)


def test_submit_needs_confirmation(client):
    exam = make_exam()
    user = UserFactory()
    attempt = start(user, exam, now=timezone.now())
    client.force_login(user)
    client.post(reverse("quiz:submit", args=[attempt.pk]), {})
    attempt.refresh_from_db()
    assert attempt.status == "open"


@pytest.mark.parametrize(
    ("left", "shown"), [(7680, "2:08:00"), (3600, "1:00:00"), (605, "10:05"), (9, "0:09"), (0, "0:00")]
)
def test_clock_text_reads_as_the_exam_clock(left, shown):
    from quiz.views import _clock_text

    assert _clock_text(left) == shown


def test_the_review_page_shows_the_running_clock_and_can_submit_at_zero(client):
    from quiz.views import _clock_text

    exam = make_exam()
    user = UserFactory()
    now = timezone.now()
    attempt = start(user, exam, now=now)
    Attempt.objects.filter(pk=attempt.pk).update(deadline=now + dt.timedelta(seconds=7680))
    client.force_login(user)
    page = client.get(reverse("quiz:submit_review", args=[attempt.pk])).content.decode()
    clock = re.search(r'<strong id="review-timer"[^>]*data-remaining="(\d+)">([^<]*)</strong>', page)
    assert clock is not None
    assert 7670 <= int(clock.group(1)) <= 7680
    assert clock.group(2) == _clock_text(int(clock.group(1)))
    # finish.js submits through the same form the exam page uses when time is up.
    assert 'id="auto-submit-form"' in page and 'name="auto" value="1"' in page


def _key_markers(item) -> list[str]:
    data = item.version.data
    return [data["explanation"]] + [c["rationale"] for c in data["choices"]]


def test_no_response_before_submission_reveals_the_key(client):
    exam = make_exam()
    user = UserFactory()
    attempt = start(user, exam, now=timezone.now())
    client.force_login(user)
    for item in attempt.items.select_related("version"):
        page = client.get(reverse("quiz:question", args=[attempt.pk, item.position]))
        fragment = client.get(
            reverse("quiz:question", args=[attempt.pk, item.position]), headers={"HX-Request": "true"}
        )
        save = client.post(
            reverse("quiz:save_answer", args=[attempt.pk, item.position]),
            {"choice": item.choice_tokens[:1], "seq": 1},
        )
        for response in (page, fragment, save):
            body = response.content.decode()
            for marker in _key_markers(item):
                assert marker not in body
            assert "correct" not in body.lower().replace("incorrect", "")
        # tokens are opaque: nothing in them relates to the authored order or the key
        assert all(t.startswith("o") and len(t) == 13 for t in item.choice_tokens)
    review = client.get(reverse("quiz:review", args=[attempt.pk]))
    assert review.status_code == 404


def test_practice_check_reveals_and_locks_one_question(client):
    exam = make_exam()
    user = UserFactory()
    attempt = start(user, exam, mode="practice", count=4, now=timezone.now())
    assert attempt.deadline is None
    item = attempt.items.select_related("version").get(position=0)
    client.force_login(user)
    client.post(reverse("quiz:save_answer", args=[attempt.pk, 0]), {"choice": wrong_tokens(item), "seq": 1})
    response = client.post(reverse("quiz:check_answer", args=[attempt.pk, 0]))
    assert response.status_code == 200
    assert item.version.data["explanation"] in response.content.decode()
    locked = client.post(
        reverse("quiz:save_answer", args=[attempt.pk, 0]), {"choice": correct_tokens(item), "seq": 2}
    )
    assert locked.status_code == 409
    item.refresh_from_db()
    assert item.checked and item.correct is False
    # Coming back to it, the learner still sees the result and every option's rationale.
    again = client.get(reverse("quiz:question", args=[attempt.pk, 0])).content.decode()
    assert item.version.data["explanation"] in again and "<strong>Incorrect</strong>" in again
    assert item.version.data["choices"][0]["rationale"] in again
    # Question 2 stays secret.
    other = attempt.items.select_related("version").get(position=1)
    page = client.get(reverse("quiz:question", args=[attempt.pk, 1])).content.decode()
    assert other.version.data["explanation"] not in page


def test_checking_is_refused_outside_practice(client):
    exam = make_exam()
    user = UserFactory()
    attempt = start(user, exam, now=timezone.now())
    client.force_login(user)
    item = attempt.items.get(position=0)
    client.post(
        reverse("quiz:save_answer", args=[attempt.pk, 0]), {"choice": item.choice_tokens[:1], "seq": 1}
    )
    response = client.post(reverse("quiz:check_answer", args=[attempt.pk, 0]))
    assert response.status_code == 409
    assert item.version.data["explanation"] not in response.content.decode()


def test_flag_and_review_filters(client):
    exam = make_exam()
    user = UserFactory()
    attempt = start(user, exam, now=timezone.now())
    client.force_login(user)
    response = client.post(
        reverse("quiz:flag", args=[attempt.pk, 2]), {"flagged": "1"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert b"Unflag" in response.content
    client.post(reverse("quiz:submit", args=[attempt.pk]), {"confirm": "yes"})
    flagged = client.get(reverse("quiz:review", args=[attempt.pk]) + "?show=flagged").content.decode()
    assert "Question 3" in flagged and "Question 1<" not in flagged
    everything = client.get(reverse("quiz:review", args=[attempt.pk])).content.decode()
    item = attempt.items.select_related("version").get(position=0)
    assert item.version.data["explanation"] in everything
    assert item.version.data["choices"][0]["rationale"] in everything


def test_review_counts_each_filter_and_indexes_the_questions_it_shows(client):
    exam = make_exam(question_count=10, unscored=0)
    user = UserFactory()
    attempt = start(user, exam, now=timezone.now())
    items = {i.position: i for i in attempt.items.select_related("version")}
    for position in (0, 1, 2):  # three right
        services.answer_save(
            user=user, attempt_id=attempt.pk, position=position, tokens=correct_tokens(items[position]),
            seq=1, now=timezone.now(),
        )  # fmt: skip
    wrong = [t for t, i in zip(items[3].choice_tokens, items[3].choice_order, strict=True)
             if i not in items[3].version.correct_indexes()][:1]  # fmt: skip
    services.answer_save(
        user=user, attempt_id=attempt.pk, position=3, tokens=wrong, seq=1, now=timezone.now()
    )
    services.item_flag(user=user, attempt_id=attempt.pk, position=4, flagged=True)
    services.attempt_submit(user=user, attempt_id=attempt.pk, now=timezone.now())
    client.force_login(user)
    url = reverse("quiz:review", args=[attempt.pk])

    page = client.get(url).content.decode()
    for label, count in (("All", 10), ("Incorrect", 7), ("Unanswered", 6), ("Flagged", 1)):
        assert re.search(rf">{label} \({count}\)</a>", page), label
    index = re.findall(r'<a href="#q(\d+)" class="nav-item ([a-z ]+)" aria-label="([^"]+)"', page)
    assert [int(n) for n, _, _ in index] == list(range(1, 11))
    assert index[0][1:] == ("correct", "Question 1: correct")
    assert index[3][1:] == ("incorrect", "Question 4: incorrect")
    assert index[4][1:] == ("unanswered flagged", "Question 5: unanswered, flagged")
    for n, _, _ in index:
        assert f'id="q{n}"' in page  # every jump has its target

    wrong_only = client.get(url + "?show=incorrect").content.decode()
    assert [int(n) for n in re.findall(r'<a href="#q(\d+)"', wrong_only)] == [4, 5, 6, 7, 8, 9, 10]
    one_domain = client.get(url + f"?show=all&domain={items[0].domain_number}").content.decode()
    in_domain = sum(1 for i in items.values() if i.domain_number == items[0].domain_number)
    assert re.search(rf">All \({in_domain}\)</a>", one_domain)


def test_problem_report_lands_in_triage(client):
    exam = make_exam()
    user = UserFactory()
    attempt = start(user, exam, now=timezone.now())
    client.force_login(user)
    client.post(reverse("quiz:submit", args=[attempt.pk]), {"confirm": "yes"})
    url = reverse("quiz:report_problem", args=[attempt.pk, 0])
    assert client.post(url, {"message": "no"}).status_code == 422
    assert client.post(url, {"message": "Option B is also correct since 2025."}).status_code == 302
    report = ProblemReport.objects.get()
    assert report.question_id == attempt.items.get(position=0).question_id


def test_retry_my_mistakes_uses_wrong_and_flagged_questions_newest_first():
    exam = make_exam(question_count=10, unscored=0)
    user = UserFactory()
    attempt = start(user, exam)
    items = list(attempt.items.select_related("version"))

    def save(attempt, item, tokens):  # type: ignore[no-untyped-def]
        services.answer_save(
            user=user, attempt_id=attempt.pk, position=item.position, tokens=tokens, seq=1, now=NOW
        )

    for item in items[:6]:
        save(attempt, item, correct_tokens(item))
    services.item_flag(user=user, attempt_id=attempt.pk, position=items[0].position, flagged=True)
    services.attempt_submit(user=user, attempt_id=attempt.pk, now=NOW)
    retry = start(user, exam, mode="mistakes", now=NOW + dt.timedelta(minutes=1))
    expected = {i.question_id for i in items[6:]} | {items[0].question_id}
    assert set(retry.items.values_list("question_id", flat=True)) == expected

    # Working them off: the retry gets two right (one of them the flagged one) and one wrong.
    retried = {i.question_id: i for i in retry.items.select_related("version")}
    fixed = [items[0].question_id, items[6].question_id]
    for question_id in fixed:
        save(retry, retried[question_id], correct_tokens(retried[question_id]))
    missed = retried[items[7].question_id]
    save(retry, missed, wrong_tokens(missed))
    services.attempt_submit(user=user, attempt_id=retry.pk, now=NOW + dt.timedelta(minutes=5))
    again = start(user, exam, mode="mistakes", now=NOW + dt.timedelta(minutes=6))
    remaining = list(again.items.order_by("position").values_list("question_id", flat=True))
    assert set(remaining) == expected - set(fixed)
    # Left unanswered again, they stay on the list.
    services.attempt_submit(user=user, attempt_id=again.pk, now=NOW + dt.timedelta(minutes=7))
    due = spacing.review_schedule(user.pk, exam.pk).due(NOW + dt.timedelta(minutes=8))
    assert {card.question_id for card in due} == expected - set(fixed)


def test_history_lists_attempts(client):
    exam = make_exam()
    user = UserFactory()
    attempt = start(user, exam, now=timezone.now())
    attempt = services.attempt_submit(user=user, attempt_id=attempt.pk, now=timezone.now())
    client.force_login(user)
    page = client.get(reverse("quiz:history")).content.decode()
    assert "Full mock exam" in page and str(attempt.scaled_score) in page


def test_key_correction_rescores_exactly_the_affected_attempts():
    exam = make_exam(question_count=10, unscored=0)
    staff = UserFactory(is_staff=True)
    alice, bob = UserFactory(), UserFactory()
    a = start(alice, exam)
    b = start(bob, exam)
    target = a.items.select_related("version").get(position=0)
    for attempt, user in ((a, alice), (b, bob)):
        for item in attempt.items.select_related("version"):
            tokens = wrong_tokens(item) if item.question_id == target.question_id else correct_tokens(item)
            services.answer_save(
                user=user, attempt_id=attempt.pk, position=item.position, tokens=tokens, seq=1, now=NOW
            )
        services.attempt_submit(user=user, attempt_id=attempt.pk, now=NOW)
    a.refresh_from_db()
    b.refresh_from_db()
    b_had_target = b.items.filter(question_id=target.question_id).exists()
    before = {a.pk: a.scored_correct, b.pk: b.scored_correct}
    other = Attempt.objects.create(
        user=UserFactory(), exam=exam, mode="drill", question_count=0, status="abandoned"
    )

    chosen = wrong_tokens(target)
    new_key = target.indexes_for_tokens(chosen)
    correction = services.key_correct(
        version=target.version, correct_indexes=new_key, staff=staff, note="Key was B", now=NOW
    )

    a.refresh_from_db()
    b.refresh_from_db()
    assert a.scored_correct == before[a.pk] + 1
    assert b.scored_correct == before[b.pk] + (1 if b_had_target else 0)
    assert correction.attempts_rescored == (2 if b_had_target else 1)
    assert KeyCorrection.objects.get().changed_by == staff
    other.refresh_from_db()
    assert other.scored_correct is None
    assert Question.objects.get(pk=target.question_id).choices.filter(correct=True).count() == len(new_key)


def test_editing_a_question_keeps_what_past_attempts_showed():
    exam = make_exam()
    user = UserFactory()
    attempt = start(user, exam)
    item = attempt.items.select_related("question").get(position=0)
    old_stem = item.version.data["stem"]
    question = item.question
    question.stem = "A rewritten stem"
    question.save()
    question.sync_version()
    item.refresh_from_db()
    assert item.version.data["stem"] == old_stem
    assert question.current_version.data["stem"] == "A rewritten stem"


def test_time_spent_is_recorded_on_the_server(client):
    exam = make_exam()
    user = UserFactory()
    attempt = start(user, exam, now=timezone.now() - dt.timedelta(seconds=40))
    client.force_login(user)
    client.get(reverse("quiz:question", args=[attempt.pk, 1]))
    spent = attempt.items.get(position=0).time_spent_ms
    assert 39_000 <= spent <= 60_000
    # The review shows it on each question (and nothing for a question never on screen).
    client.post(reverse("quiz:submit", args=[attempt.pk]), {"confirm": "yes"})
    first, second = attempt.items.order_by("position")[:2]
    review = client.get(reverse("quiz:review", args=[attempt.pk])).content.decode()
    assert f"{first.time_spent_text} on screen" in review
    assert review.count(" on screen</span>") == 2 and second.time_spent_ms > 0


def test_time_spent_reads_in_minutes_and_seconds():
    assert AttemptItem(time_spent_ms=42_400).time_spent_text == "42 s"
    assert AttemptItem(time_spent_ms=65_000).time_spent_text == "1 min 05 s"
    assert AttemptItem(time_spent_ms=0).time_spent_text == "0 s"


def test_question_page_and_answer_save_run_a_fixed_number_of_queries(client, django_assert_num_queries):
    exam = make_exam(per_domain=30)
    user = UserFactory()
    attempt = start(user, exam, now=timezone.now())
    client.force_login(user)
    client.get(reverse("quiz:question", args=[attempt.pk, 0]))
    item = attempt.items.get(position=0)
    # session with its user, the read of item + attempt + version, the guarded UPDATE (autocommit)
    with django_assert_num_queries(3):
        client.post(
            reverse("quiz:save_answer", args=[attempt.pk, 0]), {"choice": item.choice_tokens[:1], "seq": 1}
        )
    with django_assert_num_queries(4):
        client.get(reverse("quiz:question", args=[attempt.pk, 0]))


def test_building_an_attempt_takes_constant_queries(django_assert_max_num_queries):
    small = make_exam("SML-C01", per_domain=6)
    big = make_exam("BIG-C01", per_domain=60)
    counts = []
    for exam in (small, big):
        user = UserFactory()
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            start(user, exam)
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]


ATTEMPT_URLS = [
    ("get", "quiz:attempt", False),
    ("get", "quiz:question", True),
    ("post", "quiz:save_answer", True),
    ("post", "quiz:flag", True),
    ("post", "quiz:check_answer", True),
    ("post", "quiz:report_problem", True),
    ("get", "quiz:clock", False),
    ("get", "quiz:submit_review", False),
    ("post", "quiz:submit", False),
    ("post", "quiz:abandon", False),
    ("get", "quiz:results", False),
    ("get", "quiz:review", False),
]


@pytest.mark.parametrize(("method", "name", "positional"), ATTEMPT_URLS)
def test_another_users_attempt_is_404_and_unchanged(client, method, name, positional):
    exam = make_exam()
    owner = UserFactory()
    attempt = start(owner, exam, mode="practice", count=4, now=timezone.now())
    item = attempt.items.get(position=0)
    client.force_login(UserFactory())
    args = [attempt.pk, 0] if positional else [attempt.pk]
    data = {
        "choice": item.choice_tokens[:1],
        "seq": 1,
        "confirm": "yes",
        "flagged": "1",
        "message": "hello there",
    }
    response = getattr(client, method)(reverse(name, args=args), data if method == "post" else None)
    assert response.status_code == 404
    attempt.refresh_from_db()
    item.refresh_from_db()
    assert attempt.status == "open" and item.selected == [] and not item.flagged and not item.checked
    assert not ProblemReport.objects.exists()


def test_submit_credits_the_last_question_on_screen():
    exam = make_exam()
    user = UserFactory()
    attempt = start(user, exam)
    services.note_position(attempt=attempt, position=3, now=NOW + dt.timedelta(seconds=30))
    services.attempt_submit(user=user, attempt_id=attempt.pk, now=NOW + dt.timedelta(seconds=100))
    spent = dict(attempt.items.values_list("position", "time_spent_ms"))
    assert spent[0] == 30_000 and spent[3] == 70_000


def test_navigator_links_every_question_of_the_attempt(client):
    exam = make_exam(per_domain=30)
    user = UserFactory()
    attempt = start(user, exam, now=timezone.now())
    client.force_login(user)
    page = client.get(reverse("quiz:question", args=[attempt.pk, 3])).content.decode()
    for position in range(attempt.question_count):
        url = reverse("quiz:question", args=[attempt.pk, position])
        assert f'href="{url}"' in page and f'hx-get="{url}"' in page


def test_navigator_shows_each_question_state(client):
    exam = make_exam(per_domain=30)
    user = UserFactory()
    attempt = start(user, exam, now=timezone.now())
    AttemptItem.objects.filter(attempt=attempt, position=1).update(selected=[0])
    AttemptItem.objects.filter(attempt=attempt, position=2).update(flagged=True)
    AttemptItem.objects.filter(attempt=attempt, position=4).update(selected=[1], flagged=True)
    client.force_login(user)
    page = client.get(reverse("quiz:question", args=[attempt.pk, 3])).content.decode()
    found = re.findall(r'class="(nav-item[^"]*)" data-nav-position="(\d+)"', page)
    states = {int(position): css for css, position in found}
    assert len(states) == attempt.question_count
    assert states[0] == "nav-item"
    assert states[1] == "nav-item answered"
    assert states[2] == "nav-item flagged"
    assert states[3] == "nav-item current"
    assert states[4] == "nav-item answered flagged"
    assert (
        'data-nav-position="3" aria-current="step">4<span class="visually-hidden"> unanswered</span>' in page
    )
    assert '>5<span class="visually-hidden"> answered, flagged</span>' in page
    assert page.count('aria-current="step"') == 1


def test_versions_store_their_option_count_and_the_migration_fills_it():
    import importlib

    from django.apps import apps

    from questions.models import QuestionVersion

    migration = importlib.import_module("questions.migrations.0002_version_choice_count")
    make_exam(per_domain=5)  # every fifth question has five options, the rest four
    versions = QuestionVersion.objects.all()
    assert {(v.choice_count, len(v.data["choices"])) for v in versions} == {(4, 4), (5, 5)}
    versions.update(choice_count=0)
    migration.count_choices(apps, None)
    assert {(v.choice_count, len(v.data["choices"])) for v in versions} == {(4, 4), (5, 5)}


def test_the_start_form_offers_the_chosen_exams_own_domains_and_services(client):
    from questions.models import Question, Tag

    make_exam("TST-A01", per_domain=12)
    dva = make_exam("TST-B01", weights=(32, 26, 24, 18), per_domain=12)
    dva.domains.filter(number=1).update(name="Development with AWS services")
    lambda_tag = Tag.objects.create(kind=Tag.Kind.SERVICE, name="AWS Lambda")
    Question.objects.filter(exam=dva).first().tags.add(lambda_tag)
    Tag.objects.create(kind=Tag.Kind.SERVICE, name="Unused service")
    client.force_login(UserFactory())

    page = client.get(reverse("quiz:start") + "?exam=TST-B01").content.decode()
    assert re.search(r'<option value="TST-B01"[^>]*selected', page)
    assert "1. Development with AWS services" in page
    # An exam that does not exist falls back to the first, as the select shows it.
    assert 'data-exam="TST-A01"' in client.get(reverse("quiz:start") + "?exam=NOPE").content.decode()
    assert "AWS Lambda" in page and "Amazon S3" in page and "Unused service" not in page

    # Choosing another exam swaps in only its options (an htmx GET): its domains and services.
    fragment = client.get(
        reverse("quiz:start"), {"exam": "TST-A01", "count": "7"}, headers={"HX-Request": "true"}
    ).content.decode()
    assert fragment.lstrip().startswith('<div id="exam-options" data-exam="TST-A01">')
    assert "1. Domain 1 name" in fragment and "Development with AWS services" not in fragment
    assert "AWS Lambda" not in fragment and "Amazon S3" in fragment
    assert 'value="7"' in fragment  # the count typed so far is kept


def test_the_start_page_opens_on_the_target_exam_else_the_last_one_practised(client):
    first = make_exam("TST-A01")
    second = make_exam("TST-B01")
    user = UserFactory()
    client.force_login(user)
    selected = r'<option value="{}"[^>]*selected'
    assert 'data-exam="TST-A01"' in client.get(reverse("quiz:start")).content.decode()  # the first
    start(user, second, now=timezone.now())
    assert re.search(selected.format("TST-B01"), client.get(reverse("quiz:start")).content.decode())
    user.target_exam = first
    user.save()
    assert re.search(selected.format("TST-A01"), client.get(reverse("quiz:start")).content.decode())
    page = client.get(reverse("quiz:start") + "?exam=TST-B01").content.decode()  # the link's exam wins
    assert re.search(selected.format("TST-B01"), page)


def test_a_domain_the_exam_does_not_have_is_refused_with_a_clear_message(client):
    exam = make_exam()
    client.force_login(UserFactory())
    response = client.post(
        reverse("quiz:start"), {"exam": exam.code, "mode": "drill", "count": "5", "domains": ["2", "7"]}
    )
    assert response.status_code == 422
    assert "This exam has no domain 7." in response.content.decode()
    assert not Attempt.objects.exists()


def test_the_recommended_drill_link_opens_the_form_with_its_domains_ticked(client):
    exam = make_exam()
    client.force_login(UserFactory())
    page = client.get(reverse("quiz:start") + f"?exam={exam.code}&mode=drill&domains=3,1").content.decode()
    ticked = re.findall(r'<input type="checkbox" name="domains" value="(\d)"[^>]*checked', page)
    assert sorted(ticked) == ["1", "3"]
    assert re.search(r'<input type="radio" name="mode" value="drill"[^>]*checked', page)


def test_weakest_domains_are_the_ones_below_the_bar_lowest_first():
    attempt = Attempt(
        domain_results=[
            {"number": 1, "correct": 5, "total": 10, "label": "Needs improvement"},
            {"number": 2, "correct": 9, "total": 10, "label": "Meets competencies"},
            {"number": 3, "correct": 2, "total": 10, "label": "Needs improvement"},
            {"number": 4, "correct": 6, "total": 10, "label": "Needs improvement"},
        ]
    )
    assert attempt.weakest_domains() == [3, 1]
    attempt.domain_results = [{"number": 1, "correct": 9, "total": 10, "label": "Meets competencies"}]
    assert attempt.weakest_domains() == []


def test_the_results_page_offers_a_drill_of_the_weakest_domains(client):
    exam = make_exam()
    user = UserFactory()
    attempt = start(user, exam, now=timezone.now())
    client.force_login(user)
    client.post(reverse("quiz:submit", args=[attempt.pk]), {"confirm": "yes"})  # all unanswered: all below
    attempt.refresh_from_db()
    weakest = attempt.weakest_domains()
    assert len(weakest) == 2
    page = client.get(reverse("quiz:results", args=[attempt.pk])).content.decode()
    link = re.search(r'<a class="button" id="drill-weakest" href="([^"]+)">([^<]+)</a>', page)
    assert link is not None
    assert link.group(2) == f"Drill domains {weakest[0]} and {weakest[1]}"
    drill = client.get(link.group(1).replace("&amp;", "&")).content.decode()
    ticked = re.findall(r'<input type="checkbox" name="domains" value="(\d)"[^>]*checked', drill)
    assert sorted(ticked) == sorted(str(n) for n in weakest)
    # Missed questions: the results page also offers to retry them, with the mode chosen.
    retry = re.search(r'<a class="button" id="retry-mistakes" href="([^"]+)">Retry my mistakes</a>', page)
    assert retry is not None
    form = client.get(retry.group(1).replace("&amp;", "&")).content.decode()
    assert re.search(r'<input type="radio" name="mode" value="mistakes"[^>]*checked', form)


def test_a_perfect_attempt_offers_no_retry_of_mistakes(client):
    exam = make_exam(question_count=10, unscored=0)
    user = UserFactory()
    attempt = start(user, exam, now=timezone.now())
    for item in attempt.items.select_related("version"):
        services.answer_save(
            user=user, attempt_id=attempt.pk, position=item.position, tokens=correct_tokens(item), seq=1,
            now=timezone.now(),
        )  # fmt: skip
    client.force_login(user)
    client.post(reverse("quiz:submit", args=[attempt.pk]), {"confirm": "yes"})
    page = client.get(reverse("quiz:results", args=[attempt.pk])).content.decode()
    assert "10 / 10" in page and 'id="retry-mistakes"' not in page


def test_a_start_with_nothing_ticked_looks_up_only_the_exam(django_assert_num_queries):
    from quiz.forms import StartForm

    exam = make_exam()
    data = {"exam": exam.code, "mode": "full", "count": 10, "include_pilot": "on", "timed": "on"}
    with django_assert_num_queries(1):  # the exam field's own lookup; domains and services stay lazy
        form = StartForm(data)
        assert form.is_valid(), form.errors
    with django_assert_num_queries(2):  # ticked domains are checked against the exam's own
        form = StartForm({**data, "mode": "drill", "domains": ["1", "2"]})
        assert form.is_valid(), form.errors
