import datetime as dt
import math
import zoneinfo

import pytest
from django.urls import reverse
from django.utils import timezone

from questions.models import Exam
from quiz import services
from quiz.labels import BORDERLINE, MEETS, NEEDS, NOT_ENOUGH, attempt_label, report_label, wilson_interval
from quiz.models import Report
from quiz.reports import recency_weight, report_compute, report_refresh
from quiz.tasks import compute_report, refresh_stale_reports
from tests.factories import UserFactory, make_exam

NOW = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC)


def test_wilson_interval_matches_hand_computed_values():
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(0.4902, abs=1e-4)
    assert high == pytest.approx(0.9433, abs=1e-4)
    assert wilson_interval(0, 0) == (0.0, 1.0)
    low, high = wilson_interval(0, 5)
    assert low == 0.0 and high == pytest.approx(0.4345, abs=1e-4)


def test_labels_at_the_edges():
    bar = 0.72
    assert attempt_label(18, 25, bar) == MEETS  # exactly 72%
    assert attempt_label(17, 25, bar) == NEEDS
    assert report_label(0.72, 0.9, bar, answered=5) == MEETS
    assert report_label(0.5, 0.7199, bar, answered=5) == NEEDS
    assert report_label(0.72, 0.9, bar, answered=4) == NOT_ENOUGH  # too few to say anything
    # An interval that holds the bar: few answers know little; many put the domain near the bar.
    assert report_label(0.6, 0.8, bar, answered=19) == NOT_ENOUGH
    assert report_label(0.6, 0.8, bar, answered=20) == BORDERLINE


def test_a_domain_near_the_bar_after_many_answers_is_borderline_not_unknown():
    # 24 of 38 right (63%): the 95% interval is about 47%-77%, which holds the 72% bar.
    low, high = wilson_interval(24, 38)
    assert low < 0.72 < high
    assert report_label(low, high, 0.72, answered=38) == BORDERLINE
    low, high = wilson_interval(5, 8)
    assert report_label(low, high, 0.72, answered=8) == NOT_ENOUGH


def test_recency_weight_halves_every_thirty_days():
    assert recency_weight(0) == 1.0
    assert recency_weight(30) == pytest.approx(0.5)
    assert recency_weight(60) == pytest.approx(0.25)


def _finished_attempt(user, exam, *, right: set[int], now=NOW):
    attempt = services.attempt_start(
        user=user, exam=exam, options=services.StartOptions(mode="full"), now=now, seed=3
    )
    for item in attempt.items.select_related("version"):
        key = item.version.correct_indexes()
        if item.position in right:
            tokens = [t for t, i in zip(item.choice_tokens, item.choice_order, strict=True) if i in key]
        else:
            tokens = [
                next(t for t, i in zip(item.choice_tokens, item.choice_order, strict=True) if i not in key)
            ]
        services.answer_save(
            user=user, attempt_id=attempt.pk, position=item.position, tokens=tokens, seq=1, now=now
        )
    return services.attempt_submit(user=user, attempt_id=attempt.pk, now=now + dt.timedelta(minutes=10))


@pytest.mark.django_db
def test_report_counts_every_answer_including_pilot_items():
    exam = make_exam(question_count=10, unscored=2)
    user = UserFactory()
    _finished_attempt(user, exam, right=set(range(6)))
    data = report_compute(user_id=user.pk, exam_id=exam.pk, now=NOW + dt.timedelta(hours=1))
    assert data["answered"] == 10
    assert sum(d["correct"] for d in data["domains"]) == 6
    assert data["readiness"]["low"] <= data["readiness"]["score"] <= data["readiness"]["high"]
    assert 0 <= data["readiness"]["pass_probability"] <= 1
    assert data["history"][0]["score"] is not None


@pytest.mark.django_db
def test_task_run_twice_gives_one_report_equal_to_a_clean_recompute():
    exam = make_exam(question_count=10, unscored=0)
    user = UserFactory()
    _finished_attempt(user, exam, right={0, 1, 2})
    compute_report.apply(args=(user.pk, exam.pk))
    first = Report.objects.get(user=user, exam=exam)
    compute_report.apply(args=(user.pk, exam.pk))
    assert Report.objects.filter(user=user, exam=exam).count() == 1
    second = Report.objects.get(user=user, exam=exam)
    clean = report_compute(user_id=user.pk, exam_id=exam.pk, now=second.computed_at)
    assert second.data["domains"] == clean["domains"] == first.data["domains"]
    assert not second.stale


