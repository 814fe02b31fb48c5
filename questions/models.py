"""The question bank: exams and their blueprints, tags, questions and choices.

Every question keeps immutable :class:`QuestionVersion` snapshots. Attempts
point at the version they showed, so editing a question later never changes a
recorded result or what a learner sees in review. The only path that changes a
recorded key is the staff key correction in the exam engine.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.db import models, transaction
from django.db.models import Q

from questions.blueprint import domain_counts, full_mock_needs


class Exam(models.Model):
    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=200)
    question_count = models.PositiveSmallIntegerField()
    unscored_count = models.PositiveSmallIntegerField(default=0)
    duration_minutes = models.PositiveSmallIntegerField()
    score_min = models.PositiveSmallIntegerField(default=100)
    score_max = models.PositiveSmallIntegerField(default=1000)
    passing_score = models.PositiveSmallIntegerField()
    passing_raw_percent = models.FloatField(
        help_text="Raw % of scored items assumed to map to the passing score."
    )

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(unscored_count__lt=models.F("question_count")),
                name="exam_unscored_below_count",
            ),
            models.CheckConstraint(
                condition=Q(passing_raw_percent__gt=0) & Q(passing_raw_percent__lt=100),
                name="exam_passing_raw_percent_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def scored_count(self) -> int:
        return self.question_count - self.unscored_count

    @property
    def seconds_per_question(self) -> float:
        return self.duration_minutes * 60 / self.question_count

    def weights(self) -> dict[int, float]:
        return {d.number: d.weight for d in self.domains.all()}

    def domain_counts(self, n: int) -> dict[int, int]:
        return domain_counts(n, self.weights())

    def full_mock_needs(self) -> dict[int, int]:
        return full_mock_needs(self.question_count, self.unscored_count, self.weights())


class Domain(models.Model):
    exam = models.ForeignKey(Exam, on_delete=models.CASCADE, related_name="domains")
    number = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=200)
    weight = models.FloatField(help_text="Share of scored items, in percent.")

    class Meta:
        ordering = ["exam", "number"]
        constraints = [
            models.UniqueConstraint(fields=["exam", "number"], name="domain_number_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.exam.code} D{self.number} {self.name}"


class TaskStatement(models.Model):
    domain = models.ForeignKey(Domain, on_delete=models.CASCADE, related_name="task_statements")
    code = models.CharField(max_length=10)
    name = models.CharField(max_length=300)

    class Meta:
        ordering = ["domain", "code"]
        constraints = [
            models.UniqueConstraint(fields=["domain", "code"], name="task_code_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Tag(models.Model):
    class Kind(models.TextChoices):
        SERVICE = "service", "AWS service"
        TOPIC = "topic", "Topic"
        FACET = "facet", "Facet"

    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=Kind.choices)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [models.UniqueConstraint(fields=["kind", "name"], name="tag_kind_name_unique")]

    def __str__(self) -> str:
        return self.name


class QuestionQuerySet(models.QuerySet["Question"]):
    def published(self) -> QuestionQuerySet:
        return self.filter(status=Question.Status.PUBLISHED)

    def for_exam(self, exam: Exam) -> QuestionQuerySet:
        return self.filter(exam=exam)


class Question(models.Model):
    class Type(models.TextChoices):
        SINGLE = "single", "Single answer"
        MULTIPLE = "multiple", "Multiple response"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"
        RETIRED = "retired", "Retired"

    class Origin(models.TextChoices):
        BUNDLED = "bundled", "Bundled bank files"
        IMPORTED = "imported", "Imported file"
        ADMIN = "admin", "Made in the admin"

    external_id = models.CharField("id", max_length=100, unique=True)
    exam = models.ForeignKey(Exam, on_delete=models.PROTECT, related_name="questions")
    domain = models.ForeignKey(
        Domain, on_delete=models.PROTECT, related_name="questions", null=True, blank=True
    )
    task = models.ForeignKey(
        TaskStatement, on_delete=models.SET_NULL, null=True, blank=True, related_name="questions"
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="questions")
    type = models.CharField(max_length=10, choices=Type.choices, default=Type.SINGLE)
    choose = models.PositiveSmallIntegerField(default=1, help_text="How many options to choose.")
    stem = models.TextField(help_text="Markdown.")
    explanation = models.TextField(blank=True, help_text="Markdown.")
    references = models.JSONField(default=list, blank=True, help_text='[{"title": ..., "url": ...}]')
    difficulty = models.PositiveSmallIntegerField(default=2)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True)
    provenance = models.CharField(max_length=300, blank=True)
    verified_as_of = models.DateField(null=True, blank=True)
    origin = models.CharField(max_length=10, choices=Origin.choices, default=Origin.ADMIN)
    content_hash = models.CharField(max_length=64, blank=True, db_index=True)
    current_version = models.ForeignKey(
        "QuestionVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="current_of"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = QuestionQuerySet.as_manager()

    class Meta:
        ordering = ["external_id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(difficulty__gte=1) & Q(difficulty__lte=3), name="question_difficulty_1_3"
            ),
            models.CheckConstraint(condition=Q(choose__gte=1), name="question_choose_positive"),
        ]
        indexes = [
            # Covers the draw's pool query (quiz.assembly), so PostgreSQL can answer it from the index.
            models.Index(
                fields=["exam", "status", "domain"],
                include=["id", "current_version"],
                name="question_pool_idx",
            )
        ]

    def __str__(self) -> str:
        return self.external_id

    def snapshot_data(self, choices: list[Choice] | None = None) -> dict[str, Any]:
        """What a candidate is shown and graded on: the content a version freezes."""
        choices = choices if choices is not None else list(self.choices.all())
        return {
            "type": self.type,
            "choose": self.choose,
            "stem": self.stem,
            "explanation": self.explanation,
            "references": self.references,
            "choices": [{"text": c.text, "correct": c.correct, "rationale": c.rationale} for c in choices],
        }

    @transaction.atomic
    def sync_version(self) -> QuestionVersion:
        """Freeze the current content as a version (reusing one with equal content)."""
        data = self.snapshot_data()
        digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
        version = self.versions.filter(content_hash=digest).first()
        if version is None:
            number = (self.versions.aggregate(n=models.Max("number"))["n"] or 0) + 1
            version = QuestionVersion.objects.create(
                question=self,
                number=number,
                content_hash=digest,
                data=data,
                choice_count=len(data["choices"]),
            )
        if self.current_version_id != version.pk:
            self.current_version = version
            Question.objects.filter(pk=self.pk).update(current_version=version)
        return version


class Choice(models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="choices")
    position = models.PositiveSmallIntegerField(default=0)
    text = models.TextField(help_text="Markdown.")
    correct = models.BooleanField(default=False)
    rationale = models.TextField(blank=True, help_text="Why this option is right or wrong. Markdown.")

    class Meta:
        ordering = ["question", "position", "pk"]

    def __str__(self) -> str:
        return self.text[:60]


class QuestionVersion(models.Model):
    """An immutable snapshot of a question's content, as attempts showed it.

    ``data`` holds type, choose, stem, explanation, references and choices
    (text, correct, rationale) in authored order. Only a staff key correction
    may change the ``correct`` flags of an existing version.
    """

    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    content_hash = models.CharField(max_length=64)
    data = models.JSONField()
    # len(data["choices"]), which a key correction cannot change: stored so that drawing
    # an attempt reads neither the JSON nor the choices.
    choice_count = models.PositiveSmallIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["question", "number"]
        constraints = [
            models.UniqueConstraint(fields=["question", "number"], name="version_number_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.question_id} v{self.number}"

    @property
    def choices(self) -> list[dict[str, Any]]:
        return list(self.data["choices"])

    def correct_indexes(self) -> set[int]:
        return {i for i, c in enumerate(self.data["choices"]) if c["correct"]}
