"""Write parsed questions into the bank: create, update, skip unchanged, retire removed.

Every format parser produces :class:`~questions.bankfile.QuestionSpec` objects;
this module is the one place that writes them. A batch with any error is
rejected whole, inside one transaction, so nothing partial is ever written.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection
from dataclasses import dataclass, field

from django.db import transaction

from questions.bankfile import ExamSpec, QuestionSpec, check_question
from questions.exporting import question_spec
from questions.models import Choice, Domain, Exam, Question, Tag, TaskStatement

TAG_KIND_OF = {"services": Tag.Kind.SERVICE, "topics": Tag.Kind.TOPIC, "facets": Tag.Kind.FACET}
MAX_ID_CHARS = Question._meta.get_field("external_id").max_length or 100
MAX_TAG_CHARS = Tag._meta.get_field("name").max_length or 100


class ImportRejected(Exception):
    """The batch had errors; nothing was written."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__(f"{len(errors)} error(s); nothing was written")
        self.errors = errors


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    dry_run: bool = False

    def summary(self) -> str:
        prefix = "Dry run, nothing written: would have " if self.dry_run else ""
        return (
            f"{prefix}created {len(self.created)}, changed {len(self.changed)}, "
            f"unchanged {len(self.unchanged)}, retired {len(self.retired)}, rejected {len(self.rejected)}"
        )


def spec_hash(spec: QuestionSpec) -> str:
    """A digest of everything the importer writes. Tags are a set, so their order does not count."""
    data = spec.to_dict()
    data["exam"] = spec.exam
    data["tags"] = {kind: sorted(names) for kind, names in data["tags"].items()}
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def content_id(spec: QuestionSpec) -> str:
    """An id for formats that carry none: a hash of the stem and options."""
    text = spec.stem + "\n" + "\n".join(c.text for c in spec.choices)
    return "H-" + hashlib.sha256(text.encode()).hexdigest()[:12]


def exam_sync(spec: ExamSpec) -> Exam:
    """Create or update an exam, its domains and task statements from its blueprint."""
    exam, _ = Exam.objects.update_or_create(
        code=spec.code,
        defaults={
            "name": spec.name,
            "question_count": spec.question_count,
            "unscored_count": spec.unscored_count,
            "duration_minutes": spec.duration_minutes,
            "score_min": spec.score_min,
            "score_max": spec.score_max,
            "passing_score": spec.passing_score,
            "passing_raw_percent": spec.passing_raw_percent,
        },
    )
    for d in spec.domains:
        domain, _ = Domain.objects.update_or_create(
            exam=exam, number=d.number, defaults={"name": d.name, "weight": d.weight}
        )
        for t in d.task_statements:
            TaskStatement.objects.update_or_create(domain=domain, code=t.code, defaults={"name": t.name})
    return exam


def _questions_in_bank(ids: list[str]) -> dict[str, Question]:
    """The imported and bundled questions with these ids (admin-made ones are never updated)."""
    found = (
        Question.objects.filter(external_id__in=ids)
        .exclude(origin=Question.Origin.ADMIN)
        .select_related("exam", "domain", "task")
        .prefetch_related("tags", "choices")
    )
    return {q.external_id: q for q in found}


def keep_what_the_file_cannot_carry(
    spec: QuestionSpec, question: Question, not_carried: Collection[str]
) -> None:
    """Fill ``spec``'s fields that its format cannot carry from the question already in the bank.

    ``not_carried`` holds QuestionSpec field names and tag kinds ("services",
    "topics", "facets"). A file that names no domain keeps the question's domain.
    """
    kept = question_spec(question)
    for name in not_carried:
        if name in TAG_KIND_OF:
            spec.tags[name] = kept.tags[name]
        else:
            setattr(spec, name, getattr(kept, name))
    if spec.domain is None:
        spec.domain = kept.domain


def _exam_spec_from_db(exam: Exam) -> ExamSpec:
    from questions.bankfile import DomainSpec, TaskSpec

    return ExamSpec(
        code=exam.code,
        name=exam.name,
        question_count=exam.question_count,
        unscored_count=exam.unscored_count,
        duration_minutes=exam.duration_minutes,
        score_min=exam.score_min,
        score_max=exam.score_max,
        passing_score=exam.passing_score,
        passing_raw_percent=exam.passing_raw_percent,
        domains=[
            DomainSpec(
                number=d.number,
                name=d.name,
                weight=d.weight,
                task_statements=[TaskSpec(code=t.code, name=t.name) for t in d.task_statements.all()],
            )
            for d in exam.domains.prefetch_related("task_statements")
        ],
    )


def known_exams(extra: dict[str, ExamSpec] | None = None) -> dict[str, ExamSpec]:
    exams = {e.code: _exam_spec_from_db(e) for e in Exam.objects.all()}
    exams.update(extra or {})
    return exams


