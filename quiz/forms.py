from __future__ import annotations

from typing import Any

from django import forms
from django.http import QueryDict

from accounts.models import User
from questions.forms import IdsField
from questions.models import Exam, Tag
from quiz.models import Attempt
from quiz.services import StartOptions


class StartForm(forms.Form):
    exam = forms.ModelChoiceField(queryset=Exam.objects.all(), empty_label=None, to_field_name="code")
    mode = forms.ChoiceField(
        choices=Attempt.Mode.choices, initial=Attempt.Mode.FULL, widget=forms.RadioSelect
    )
    include_pilot = forms.BooleanField(
        required=False,
        initial=True,
        label="Include unscored pilot items (full mock)",
        help_text="The real exam has 15 unscored items you cannot tell apart. Untick for 50 scored questions only.",
    )
    count = forms.IntegerField(
        min_value=1, max_value=65, initial=10, label="Number of questions (drills and practice)"
    )
    domains = forms.TypedMultipleChoiceField(
        choices=[(n, f"Domain {n}") for n in range(1, 9)],
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Drills: leave empty for all domains.",
    )
    tags = IdsField(
        queryset=Tag.objects.filter(kind=Tag.Kind.SERVICE),
        required=False,
        help_text="Drills: only questions about these services.",
    )
    timed = forms.BooleanField(required=False, initial=True, label="Timed drill (2 minutes a question)")

    @staticmethod
    def initial_from(params: QueryDict, user: User) -> dict[str, Any]:
        initial: dict[str, Any] = {}
        code = params.get("exam") or (
            user.target_exam.code if user.target_exam_id and user.target_exam else None
        )
        if code:
            initial["exam"] = Exam.objects.filter(code=code).first()
        if params.get("mode") in Attempt.Mode.values:
            initial["mode"] = params["mode"]
        count, domains, tags = (str(params.get(k) or "") for k in ("count", "domains", "tags"))
        if count.isdigit():
            initial["count"] = int(count)
        if domains:
            initial["domains"] = [int(d) for d in domains.split(",") if d.isdigit()]
        if tags:
            initial["tags"] = [int(t) for t in tags.split(",") if t.isdigit()]
        return initial

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        exam = data.get("exam")
        if exam and data.get("domains"):
            known = set(exam.domains.values_list("number", flat=True))
            unknown = sorted(set(data["domains"]) - known)
            if unknown:
                self.add_error("domains", f"{exam.code} has no domain {', '.join(map(str, unknown))}.")
        return data

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