@pytest.mark.django_db
def test_a_submit_during_computation_keeps_the_report_stale():
    exam = make_exam(question_count=10, unscored=0)
    user = UserFactory()
    _finished_attempt(user, exam, right={0})
    Report.objects.filter(user=user, exam=exam).update(stale=True, stale_since=NOW)
    from quiz import reports

    original = reports.report_compute

    def compute_then_newer_submit(**kwargs):
        data = original(**kwargs)
        Report.objects.filter(user=user, exam=exam).update(stale_since=NOW + dt.timedelta(seconds=1))
        return data

    reports.report_compute = compute_then_newer_submit
    try:
        report_refresh(user_id=user.pk, exam_id=exam.pk, now=NOW)
    finally:
        reports.report_compute = original
    assert Report.objects.get(user=user, exam=exam).stale


@pytest.mark.django_db
def test_submit_succeeds_with_broker_unreachable_and_beat_catches_up(
    client, settings, django_capture_on_commit_callbacks
):
    from quiz.celery import app

    exam = make_exam(question_count=10, unscored=0)
    user = UserFactory()
    attempt = services.attempt_start(
        user=user, exam=exam, options=services.StartOptions(mode="full"), now=timezone.now()
    )
    client.force_login(user)
    app.conf.task_always_eager = False
    previous = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens there
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(reverse("quiz:submit", args=[attempt.pk]), {"confirm": "yes"})
    finally:
        app.conf.broker_url = previous
        app.conf.task_always_eager = True
    assert response.status_code == 302
    attempt.refresh_from_db()
    assert attempt.status == "submitted"
    assert Report.objects.get(user=user, exam=exam).stale
    refresh_stale_reports.apply()
    assert not Report.objects.get(user=user, exam=exam).stale


@pytest.mark.django_db
def test_dashboard_reads_the_stored_report_in_constant_queries(client, django_assert_num_queries):
    exam = make_exam(question_count=10, unscored=0, per_domain=30)
    counts = []
    for attempts in (1, 4):
        user = UserFactory(target_exam=exam)
        for n in range(attempts):
            _finished_attempt(user, exam, right=set(range(n + 3)), now=NOW + dt.timedelta(hours=n))
        report_refresh(user_id=user.pk, exam_id=exam.pk, now=NOW + dt.timedelta(days=1))
        client.force_login(user)
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            page = client.get(reverse("quiz:home"))
        counts.append(len(ctx.captured_queries))
        body = page.content.decode()
        assert "Readiness (estimate)" in body and "Start recommended drill" in body and "<svg" in body
    assert counts[0] == counts[1]


@pytest.mark.django_db
def test_dashboard_polls_while_the_report_is_stale(client):
    exam = make_exam(question_count=10, unscored=0)
    user = UserFactory(target_exam=exam)
    Report.objects.create(user=user, exam=exam, stale=True, stale_since=NOW)
    client.force_login(user)
    body = client.get(reverse("quiz:home")).content.decode()
    assert 'hx-trigger="every 3s"' in body
    Report.objects.filter(user=user).update(stale=False, data={})
    body = client.get(reverse("quiz:home"), headers={"HX-Request": "true"}).content.decode()
    assert "hx-trigger" not in body


@pytest.mark.django_db
def test_recommended_drill_targets_the_weakest_domains(client):
    exam = make_exam(question_count=10, unscored=0)
    user = UserFactory()
    Report.objects.create(
        user=user, exam=exam, stale=False, data={"weakest_domains": [3, 1], "weakest_tags": []}
    )
    client.force_login(user)
    response = client.get(reverse("quiz:start_recommended") + f"?exam={exam.code}")
    assert response.status_code == 302
    assert "mode=drill" in response["Location"] and "domains=3,1" in response["Location"]