def import_specs(
    specs: list[QuestionSpec],
    *,
    exams: dict[str, ExamSpec] | None = None,
    origin: str = Question.Origin.IMPORTED,
    strict: bool = True,
    sync: bool = False,
    dry_run: bool = False,
    warnings: list[str] | None = None,
    not_carried: Collection[str] = (),
) -> ImportReport:
    """Import parsed questions in one transaction.

    ``strict`` (the native format) rejects the batch when any question fails the
    bank's checks. Otherwise a question that fails only for missing content (no
    domain, no rationale...) is imported as a draft with a warning per problem,
    unless it is already in the bank and not a draft: then it is left unchanged.
    ``not_carried`` names the fields the file's format cannot carry; a question
    already in the bank keeps its own values for them.
    ``sync`` retires bundled questions of the imported exams that are no longer
    in ``specs``. Questions made in the admin are never touched.
    """
    report = ImportReport(dry_run=dry_run, warnings=list(warnings or []))
    exam_specs = known_exams(exams)
    errors: list[str] = []
    seen_ids: set[str] = set()
    for spec in specs:
        if not spec.id:
            spec.id = content_id(spec)
    in_bank = {} if strict else _questions_in_bank([spec.id for spec in specs])
    left_unchanged: set[str] = set()
    for spec in specs:
        current = in_bank.get(spec.id)
        if current is not None:
            keep_what_the_file_cannot_carry(spec, current, not_carried)
        where = f"{spec.source}:{spec.line} [{spec.id[:MAX_ID_CHARS]}]"
        if spec.id in seen_ids:
            errors.append(f"{where}: duplicate id in this import")
            continue
        seen_ids.add(spec.id)
        if len(spec.id) > MAX_ID_CHARS:
            errors.append(f"{spec.source}:{spec.line}: id is longer than {MAX_ID_CHARS} characters")
        long_tags = [name for names in spec.tags.values() for name in names if len(name) > MAX_TAG_CHARS]
        if long_tags:
            errors.append(f"{where}: tag longer than {MAX_TAG_CHARS} characters: {long_tags[0][:40]!r}...")
        problems = check_question(spec, exam_specs.get(spec.exam))
        if not problems:
            continue
        if strict:
            errors += [f"{where}: {p}" for p in problems]
        elif spec.exam not in exam_specs:
            errors.append(f"{where}: unknown exam {spec.exam!r}; pass --exam CODE")
        elif current is not None and current.status != Question.Status.DRAFT:
            report.warnings += [f"{where}: {p}" for p in problems]
            report.warnings.append(
                f"{where}: left unchanged; the {current.status} question would become a draft"
            )
            left_unchanged.add(spec.id)
        else:
            for p in problems:
                report.warnings.append(f"{where}: {p}; imported as draft")
            spec.status = Question.Status.DRAFT
    if errors:
        raise ImportRejected(errors)

    with transaction.atomic():
        for exam_spec in (exams or {}).values():
            exam_sync(exam_spec)
        exams_by_code = {e.code: e for e in Exam.objects.all()}
        domains = {(d.exam.code, d.number): d for d in Domain.objects.select_related("exam")}
        tasks = {
            (t.domain.exam.code, t.domain.number, t.code): t
            for t in TaskStatement.objects.select_related("domain__exam")
        }
        existing = {q.external_id: q for q in Question.objects.filter(external_id__in=seen_ids)}
        tags = {(t.kind, t.name): t for t in Tag.objects.all()}

        for spec in specs:
            digest = spec_hash(spec)
            question = existing.get(spec.id)
            if question is not None and question.origin == Question.Origin.ADMIN:
                report.rejected.append(spec.id)
                report.warnings.append(f"{spec.id}: an admin-made question has this id; left untouched")
                continue
            if spec.id in left_unchanged:
                report.rejected.append(spec.id)
                continue
            if question is not None and question.content_hash == digest:
                report.unchanged.append(spec.id)
                continue
            (report.changed if question else report.created).append(spec.id)
            if dry_run:
                continue
            if question is None:
                question = Question(external_id=spec.id, origin=origin)
            elif origin == Question.Origin.BUNDLED:
                question.origin = origin  # the bank now owns it; a plain import keeps a bundled one bundled
            question.exam = exams_by_code[spec.exam]
            question.domain = domains.get((spec.exam, spec.domain)) if spec.domain else None
            question.task = (
                tasks.get((spec.exam, spec.domain, spec.task)) if spec.task and spec.domain else None
            )
            question.type = spec.type if spec.type in Question.Type.values else Question.Type.SINGLE
            question.choose = spec.choose or 1
            question.stem = spec.stem
            question.explanation = spec.explanation
            question.references = spec.references
            question.difficulty = min(max(spec.difficulty, 1), 3)
            question.status = spec.status
            question.provenance = spec.provenance[:300]
            question.verified_as_of = spec.verified_as_of
            question.content_hash = digest
            question.save()
            question.choices.all().delete()
            Choice.objects.bulk_create(
                Choice(question=question, position=i, text=c.text, correct=c.correct, rationale=c.rationale)
                for i, c in enumerate(spec.choices)
            )
            tag_objects = []
            for kind_key, names in spec.tags.items():
                for name in names:
                    key = (TAG_KIND_OF[kind_key], name)
                    if key not in tags:
                        tags[key] = Tag.objects.create(kind=key[0], name=name)
                    tag_objects.append(tags[key])
            question.tags.set(tag_objects)
            question.sync_version()

        if sync:
            gone = (
                Question.objects.filter(origin=Question.Origin.BUNDLED)
                .exclude(external_id__in=seen_ids)
                .exclude(status=Question.Status.RETIRED)
            )
            synced_exams = set(exams or {}) | {spec.exam for spec in specs}
            gone = gone.filter(exam__code__in=sorted(synced_exams))
            report.retired = list(gone.values_list("external_id", flat=True))
            if not dry_run:
                # Forget the hash so the question is rewritten (and un-retired) if it comes back.
                gone.update(status=Question.Status.RETIRED, content_hash="")
        if dry_run:
            transaction.set_rollback(True)
    return report
