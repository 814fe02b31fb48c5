"""Attempts at mock exams and the answers given in them.

An attempt stores everything needed to show it again exactly as it was: which
question versions it drew, in what order, with which option order and which
opaque option tokens, and the server-owned deadline.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from quiz.labels import NEEDS


class Attempt(models.Model):
    class Mode(models.TextChoices):
        FULL = "full", "Full mock exam"
        DRILL = "drill", "Domain or topic drill"
        PRACTICE = "practice", "Practice (untimed, check answers)"
        MISTAKES = "mistakes", "Retry my mistakes"

    class Status(models.TextChoices):
        OPEN = "open", "In progress"
        SUBMITTED = "submitted", "Submitted"
        ABANDONED = "abandoned", "Abandoned"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="attempts")
    exam = models.ForeignKey("questions.Exam", on_delete=models.PROTECT, related_name="attempts")
    mode = models.CharField(max_length=10, choices=Mode.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    started_at = models.DateTimeField(default=timezone.now)
    deadline = models.DateTimeField(null=True, blank=True, help_text="Empty for untimed attempts.")
    submitted_at = models.DateTimeField(null=True, blank=True)
    auto_submitted = models.BooleanField(default=False)
    question_count = models.PositiveSmallIntegerField()
    include_pilot = models.BooleanField(default=False)
    settings = models.JSONField(default=dict, blank=True, help_text="Chosen domains, tags and options.")
    current_position = models.PositiveSmallIntegerField(default=0)
    current_since = models.DateTimeField(null=True, blank=True)
    # Results, written once on submit (and only rewritten by a staff key correction).
    scored_total = models.PositiveSmallIntegerField(null=True, blank=True)
    scored_correct = models.PositiveSmallIntegerField(null=True, blank=True)
    scaled_score = models.PositiveSmallIntegerField(null=True, blank=True)
    passed = models.BooleanField(null=True, blank=True)
    domain_results = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "exam"], condition=Q(status="open"), name="one_open_attempt_per_user_exam"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "deadline"], name="attempt_open_deadline_idx"),
            models.Index(fields=["user", "exam", "status"], name="attempt_user_exam_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_mode_display()} {self.exam_id} #{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN

    @property
    def timed(self) -> bool:
        return self.deadline is not None

    def weakest_domains(self, limit: int = 2) -> list[int]:
        """This attempt's domains below the bar, lowest accuracy first: what to drill next."""
        below = [d for d in self.domain_results if d["label"] == NEEDS and d["total"]]
        below.sort(key=lambda d: (d["correct"] / d["total"], d["number"]))
        return [d["number"] for d in below[:limit]]

    def remaining_seconds(self, now: dt.datetime) -> int | None:
        """Whole seconds left on the server's clock; None when untimed."""
        if self.deadline is None:
            return None
        return max(0, math.ceil((self.deadline - now).total_seconds()))

    def accepts_answers_at(self, now: dt.datetime) -> bool:
        if not self.is_open:
            return False
        if self.deadline is None:
            return True
        return now <= self.deadline + dt.timedelta(seconds=settings.ANSWER_GRACE_SECONDS)

    def is_expired(self, now: dt.datetime) -> bool:
        return self.is_open and self.deadline is not None and not self.accepts_answers_at(now)

    def time_used_seconds(self) -> int:
        end = self.submitted_at or timezone.now()
        return max(0, int((end - self.started_at).total_seconds()))

    @property
    def has_scaled_score(self) -> bool:
        """A scored attempt other than a review of mistakes, whose questions were picked for being hard."""
        return self.scaled_score is not None and self.mode != self.Mode.MISTAKES

    def can_check_answers(self) -> bool:
        """Practice, and an untimed review of mistakes (flashcard style); never anything timed."""
        return self.mode == self.Mode.PRACTICE or (self.mode == self.Mode.MISTAKES and self.deadline is None)


