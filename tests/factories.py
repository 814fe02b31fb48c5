from __future__ import annotations

import factory
from factory.django import DjangoModelFactory

from accounts.models import User

PASSWORD = "correct horse battery staple"


class UserFactory(DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"learner{n}@example.com")
    display_name = factory.Faker("first_name")
    password = factory.django.Password(PASSWORD)


def make_exam(
    code: str = "TST-C01",
    *,
    per_domain: int = 12,
    weights: tuple[float, ...] = (30, 26, 24, 20),
    question_count: int = 10,
    unscored: int = 2,
    duration: int = 20,
    multiple_every: int = 5,
):
    """An exam with published questions in every domain (each with a frozen version)."""
    from questions.models import Choice, Domain, Exam, Question, Tag

    exam = Exam.objects.create(
        code=code,
        name=f"Test exam {code}",
        question_count=question_count,
        unscored_count=unscored,
        duration_minutes=duration,
        passing_score=720,
        passing_raw_percent=72,
    )
    service, _ = Tag.objects.get_or_create(kind=Tag.Kind.SERVICE, name="Amazon S3")
    for number, weight in enumerate(weights, start=1):
        domain = Domain.objects.create(exam=exam, number=number, name=f"Domain {number} name", weight=weight)
        for n in range(1, per_domain + 1):
            multiple = multiple_every and n % multiple_every == 0
            question = Question.objects.create(
                external_id=f"{code}-D{number}-{n:03d}",
                exam=exam,
                domain=domain,
                type="multiple" if multiple else "single",
                choose=2 if multiple else 1,
                stem=f"Stem {number}.{n}: which option is right?" + (" (Choose two.)" if multiple else ""),
                explanation=f"Explanation {number}.{n}",
                status="published",
                origin="bundled",
                provenance="beyond seeds",
            )
            count = 5 if multiple else 4
            correct = {0, 2} if multiple else {n % 4}
            Choice.objects.bulk_create(
                Choice(
                    question=question,
                    position=i,
                    text=f"Option {i} of {number}.{n}",
                    correct=i in correct,
                    rationale=f"Rationale {i} of {number}.{n}",
                )
                for i in range(count)
            )
            question.tags.add(service)
            question.sync_version()
    return exam
