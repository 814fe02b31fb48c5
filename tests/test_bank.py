"""The shipped bank: valid, big enough for four non-overlapping full mocks per exam, healthy."""

from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from questions.bankfile import check_bank
from questions.blueprint import domain_counts, full_mock_needs
from questions.models import Exam
from questions.stats import exam_stats, near_duplicates
from quiz import services
from tests.factories import UserFactory

MINIMUMS = {
    "SAA-C03": {1: 90, 2: 78, 3: 72, 4: 60},
    "DVA-C02": {1: 92, 2: 75, 3: 66, 4: 53},
}


def test_blueprint_counts_use_largest_remainder():
    weights = {1: 30, 2: 26, 3: 24, 4: 20}
    assert domain_counts(50, weights) == {1: 15, 2: 13, 3: 12, 4: 10}
    assert domain_counts(15, weights) == {1: 4, 2: 4, 3: 4, 4: 3}
    assert full_mock_needs(65, 15, weights) == {1: 19, 2: 17, 3: 16, 4: 13}
    assert sum(domain_counts(7, weights).values()) == 7


def test_shipped_bank_files_validate():
    result = check_bank(Path(settings.BANK_DIR))
    assert result.problems == []
    assert set(result.exams) >= set(MINIMUMS)


@pytest.fixture(scope="module")
def shipped_bank(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        call_command("import_questions", str(settings.BANK_DIR), "--sync", verbosity=0)
        yield
        from questions.models import Choice, Question, QuestionVersion, Tag

        Question.objects.update(current_version=None)
        QuestionVersion.objects.all().delete()
        Choice.objects.all().delete()
        Question.objects.all().delete()
        Tag.objects.all().delete()
        Exam.objects.all().delete()


@pytest.mark.django_db
@pytest.mark.parametrize("code", sorted(MINIMUMS))
def test_shipped_bank_meets_the_content_minimums(shipped_bank, code):
    stats = exam_stats(Exam.objects.get(code=code))
    published = {d["number"]: d["published"] for d in stats["domains"]}
    for number, minimum in MINIMUMS[code].items():
        assert published[number] >= minimum, f"{code} domain {number}: {published[number]} < {minimum}"
    assert stats["full_mocks_without_overlap"] >= 4
    assert 0.15 <= stats["multiple_response_share"] <= 0.3
    assert stats["near_duplicates"] == []
    assert all(ids == [] for ids in stats["missing"].values()), stats["missing"]
    assert all(d["longest_key_share"] < 1 / 3 for d in stats["domains"])


@pytest.mark.django_db
@pytest.mark.parametrize("code", sorted(MINIMUMS))
def test_four_full_mocks_in_a_row_never_repeat_a_question(shipped_bank, code):
    exam = Exam.objects.get(code=code)
    user = UserFactory()
    seen: set[int] = set()
    for n in range(4):
        attempt = services.attempt_start(
            user=user, exam=exam, options=services.StartOptions(mode="full"), now=timezone.now(), seed=n
        )
        ids = set(attempt.items.values_list("question_id", flat=True))
        assert len(ids) == 65
        assert not ids & seen
        seen |= ids
        services.attempt_abandon(user=user, attempt_id=attempt.pk, now=timezone.now())


def test_near_duplicate_measure_flags_reworded_copies():
    stems = {
        "a": "A company stores logs in S3 and wants to keep them for seven years at the lowest cost.",
        "b": "A company stores logs in S3 and wants to keep them for ten years at the lowest cost.",
        "c": "A web tier behind an ALB must survive the loss of an Availability Zone.",
    }
    pairs = near_duplicates(stems)
    assert [(a, b) for a, b, _ in pairs] == [("a", "b")]
