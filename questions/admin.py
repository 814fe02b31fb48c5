"""Admin for the question bank: exams, tags, questions, preview, upload and export.

Extra pages of the Question admin (all staff only, through ``admin_view``):

* ``<id>/preview/``: the question as a candidate sees it, then the key for the author;
* ``upload/``: upload a question file, see a dry run, confirm to import
  (linked from the changelist's "Upload questions" button).

The "Correct the key" page lives with the key-correction audit log in ``quiz.admin``.
"""

from __future__ import annotations

import secrets
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.text import Truncator

from questions.exporting import EXPORT_FORMATS, LOSSY, export_queryset, question_spec, render
from questions.forms import (
    PENDING_SERVICE_TAGS,
    ChoiceInlineFormSet,
    QuestionAdminForm,
    QuestionUploadForm,
    Upload,
    publish_problems,
    run_upload,
)
from questions.models import Choice, Domain, Exam, Question, Tag, TaskStatement

UPLOAD_SESSION_KEY = "questions_admin_upload"
CONTENT_TYPES = {
    "yaml": "application/yaml",
    "json": "application/json",
    "moodle-xml": "application/xml",
    "gift": "text/plain",
    "csv": "text/csv",
}
SUFFIXES = {"yaml": "yaml", "json": "json", "moodle-xml": "xml", "gift": "gift", "csv": "csv"}
MAX_LISTED = 20


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


@admin.register(Exam)
class ExamAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "question_count", "unscored_count", "duration_minutes", "passing_score")
    search_fields = ("code", "name")
    inlines = (DomainInline,)


@admin.register(TaskStatement)
class TaskStatementAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "domain")
    list_filter = ("domain__exam", "domain")
    list_select_related = ("domain__exam",)
    search_fields = ("code", "name")


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ("name", "kind")
    list_filter = ("kind",)
    search_fields = ("name",)


class ServiceTagFilter(admin.SimpleListFilter):
    title = "service tag"
    parameter_name = "service"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(t.pk), t.name) for t in Tag.objects.filter(kind=Tag.Kind.SERVICE)]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Question]) -> QuerySet[Question]:
        value = self.value()
        return queryset.filter(tags__id=value) if value and value.isdigit() else queryset


class ChoiceInline(admin.TabularInline):
    model = Choice
    formset: type[BaseInlineFormSet] = ChoiceInlineFormSet
    fields = ("position", "text", "correct", "rationale")
    formfield_overrides = {models.TextField: {"widget": forms.Textarea(attrs={"rows": 3, "cols": 50})}}

    def get_extra(self, request: HttpRequest, obj: Question | None = None, **kwargs: Any) -> int:
        return 0 if obj else 4