@pytest.mark.django_db
def test_what_next_names_the_weakest_domains(client):
    exam = make_exam(question_count=10, unscored=0, per_domain=30)
    user = UserFactory(target_exam=exam)
    _finished_attempt(user, exam, right=set(), now=NOW)
    report_refresh(user_id=user.pk, exam_id=exam.pk, now=NOW + dt.timedelta(hours=1))
    data = Report.objects.get(user=user, exam=exam).data
    names = {d.number: d.name for d in exam.domains.all()}
    expected = "; ".join(f"{n}. {names[n]}" for n in data["weakest_domains"])
    client.force_login(user)
    body = client.get(reverse("quiz:home")).content.decode()
    assert f"Weakest domains: {expected}." in body


@pytest.mark.django_db
def test_recent_attempts_link_to_their_results_review_or_resume(client):
    exam = make_exam(question_count=10, unscored=0, per_domain=30)
    user = UserFactory(target_exam=exam)
    done = _finished_attempt(user, exam, right={0}, now=NOW)
    abandoned = services.attempt_start(
        user=user, exam=exam, options=services.StartOptions(mode="drill", count=3), now=NOW
    )
    services.attempt_abandon(user=user, attempt_id=abandoned.pk, now=NOW)
    open_one = services.attempt_start(  # one open attempt per exam: this one after the abandon
        user=user, exam=exam, options=services.StartOptions(mode="practice", count=3), now=NOW
    )
    client.force_login(user)
    body = client.get(reverse("quiz:home")).content.decode()
    assert f'href="{reverse("quiz:results", args=[done.pk])}"' in body
    assert f'href="{reverse("quiz:review", args=[done.pk])}"' in body
    assert f'href="{reverse("quiz:attempt", args=[open_one.pk])}"' in body
    assert f"/attempts/{abandoned.pk}/" not in body  # nothing to open
    assert f'href="{reverse("quiz:history")}"' in body


@pytest.mark.django_db
def test_simulated_learners_weakest_domain_and_calibration():
    from quiz.simulation import simulate

    result = simulate(learners=16, mocks=2, seed=7)
    assert result.eligible >= 3
    assert result.weakest_found[2] >= 0.6
    assert result.brier < result.brier_naive
    # Against each learner's true chance (no single-sitting noise): well ahead of the naive guess.
    assert result.error_vs_true < 0.7 * result.naive_error_vs_true


@pytest.mark.django_db
def test_the_true_pass_probability_is_the_binomial_tail():
    from quiz.simulation import real_exam_pass_probability

    exam = make_exam(question_count=10, unscored=0)  # pass mark: 7 of 10 (72%)
    domains = list(exam.domains.values_list("number", flat=True))

    def binomial_tail(p: float) -> float:
        return sum(math.comb(10, k) * p**k * (1 - p) ** (10 - k) for k in range(7, 11))

    for p in (0.0, 0.3, 0.72, 0.9, 1.0):
        assert real_exam_pass_probability(exam, dict.fromkeys(domains, p)) == pytest.approx(binomial_tail(p))


@pytest.mark.django_db
def test_activity_counts_days_in_the_learners_time_zone_and_streak():
    from quiz.reports import _activity

    exam = make_exam(question_count=10, unscored=0)
    user = UserFactory(time_zone="Pacific/Auckland")  # UTC+13 in November
    now = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC)  # 22:00 local on the 22nd
    attempt = services.attempt_start(
        user=user, exam=exam, options=services.StartOptions(mode="full"), now=now
    )
    items = list(attempt.items.all())
    for n, item in enumerate(items[:4]):
        # two answers at 23:30 local on the 21st (10:30 UTC on the 21st), two at 21:00 local on the 22nd
        item.answered_at = now - dt.timedelta(hours=23 - 0.5) if n < 2 else now - dt.timedelta(hours=1)
        item.selected = [0]
        item.save()
    activity = _activity(user.pk, exam.pk, now)
    per_day = {d["day"]: d["answered"] for d in activity["days"]}
    assert per_day["2026-11-21"] == 2 and per_day["2026-11-22"] == 2
    assert activity["streak"] == 2


