from __future__ import annotations

from typing import Any, cast

from django import forms
from django.http import QueryDict
from django.urls import reverse_lazy
from django.utils.functional import cached_property

from accounts.models import User
from questions.forms import IdsField
from questions.models import Domain, Exam, Question, Tag
from quiz.models import Attempt
from quiz.services import StartOptions


class StartForm(forms.Form):
    exam = forms.ModelChoiceField(
        queryset=Exam.objects.all(),
        empty_label=None,
        to_field_name="code",
        # Another exam brings its own domains and services: htmx swaps the options in.
        widget=forms.Select(
            attrs={
                "hx-get": reverse_lazy("quiz:start"),
                "hx-trigger": "change",
                "hx-include": "#id_exam, #id_count",
                "hx-target": "#exam-options",
                "hx-swap": "outerHTML",
            }
        ),
    )
    mode = forms.ChoiceField(
        choices=Attempt.Mode.choices, initial=Attempt.Mode.FULL, widget=forms.RadioSelect
    )
    include_pilot = forms.BooleanField(
        required=False,
        initial=True,
        label="Include unscored pilot items",
        help_text="The real exam has 15 unscored items you cannot tell apart. Untick for 50 scored questions only.",
    )
    count = forms.IntegerField(min_value=1, max_value=65, initial=10, label="Number of questions")
    domains = forms.TypedMultipleChoiceField(
        choices=[],  # the chosen exam's domains, set in __init__
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Leave empty for all domains.",
        error_messages={"invalid_choice": "This exam has no domain %(value)s."},
    )
    tags = IdsField(
        queryset=Tag.objects.none(),  # services of the chosen exam's questions, set in __init__
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="AWS services",
        help_text="Only questions about these services; leave empty for all.",
    )
    timed = forms.BooleanField(required=False, initial=True, label="Timed (2 minutes a question)")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Both lazy: a Start with no domains or services ticked runs no query for them.
        cast(forms.TypedMultipleChoiceField, self.fields["domains"]).choices = lambda: self._domain_choices
        cast(IdsField, self.fields["tags"]).queryset = (
            Tag.objects.filter(
                kind=Tag.Kind.SERVICE,
                questions__exam__code=self.exam_code,
                questions__status=Question.Status.PUBLISHED,
            )
            .distinct()
            .order_by("name")
        )

    @property
    def top_fields(self) -> list[forms.BoundField]:
        return [self["exam"], self["mode"]]

    @property
    def mock_fields(self) -> list[forms.BoundField]:
        return [self["include_pilot"]]

    @property
    def drill_fields(self) -> list[forms.BoundField]:
        return [self["count"], self["timed"], self["domains"], self["tags"]]

    @cached_property
    def exam_code(self) -> str:
        """The exam the domain and service choices belong to: the one posted, else the
        initial one if there is such an exam, else the first (as the select shows it)."""
        if self.is_bound:  # the exam field itself says what is wrong with a bad code
            code = str(self.data.get("exam") or "")[:20]
            return "" if "\x00" in code else code  # PostgreSQL refuses NUL in text
        wanted = str(self.initial.get("exam") or "")
        codes = list(Exam.objects.values_list("code", flat=True))
        return wanted if wanted in codes else (codes[0] if codes else "")

    @cached_property  # the choices callable runs for every value checked: read them once
    def _domain_choices(self) -> list[tuple[int, str]]:
        domains = Domain.objects.filter(exam__code=self.exam_code).order_by("number")
        return [(d.number, f"{d.number}. {d.name}") for d in domains]

    @staticmethod
    def initial_from(params: QueryDict, user: User) -> dict[str, Any]:
        initial: dict[str, Any] = {}
        # The exam asked for, else the learner's target exam, else the one they last
        # practised (as the dashboard picks it), else the first in the list.
        code = (
            params.get("exam")
            or (user.target_exam.code if user.target_exam_id and user.target_exam else None)
            or Attempt.objects.filter(user=user)
            .order_by("-started_at")
            .values_list("exam__code", flat=True)
            .first()
        )
        if code:  # checked against the exams by exam_code, not looked up here
            initial["exam"] = code[:20]
        if params.get("mode") in Attempt.Mode.values:
            initial["mode"] = params["mode"]
            if params["mode"] == Attempt.Mode.MISTAKES:
                initial["timed"] = False  # a review links here: untimed, so each answer can be checked
        count, domains, tags = (str(params.get(k) or "") for k in ("count", "domains", "tags"))
        if count.isdigit():
            initial["count"] = int(count)
        if domains:
            initial["domains"] = [int(d) for d in domains.split(",") if d.isdigit()]
        if tags:
            initial["tags"] = [int(t) for t in tags.split(",") if t.isdigit()]
        return initial

    def options(self) -> StartOptions:
        data = self.cleaned_data
        return StartOptions(
            mode=data["mode"],
            count=data.get("count"),
            domains=data.get("domains") or None,
            tag_ids=[t.pk for t in data.get("tags") or []] or None,
            timed=bool(data.get("timed")),
            include_pilot=bool(data.get("include_pilot")),
        )


class ProblemReportForm(forms.Form):
    message = forms.CharField(
        max_length=2000,
        min_length=5,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="What is wrong with this question?",
    )
