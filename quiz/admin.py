"""Admin for attempts and their aftermath: problem reports, key corrections, weakness reports.

Recorded results are read-only here. The one way to change them is the
"Correct the key" page (``keycorrection/question/<id>/correct/``, linked from
the Question admin and from each problem report), which calls
``quiz.services.key_correct`` and leaves an audit row.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html

from questions.models import Question
from quiz import services
from quiz.models import Attempt, AttemptItem, KeyCorrection, ProblemReport, Report


class ReadOnlyMixin:
    """View only. Superusers may still delete, so deleting a user can cascade to these rows."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser)


class AttemptItemInline(ReadOnlyMixin, admin.TabularInline):
    model = AttemptItem
    extra = 0
    can_delete = False
    fields = ("position", "question", "version", "domain_number", "scored", "selected", "correct", "flagged")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[AttemptItem]:
        return super().get_queryset(request).select_related("question", "version")


@admin.register(Attempt)
class AttemptAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("user", "exam", "mode", "status", "scaled_score", "started_at")
    list_filter = ("exam", "mode", "status")
    list_select_related = ("user", "exam")
    search_fields = ("user__email",)
    date_hierarchy = "started_at"
    inlines = (AttemptItemInline,)


@admin.register(ProblemReport)
class ProblemReportAdmin(admin.ModelAdmin):
    list_display = ("question", "excerpt", "status", "created_at", "correct_key_link")
    list_filter = ("status",)
    list_select_related = ("question",)
    search_fields = ("question__external_id", "message")
    readonly_fields = ("question", "version", "user", "message", "created_at", "correct_key_link")
    fields = ("question", "version", "user", "created_at", "message", "status", "correct_key_link")
    actions = ("mark_accepted", "mark_rejected")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="message")
    def excerpt(self, report: ProblemReport) -> str:
        return report.message if len(report.message) <= 120 else report.message[:119] + "…"

    @admin.display(description="key")
    def correct_key_link(self, report: ProblemReport) -> str:
        url = reverse("admin:quiz_keycorrection_correct", args=[report.question_id])
        return format_html('<a href="{}">Correct the key</a>', url)

    def _mark(self, request: HttpRequest, queryset: QuerySet[ProblemReport], status: str) -> None:
        count = queryset.update(status=status)
        messages.success(request, f"Marked {count} report(s) {ProblemReport.Status(status).label.lower()}.")

    @admin.action(description="Mark selected reports accepted (fixed)")
    def mark_accepted(self, request: HttpRequest, queryset: QuerySet[ProblemReport]) -> None:
        self._mark(request, queryset, ProblemReport.Status.ACCEPTED)

    @admin.action(description="Mark selected reports rejected")
    def mark_rejected(self, request: HttpRequest, queryset: QuerySet[ProblemReport]) -> None:
        self._mark(request, queryset, ProblemReport.Status.REJECTED)


class KeyCorrectionForm(forms.Form):
    correct = forms.TypedMultipleChoiceField(coerce=int, choices=[], label="Correct options")
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        max_length=2000,
        help_text="Why the key changes, with a source. Kept in the audit log.",
    )

    def __init__(self, *args: Any, current: list[int], count: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.current = current
        field = self.fields["correct"]
        assert isinstance(field, forms.TypedMultipleChoiceField)
        field.choices = [(i, chr(65 + i)) for i in range(count)]

    def clean_correct(self) -> list[int]:
        chosen = sorted(set(self.cleaned_data["correct"]))
        if chosen == self.current:
            raise forms.ValidationError("That is already the key: tick the options that should be correct.")
        return chosen


@admin.register(KeyCorrection)
class KeyCorrectionAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("version", "old_correct", "new_correct", "attempts_rescored", "changed_by", "changed_at")
    list_select_related = ("version", "changed_by")
    search_fields = ("version__question__external_id", "note")
    date_hierarchy = "changed_at"

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # an audit log

    def get_urls(self) -> list[URLPattern]:
        correct = path(
            "question/<int:question_id>/correct/",
            self.admin_site.admin_view(self.correct_view),
            name="quiz_keycorrection_correct",
        )
        return [correct, *super().get_urls()]

    def correct_view(self, request: HttpRequest, question_id: int) -> HttpResponse:
        if not request.user.has_perm("questions.change_question"):
            raise PermissionDenied
        question = get_object_or_404(Question.objects.select_related("current_version"), pk=question_id)
        question_url = reverse("admin:questions_question_change", args=[question.pk])
        version = question.current_version
        if version is None:
            messages.error(request, f"{question} has no saved version yet, so no attempt used it.")
            return HttpResponseRedirect(question_url)
        current = sorted(version.correct_indexes())
        form = KeyCorrectionForm(request.POST or None, current=current, count=len(version.choices))
        if request.method == "POST" and form.is_valid():
            try:
                correction = services.key_correct(
                    version=version,
                    correct_indexes=form.cleaned_data["correct"],
                    staff=request.user,  # type: ignore[arg-type]
                    note=form.cleaned_data["note"],
                    now=timezone.now(),
                )
            except ValueError as error:
                form.add_error("correct", str(error))
            else:
                letters = ", ".join(chr(65 + i) for i in correction.new_correct)
                messages.success(
                    request,
                    f"Key of {question} v{version.number} is now {letters}; "
                    f"{correction.attempts_rescored} attempt(s) re-scored.",
                )
                return HttpResponseRedirect(question_url)
        checked = set(request.POST.getlist("correct")) if form.is_bound else {str(i) for i in current}
        options = [
            {
                "index": i,
                "letter": chr(65 + i),
                "text": c["text"],
                "rationale": c.get("rationale", ""),
                "checked": str(i) in checked,
            }
            for i, c in enumerate(version.choices)
        ]
        submitted = (
            AttemptItem.objects.filter(version=version, attempt__status=Attempt.Status.SUBMITTED)
            .values("attempt_id")
            .distinct()
            .count()
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Correct the key of {question}",
            "question": question,
            "version": version,
            "options": options,
            "form": form,
            "submitted": submitted,
        }
        return TemplateResponse(request, "admin/quiz/keycorrection/correct.html", context)


@admin.register(Report)
class ReportAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("user", "exam", "stale", "stale_since", "computed_at")
    list_filter = ("exam", "stale")
    list_select_related = ("user", "exam")
    search_fields = ("user__email",)
