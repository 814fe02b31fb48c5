"""Admin for attempts and their aftermath: problem reports, key corrections, weakness reports,
and the item analysis (how learners do on each question version).

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
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from questions.models import Question
from questions.rendering import render_markdown
from quiz import services
from quiz.itemstats import MIN_LEARNERS
from quiz.models import Attempt, AttemptItem, ItemStat, KeyCorrection, ProblemReport, Report


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


class EnoughLearnersFilter(admin.SimpleListFilter):
    title = "learners"
    parameter_name = "learners"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("enough", f"{MIN_LEARNERS} or more"), ("few", f"fewer than {MIN_LEARNERS}")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[ItemStat]) -> QuerySet[ItemStat]:
        if self.value() == "enough":
            return queryset.filter(learners__gte=MIN_LEARNERS)
        if self.value() == "few":
            return queryset.filter(learners__lt=MIN_LEARNERS)
        return queryset


@admin.register(ItemStat)
class ItemStatAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Item analysis, recomputed nightly (or by ``manage.py item_stats``): sort by facility or
    discrimination, or filter the flagged items, to find wrong keys and unclear stems."""

    list_display = (
        "question_external_id",
        "version_number",
        "learners",
        "facility_percent",
        "discrimination",
        "flag_text",
    )
    list_filter = ("flagged", EnoughLearnersFilter, "version__question__exam")
    list_select_related = ("version__question",)
    search_fields = ("version__question__external_id",)
    fields = (
        "question_links",
        "version_number",
        "learners",
        "facility_percent",
        "discrimination",
        "options_table",
        "flag_text",
        "computed_at",
    )
    readonly_fields = fields
    ordering = ("-flagged", "facility")

    @admin.display(description="question", ordering="version__question__external_id")
    def question_external_id(self, stat: ItemStat) -> str:
        return stat.version.question.external_id

    @admin.display(description="question")
    def question_links(self, stat: ItemStat) -> str:
        question = stat.version.question
        return format_html(
            '<a href="{}">Edit {}</a> · <a href="{}">Correct the key</a>',
            reverse("admin:questions_question_change", args=[question.pk]),
            question.external_id,
            reverse("admin:quiz_keycorrection_correct", args=[question.pk]),
        )

    @admin.display(description="version", ordering="version__number")
    def version_number(self, stat: ItemStat) -> str:
        current = stat.version.question.current_version_id == stat.version_id
        return f"v{stat.version.number}" + ("" if current else " (old)")

    @admin.display(description="facility (correct)", ordering="facility")
    def facility_percent(self, stat: ItemStat) -> str:
        return f"{stat.facility:.0%}"

    @admin.display(description="flags")
    def flag_text(self, stat: ItemStat) -> str:
        return " ".join(stat.flags) or "-"

    @admin.display(description="options")
    def options_table(self, stat: ItemStat) -> str:
        choices = stat.version.data["choices"]
        shares = stat.option_shares()
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    chr(65 + i),
                    mark_safe(render_markdown(choice["text"])),  # sanitised, as learners see it
                    "key" if choice["correct"] else "",
                    stat.option_counts[i] if i < len(stat.option_counts) else 0,
                    f"{shares[i]:.0%}" if i < len(shares) else "-",
                )
                for i, choice in enumerate(choices)
            ),
        )
        return format_html(
            "<table><thead><tr><th>option</th><th>text</th><th></th><th>learners</th><th>share</th></tr>"
            "</thead><tbody>{}</tbody></table>",
            rows,
        )