class QuestionActionForm(ActionForm):
    export_format = forms.ChoiceField(
        label="Export as", choices=[(f, f) for f in EXPORT_FORMATS], required=False
    )


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    form = QuestionAdminForm
    action_form = QuestionActionForm
    inlines = (ChoiceInline,)
    list_display = (
        "external_id",
        "stem_start",
        "domain_number",
        "type",
        "status",
        "difficulty",
        "verified_as_of",
        "origin",
    )
    list_filter = (
        "exam",
        "domain",
        ServiceTagFilter,
        "type",
        "status",
        "difficulty",
        "verified_as_of",
        "origin",
    )
    # No prefetching of choices here: save_related snapshots obj.choices, which must be fresh.
    list_select_related = ("exam", "domain")
    search_fields = ("external_id", "stem", "choices__text")
    filter_horizontal = ("tags",)
    readonly_fields = ("origin", "current_version", "content_hash", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("external_id", "exam", "domain", "task", "status", "tags")}),
        ("Content", {"fields": ("type", "choose", "difficulty", "stem", "explanation", "references")}),
        ("Provenance", {"fields": ("provenance", "verified_as_of", "origin")}),
        ("Record", {"fields": ("current_version", "content_hash", "created_at", "updated_at")}),
    )
    actions = ("publish_selected", "retire_selected", "export_selected")

    @admin.display(description="Stem", ordering="stem")
    def stem_start(self, obj: Question) -> str:
        """The first words of the stem, so a list of ids can be read (the exam is in the id)."""
        return Truncator(obj.stem).chars(90)

    @admin.display(description="Domain", ordering="domain__number")
    def domain_number(self, obj: Question) -> str:
        return f"D{obj.domain.number}" if obj.domain else "-"

    # Saving

    def save_form(self, request: HttpRequest, form: Any, change: bool) -> Question:
        question: Question = super().save_form(request, form, change)
        tags = form.cleaned_data.get("tags") or []
        setattr(question, PENDING_SERVICE_TAGS, [t.name for t in tags if t.kind == Tag.Kind.SERVICE])
        return question

    def save_model(self, request: HttpRequest, obj: Question, form: Any, change: bool) -> None:
        if not change:
            obj.origin = Question.Origin.ADMIN
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        question: Question = form.instance
        question.sync_version()
        if question.status == Question.Status.PUBLISHED:
            # The choice formset checks first; this catches a form saved without it.
            problems = publish_problems(question_spec(question))
            if problems:
                Question.objects.filter(pk=question.pk).update(status=Question.Status.DRAFT)
                messages.error(
                    request, f"{question} was saved as a draft, not published: {'; '.join(problems)}"
                )

    # Actions

    @admin.action(description="Publish selected questions (those that pass the bank checks)")
    def publish_selected(self, request: HttpRequest, queryset: QuerySet[Question]) -> None:
        published: list[str] = []
        refused: list[str] = []
        pending = queryset.exclude(status=Question.Status.PUBLISHED)
        for question in pending.select_related("exam", "domain", "task").prefetch_related("tags", "choices"):
            problems = publish_problems(question_spec(question))
            if problems:
                refused.append(f"{question}: {'; '.join(problems)}")
                continue
            Question.objects.filter(pk=question.pk).update(status=Question.Status.PUBLISHED)
            if question.current_version_id is None:
                question.sync_version()
            published.append(question.external_id)
        if published:
            messages.success(request, f"Published {len(published)} question(s).")
        if refused:
            more = f" (and {len(refused) - MAX_LISTED} more)" if len(refused) > MAX_LISTED else ""
            messages.error(
                request,
                f"Not published, {len(refused)} question(s) fail the bank checks{more}: "
                + " | ".join(refused[:MAX_LISTED]),
            )
        if not published and not refused:
            messages.info(request, "The selected questions were already published.")

    @admin.action(description="Retire selected questions")
    def retire_selected(self, request: HttpRequest, queryset: QuerySet[Question]) -> None:
        count = queryset.exclude(status=Question.Status.RETIRED).update(status=Question.Status.RETIRED)
        messages.success(request, f"Retired {count} question(s).")

    @admin.action(description="Export selected questions (choose the format)")
    def export_selected(self, request: HttpRequest, queryset: QuerySet[Question]) -> HttpResponse | None:
        fmt = request.POST.get("export_format") or "yaml"
        if fmt not in EXPORT_FORMATS:
            messages.error(request, f"Unknown export format {fmt!r}.")
            return None
        specs = export_queryset(queryset.order_by("exam__code", "domain__number", "external_id"))
        response = HttpResponse(render(specs, fmt), content_type=f"{CONTENT_TYPES[fmt]}; charset=utf-8")
        name = f"questions-{timezone.now():%Y%m%d-%H%M}.{SUFFIXES[fmt]}"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        if fmt in LOSSY:
            response["X-Export-Drops"] = LOSSY[fmt]
        return response

    # Extra pages

    def get_urls(self) -> list[URLPattern]:
        own = [
            path("upload/", self.admin_site.admin_view(self.upload_view), name="questions_question_upload"),
            path(
                "<path:object_id>/preview/",
                self.admin_site.admin_view(self.preview_view),
                name="questions_question_preview",
            ),
        ]
        return own + super().get_urls()

    def _context(self, request: HttpRequest, title: str, **extra: Any) -> dict[str, Any]:
        return {**self.admin_site.each_context(request), "opts": self.opts, "title": title, **extra}

    def preview_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        question = self.get_object(request, object_id)
        if question is None:
            raise Http404("No such question.")
        if not self.has_view_permission(request, question):
            raise PermissionDenied
        choices = [
            {"letter": chr(65 + i), "text": c.text, "correct": c.correct, "rationale": c.rationale}
            for i, c in enumerate(question.choices.all())
        ]
        context = self._context(
            request,
            f"Preview of {question}",
            question=question,
            original=question,
            choices=choices,
            key=", ".join(c["letter"] for c in choices if c["correct"]) or "none marked",
            references=[r for r in question.references or [] if isinstance(r, dict)],
        )
        return TemplateResponse(request, "admin/questions/question/preview.html", context)

    def upload_view(self, request: HttpRequest) -> HttpResponse:
        if not (self.has_add_permission(request) and self.has_change_permission(request)):
            raise PermissionDenied
        changelist = reverse("admin:questions_question_changelist")
        if request.method == "POST" and "confirm" in request.POST:
            return self._confirm_upload(request, changelist)
        form = QuestionUploadForm(request.POST or None, request.FILES or None)
        outcome, token = None, ""
        if request.method == "POST" and form.is_valid():
            upload = form.upload()
            outcome = run_upload(upload, dry_run=True)
            request.session.pop(UPLOAD_SESSION_KEY, None)
            if outcome.writes_something:
                token = secrets.token_urlsafe(16)
                request.session[UPLOAD_SESSION_KEY] = {"token": token, **upload.as_session()}
        context = self._context(
            request, "Upload questions", form=form, outcome=outcome, token=token, changelist_url=changelist
        )
        return TemplateResponse(request, "admin/questions/question/upload.html", context)

    def _confirm_upload(self, request: HttpRequest, changelist: str) -> HttpResponse:
        stored = request.session.get(UPLOAD_SESSION_KEY)
        token = request.POST.get("token", "")
        if not stored or not constant_time_compare(stored.get("token", ""), token):
            messages.error(request, "That upload has expired or was already imported; upload the file again.")
            return HttpResponseRedirect(reverse("admin:questions_question_upload"))
        del request.session[UPLOAD_SESSION_KEY]
        upload = Upload.from_session(stored)
        outcome = run_upload(upload, dry_run=False)
        if outcome.errors or outcome.report is None:
            context = self._context(
                request,
                "Upload questions",
                form=QuestionUploadForm(),
                outcome=outcome,
                token="",
                changelist_url=changelist,
            )
            return TemplateResponse(request, "admin/questions/question/upload.html", context)
        messages.success(request, f"Imported {upload.name}: {outcome.report.summary()}")
        for warning in outcome.warnings[:MAX_LISTED]:
            messages.warning(request, warning)
        return HttpResponseRedirect(changelist)