@pytest.mark.django_db
def test_several_quick_submits_give_one_recomputation():
    from quiz import reports

    exam = make_exam(question_count=10, unscored=0)
    user = UserFactory()
    _finished_attempt(user, exam, right={0})
    calls = []
    original = reports.report_refresh

    def counting(**kwargs):
        calls.append(kwargs)
        return original(**kwargs)

    reports.report_refresh = counting
    try:
        results = [compute_report.apply(args=(user.pk, exam.pk)).get() for _ in range(3)]
    finally:
        reports.report_refresh = original
    assert results == [True, False, False]
    assert len(calls) == 1


@pytest.mark.django_db
def test_the_dashboard_counts_down_to_the_planned_exam_in_the_learners_time_zone(client):
    exam = make_exam(question_count=10, unscored=0)
    other = make_exam("TST-C02", question_count=10, unscored=0)
    user = UserFactory(target_exam=exam, time_zone="Pacific/Auckland")
    client.force_login(user)
    home = reverse("quiz:home")

    assert "Add its date" in client.get(home, {"exam": exam.code}).content.decode()

    today = user.local_today()  # in Auckland, often a day ahead of UTC
    user.exam_date = today + dt.timedelta(days=38)
    user.save(update_fields=["exam_date"])
    page = client.get(home, {"exam": exam.code}).content.decode()
    assert "in <strong>38 days</strong>" in page
    # The date belongs to the target exam: another exam's dashboard shows no countdown, and no prompt.
    other_page = client.get(home, {"exam": other.code}).content.decode()
    assert 'id="exam-day"' not in other_page

    user.exam_date = today
    user.save(update_fields=["exam_date"])
    assert "Your exam is today." in client.get(home, {"exam": exam.code}).content.decode()
    user.exam_date = today - dt.timedelta(days=1)
    user.save(update_fields=["exam_date"])
    assert "has passed" in client.get(home, {"exam": exam.code}).content.decode()


@pytest.mark.django_db
def test_days_to_the_exam_are_counted_from_the_learners_date_not_utcs():
    from quiz.dashboard import exam_day

    exam = make_exam(question_count=10, unscored=0)
    user = UserFactory(target_exam=exam, time_zone="Pacific/Auckland", exam_date=dt.date(2026, 12, 7))
    evening_utc = dt.datetime(2026, 12, 5, 20, 0, tzinfo=dt.UTC)  # already 6 December in Auckland
    assert exam_day(user, exam, now=evening_utc)["days"] == 1
    user.time_zone = "UTC"
    assert exam_day(user, exam, now=evening_utc)["days"] == 2


def test_score_chart_labels_scores_axis_and_dates_in_the_learners_zone():
    from quiz.charts import MAX_DOT_LABELS, score_history_svg
    from quiz.dashboard import history_in_zone

    exam = Exam(code="CHT-C01", name="Chart", score_min=100, score_max=1000, passing_score=720)  # unsaved
    history = [
        {"at": "2026-11-15T23:30:00+00:00", "score": 655, "passed": False},
        {"at": "2026-11-20T10:00:00+00:00", "score": 781, "passed": True},
    ]
    history = history_in_zone(history, zoneinfo.ZoneInfo("Pacific/Auckland"))  # UTC+13 in November
    svg = score_history_svg(history, exam)
    assert ">655</text>" in svg and ">781</text>" in svg  # each mock's score is written by its dot
    assert ">pass 720</text>" in svg and ">1000</text>" in svg and ">100</text>" in svg
    assert ">16 Nov</text>" in svg and ">20 Nov</text>" in svg  # 23:30 UTC is the next day in Auckland
    assert "655 on 16 Nov" in svg
    many = [dict(history[1], score=700 + i) for i in range(MAX_DOT_LABELS + 1)]
    assert ">700</text>" not in score_history_svg(many, exam)  # too many to write: tooltips only
    assert "<title>700 on 20 Nov</title>" in score_history_svg(many, exam)


def test_activity_chart_names_its_busiest_day_and_its_first_and_last_dates():
    from quiz.charts import activity_svg

    days = [{"day": f"2026-11-{d:02d}", "answered": d % 7} for d in range(1, 31)]
    svg = activity_svg(days)
    assert "most in a day: 6" in svg
    assert ">1 Nov</text>" in svg and ">30 Nov</text>" in svg
    assert svg.count("<rect") == 30