class AttemptItem(models.Model):
    """One question of an attempt, as drawn and as answered.

    ``choice_order`` lists authored option indexes in display order;
    ``choice_tokens`` holds the opaque token shown for each displayed option.
    ``selected`` holds authored indexes and never leaves the server as such.
    """

    # No index of its own: item_position_unique (attempt, position) serves every lookup
    # by attempt, and each index is one more write when a save cannot update in place.
    attempt = models.ForeignKey(Attempt, on_delete=models.CASCADE, related_name="items", db_index=False)
    # Copied from the attempt so reports scan one table through one index.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    exam = models.ForeignKey("questions.Exam", on_delete=models.CASCADE, related_name="+")
    position = models.PositiveSmallIntegerField()
    question = models.ForeignKey("questions.Question", on_delete=models.PROTECT, related_name="+")
    version = models.ForeignKey("questions.QuestionVersion", on_delete=models.PROTECT, related_name="+")
    domain_number = models.PositiveSmallIntegerField()
    scored = models.BooleanField(default=True, help_text="False for unscored pilot items.")
    choice_order = models.JSONField()
    choice_tokens = models.JSONField()
    selected = models.JSONField(default=list, blank=True)
    seq = models.PositiveBigIntegerField(
        default=0, help_text="Last accepted save sequence number (client clock ms)."
    )
    flagged = models.BooleanField(default=False)
    checked = models.BooleanField(default=False, help_text="Practice: answer checked and locked.")
    answered_at = models.DateTimeField(null=True, blank=True)
    time_spent_ms = models.PositiveIntegerField(default=0)
    correct = models.BooleanField(null=True, blank=True)
    # Set when the answer starts counting in reports (attempt submitted, or practice answer checked).
    counted_at = models.DateTimeField(null=True, blank=True)
    recency_basis = models.FloatField(
        null=True, blank=True, help_text="2 ** (days from RECENCY_EPOCH / half-life)"
    )

    class Meta:
        ordering = ["attempt", "position"]
        indexes = [
            models.Index(
                fields=["user", "exam"],
                condition=Q(counted_at__isnull=False),
                name="item_counted_user_exam_idx",
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["attempt", "position"], name="item_position_unique"),
            models.UniqueConstraint(fields=["attempt", "question"], name="item_question_once_per_attempt"),
        ]

    def __str__(self) -> str:
        return f"{self.attempt_id}#{self.position + 1}"

    @property
    def answered(self) -> bool:
        return bool(self.selected)

    @property
    def outcome(self) -> str:
        """After grading: "unanswered", "correct" or "incorrect" (the review shows it)."""
        if not self.selected:
            return "unanswered"
        return "correct" if self.correct else "incorrect"

    @property
    def time_spent_text(self) -> str:
        """How long the question was on screen: "1 min 05 s", or "42 s" under a minute."""
        minutes, seconds = divmod(round(self.time_spent_ms / 1000), 60)
        return f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s"

    @property
    def choose(self) -> int:
        return int(self.version.data.get("choose", 1))

    def display_choices(self) -> list[dict[str, Any]]:
        """Options in display order with their tokens: text only, never the key."""
        choices = self.version.data["choices"]
        selected = set(self.selected)
        return [
            {
                "token": token,
                "text": choices[index]["text"],
                "selected": index in selected,
                "letter": chr(65 + n),
            }
            for n, (index, token) in enumerate(zip(self.choice_order, self.choice_tokens, strict=True))
        ]

    def review_choices(self, stat: ItemStat | None = None) -> list[dict[str, Any]]:
        """Options in display order with key, rationale, the learner's choice and, given
        the version's ``stat``, the share of learners who chose each."""
        choices = self.version.data["choices"]
        selected = set(self.selected)
        shares = stat.option_shares() if stat else []
        return [
            {
                "letter": chr(65 + n),
                "text": choices[index]["text"],
                "correct": choices[index]["correct"],
                "rationale": choices[index].get("rationale", ""),
                "selected": index in selected,
                "share": shares[index] if index < len(shares) else None,
            }
            for n, index in enumerate(self.choice_order)
        ]

    def indexes_for_tokens(self, tokens: list[str]) -> list[int] | None:
        """Authored indexes for submitted tokens; None if any token is not this item's."""
        lookup = dict(zip(self.choice_tokens, self.choice_order, strict=True))
        try:
            return sorted({lookup[t] for t in tokens})
        except KeyError:
            return None

    def count_at(self, when: dt.datetime) -> None:
        """Start counting this answer in reports, dated ``when``."""
        from quiz.reports import recency_basis

        self.counted_at = when
        self.recency_basis = recency_basis(when)

    def grade(self) -> bool:
        """All-or-nothing: exactly the correct set. Unanswered is wrong."""
        correct = {i for i, c in enumerate(self.version.data["choices"]) if c["correct"]}
        return bool(self.selected) and set(self.selected) == correct


