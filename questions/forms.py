"""Admin forms for the question bank: editing, the publish check, uploads.

Publishing a question always goes through :func:`publish_problems`, the same
``check_question`` rules the bank files pass.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.forms.models import BaseInlineFormSet

from questions.bankfile import ChoiceSpec, QuestionSpec, check_question
from questions.formats import FORMATS, MAX_IMPORT_BYTES, NATIVE_FORMATS, SUFFIX_FORMATS, parse_path
from questions.importing import ImportRejected, ImportReport, import_specs, known_exams
from questions.models import Domain, Exam, Question

# Set by QuestionAdmin.save_form on the unsaved question: the service tag names
# chosen in the form, which the choice formset needs for the publish check.
PENDING_SERVICE_TAGS = "_pending_service_tags"


def publish_problems(spec: QuestionSpec) -> list[str]:
    """Why ``spec`` may not be published; empty when it passes every bank check."""
    return check_question(spec, known_exams().get(spec.exam))


def pending_spec(question: Question, choices: list[ChoiceSpec], services: list[str]) -> QuestionSpec:
    """The spec of a question being edited, before anything is saved."""
    from questions.exporting import question_spec

    return question_spec(question, choices=choices, services=services)


class IdsField(forms.ModelMultipleChoiceField):
    """Model choices by id that refuse an id out of the database's range, instead of a 500.

    Django catches ValueError and TypeError for a bad id, but SQLite raises
    OverflowError for an integer wider than 64 bits.
    """

    def clean(self, value: Any) -> Any:
        for pk in value if isinstance(value, list | tuple) else []:
            if not str(pk).isdigit() or int(pk) >= 2**63:
                raise forms.ValidationError(
                    self.error_messages["invalid_pk_value"], code="invalid_pk_value", params={"pk": pk}
                )
        return super().clean(value)


class QuestionAdminForm(forms.ModelForm):
    class Meta:
        model = Question
        field_classes = {"tags": IdsField}
        fields = (
            "external_id",
            "exam",
            "domain",
            "task",
            "status",
            "tags",
            "type",
            "choose",
            "difficulty",
            "stem",
            "explanation",
            "references",
            "provenance",
            "verified_as_of",
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        exam, domain, task = data.get("exam"), data.get("domain"), data.get("task")
        if exam and domain and domain.exam_id != exam.pk:
            self.add_error("domain", f"Domain {domain} is not part of exam {exam.code}.")
        if task and domain and task.domain_id != domain.pk:
            self.add_error("task", f"Task statement {task.code} is not part of domain {domain.number}.")
        if task and not domain:
            self.add_error("task", "Choose the domain of this task statement.")
        return data


class ChoiceInlineFormSet(BaseInlineFormSet):
    """Refuses to save a published question that fails the bank's checks."""

    def clean(self) -> None:
        super().clean()
        question = self.instance
        services = getattr(question, PENDING_SERVICE_TAGS, None)
        if question.status != Question.Status.PUBLISHED or services is None or any(self.errors):
            return
        kept = [f for f in self.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
        kept.sort(
            key=lambda f: (f.cleaned_data.get("position") or 0, f.instance.pk is None, f.instance.pk or 0)
        )
        choices = [
            ChoiceSpec(
                text=(f.cleaned_data.get("text") or "").strip(),
                correct=bool(f.cleaned_data.get("correct")),
                rationale=(f.cleaned_data.get("rationale") or "").strip(),
            )
            for f in kept
        ]
        problems = publish_problems(pending_spec(question, choices, services))
        if problems:
            raise forms.ValidationError(
                ["This question cannot be published until these are fixed (or save it as a draft):"]
                + problems
            )


def _exam_code(exam: Exam | None) -> str:
    return exam.code if exam else ""


class QuestionUploadForm(forms.Form):
    file = forms.FileField(help_text=f"At most {MAX_IMPORT_BYTES // 1024 // 1024} MB, UTF-8 text.")
    format = forms.ChoiceField(
        choices=[("", "Detect from the file")] + [(f, f) for f in FORMATS],
        required=False,
        help_text="Native YAML/JSON files name their exam; other formats need the exam below.",
    )
    exam = forms.ModelChoiceField(queryset=Exam.objects.all(), required=False)
    domain = forms.ModelChoiceField(
        queryset=Domain.objects.select_related("exam"),
        required=False,
        help_text="For formats that carry no domain.",
    )

    def clean_file(self) -> UploadedFile:
        upload: UploadedFile = self.cleaned_data["file"]
        if (upload.size or 0) > MAX_IMPORT_BYTES:
            raise forms.ValidationError(f"The file is larger than {MAX_IMPORT_BYTES // 1024 // 1024} MB.")
        try:
            self.text = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError("The file is not UTF-8 text.") from None
        return upload

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        exam, domain = data.get("exam"), data.get("domain")
        if domain and not exam:
            data["exam"] = exam = domain.exam
        if domain and exam and domain.exam_id != exam.pk:
            self.add_error("domain", f"Domain {domain} is not part of exam {exam.code}.")
        upload = data.get("file")
        if upload is not None:
            fmt = data.get("format") or SUFFIX_FORMATS.get(Path(upload.name or "").suffix.lower(), "")
            if fmt not in NATIVE_FORMATS and not exam:
                self.add_error("exam", "Choose the exam: this format does not name one.")
        return data

    def upload(self) -> Upload:
        data = self.cleaned_data
        domain: Domain | None = data.get("domain")
        return Upload(
            name=Path(data["file"].name or "upload").name,
            text=self.text,
            format=data.get("format") or "",
            exam=_exam_code(data.get("exam")),
            domain=domain.number if domain else None,
        )


@dataclass
class Upload:
    """An uploaded file and its options: all the confirm step needs (kept in the session)."""

    name: str
    text: str
    format: str = ""
    exam: str = ""
    domain: int | None = None

    def as_session(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "text": self.text,
            "format": self.format,
            "exam": self.exam,
            "domain": self.domain,
        }

    @classmethod
    def from_session(cls, data: dict[str, Any]) -> Upload:
        return cls(**{k: data[k] for k in ("name", "text", "format", "exam", "domain")})


@dataclass
class UploadOutcome:
    report: ImportReport | None = None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def writes_something(self) -> bool:
        return self.report is not None and bool(self.report.created or self.report.changed)


def run_upload(upload: Upload, *, dry_run: bool) -> UploadOutcome:
    """Parse the uploaded text and import it (or pretend to). A file with errors writes nothing."""
    suffix = Path(upload.name).suffix.lower()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / ("upload" + (suffix if suffix in SUFFIX_FORMATS else ".txt"))
        path.write_text(upload.text, encoding="utf-8")
        result = parse_path(path, fmt=upload.format or None, exam=upload.exam, domain=upload.domain)
    source = str(path)
    errors = [e.replace(source, upload.name) for e in result.errors]
    if errors:
        return UploadOutcome(errors=errors, warnings=result.warnings)
    for spec in result.specs:
        spec.source = upload.name
    try:
        report = import_specs(
            result.specs,
            exams=result.exams,
            origin=Question.Origin.IMPORTED,
            strict=result.native,
            dry_run=dry_run,
            warnings=[w.replace(source, upload.name) for w in result.warnings],
            not_carried=result.not_carried,
        )
    except ImportRejected as rejected:
        return UploadOutcome(errors=rejected.errors, warnings=result.warnings)
    return UploadOutcome(report=report, warnings=report.warnings)