class SeenQuestion(models.Model):
    """When a user was last shown a question (set when it is drawn)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    question = models.ForeignKey("questions.Question", on_delete=models.CASCADE, related_name="+")
    last_seen_at = models.DateTimeField()
    times_seen = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "question"], name="seen_once_per_user_question")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} saw {self.question_id}"


class ProblemReport(models.Model):
    """A learner's "report a problem with this question", triaged in the admin."""

    class Status(models.TextChoices):
        NEW = "new", "New"
        ACCEPTED = "accepted", "Accepted (fixed)"
        REJECTED = "rejected", "Rejected"

    question = models.ForeignKey(
        "questions.Question", on_delete=models.CASCADE, related_name="problem_reports"
    )
    version = models.ForeignKey("questions.QuestionVersion", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    message = models.TextField(max_length=2000)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NEW)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Report on {self.question_id}: {self.message[:40]}"


class KeyCorrection(models.Model):
    """Audit record of a staff key correction: the only path that changes recorded results."""

    version = models.ForeignKey("questions.QuestionVersion", on_delete=models.CASCADE, related_name="+")
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    changed_at = models.DateTimeField(default=timezone.now)
    old_correct = models.JSONField()
    new_correct = models.JSONField()
    note = models.TextField(blank=True)
    attempts_rescored = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-changed_at"]

    def __str__(self) -> str:
        return f"Key of {self.version} changed {self.old_correct} -> {self.new_correct}"


class Report(models.Model):
    """A learner's weakness report for one exam: exactly one row per user and exam.

    ``stale`` is the durable "work needed" fact: set in the same transaction as
    the submit that changes the inputs, cleared by the task that recomputes it.
    A beat task picks up stale rows whose enqueue was lost.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reports")
    exam = models.ForeignKey("questions.Exam", on_delete=models.CASCADE, related_name="+")
    stale = models.BooleanField(default=True)
    stale_since = models.DateTimeField(null=True, blank=True)
    computed_at = models.DateTimeField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "exam"], name="one_report_per_user_exam")]
        indexes = [models.Index(fields=["stale", "stale_since"], name="report_stale_idx")]

    def __str__(self) -> str:
        return f"Report {self.user_id}/{self.exam_id}"


class ItemStat(models.Model):
    """How learners did on one question version: each learner's first counted answer.

    Written only by ``quiz.itemstats.item_stats_refresh`` (nightly, and for one version
    on a key correction); read by the admin's item analysis and, through
    ``shown_to_learners``, by the review and practice check. ``option_counts`` follows
    the version's authored option order. ``facility`` and ``flagged`` are derived
    (right / learners, bool(flags)) and stored so the admin can sort and filter on them.
    """

    version = models.OneToOneField(
        "questions.QuestionVersion", on_delete=models.CASCADE, primary_key=True, related_name="item_stat"
    )
    learners = models.PositiveIntegerField(help_text="Learners whose first counted answer is included.")
    right = models.PositiveIntegerField(help_text="Of those, how many were correct.")
    facility = models.FloatField(help_text="right / learners: the share who answered correctly.")
    option_counts = models.JSONField(default=list, help_text="Learners who chose each option.")
    discrimination = models.FloatField(
        null=True, blank=True, help_text="Correlation of this item with the rest of the attempt's score."
    )
    flags = models.JSONField(default=list, blank=True)
    flagged = models.BooleanField(default=False)
    computed_at = models.DateTimeField()

    class Meta:
        verbose_name = "item statistics"
        verbose_name_plural = "item analysis"

    def __str__(self) -> str:
        return f"Statistics of {self.version}"

    def option_shares(self) -> list[float]:
        return [count / self.learners if self.learners else 0.0 for count in self.option_counts]
