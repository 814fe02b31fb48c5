"""Export questions in the native format, Moodle XML, GIFT or CSV.

Native YAML/JSON carry everything. The others are lossy; ``LOSSY`` says what
each one drops, and the command prints it.
"""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterable

import yaml

from questions.bankfile import ChoiceSpec, QuestionSpec
from questions.models import Question, Tag

EXPORT_FORMATS = ("yaml", "json", "moodle-xml", "gift", "csv")
LOSSY = {
    "moodle-xml": "tags, task statement, difficulty, status, references, provenance and verified_as_of",
    "gift": "tags, task statement, difficulty, status, references, provenance and verified_as_of",
    "csv": (
        "topic and facet tags, task statement, difficulty, status, references, provenance and verified_as_of"
    ),
}
KIND_KEY = {Tag.Kind.SERVICE: "services", Tag.Kind.TOPIC: "topics", Tag.Kind.FACET: "facets"}


def question_spec(
    question: Question, *, choices: list[ChoiceSpec] | None = None, services: list[str] | None = None
) -> QuestionSpec:
    """The native spec of a question. ``choices``/``services`` stand in for unsaved form data."""
    tags: dict[str, list[str]] = {"services": [], "topics": [], "facets": []}
    if services is not None:
        tags["services"] = list(services)
    elif question.pk:
        for tag in question.tags.all():
            tags[KIND_KEY[Tag.Kind(tag.kind)]].append(tag.name)
    if choices is None:
        choices = [
            ChoiceSpec(text=c.text, correct=c.correct, rationale=c.rationale) for c in question.choices.all()
        ]
    return QuestionSpec(
        id=question.external_id,
        exam=question.exam.code,
        domain=question.domain.number if question.domain else None,
        task=question.task.code if question.task else "",
        type=question.type,
        choose=question.choose,
        difficulty=question.difficulty,
        status=question.status,
        tags=tags,
        stem=question.stem,
        choices=choices,
        explanation=question.explanation,
        references=list(question.references),
        provenance=question.provenance,
        verified_as_of=question.verified_as_of,
    )


def export_queryset(questions: Iterable[Question]) -> list[QuestionSpec]:
    if hasattr(questions, "select_related"):
        questions = questions.select_related("exam", "domain", "task").prefetch_related("tags", "choices")  # type: ignore[union-attr]
    return [question_spec(q) for q in questions]


def to_native(specs: list[QuestionSpec]) -> dict[str, object]:
    exams = {s.exam for s in specs}
    items = []
    for spec in specs:
        data = spec.to_dict()
        if len(exams) > 1:
            data = {"exam": spec.exam, **data}
        items.append(data)
    header: dict[str, object] = {"exam": exams.pop()} if len(exams) == 1 else {}
    return {**header, "questions": items}


class _BlockDumper(yaml.SafeDumper):
    pass


def _str_presenter(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockDumper.add_representer(str, _str_presenter)


def to_yaml(specs: list[QuestionSpec]) -> str:
    return yaml.dump(to_native(specs), Dumper=_BlockDumper, sort_keys=False, allow_unicode=True, width=100)


def to_json(specs: list[QuestionSpec]) -> str:
    return json.dumps(to_native(specs), indent=2, ensure_ascii=False) + "\n"


def _category(spec: QuestionSpec, names: dict[tuple[str, int], str]) -> str:
    if spec.domain is None:
        return f"$course$/{spec.exam}"
    return f"$course$/{spec.exam}/{names.get((spec.exam, spec.domain), f'Domain {spec.domain}')}"


def _domain_names() -> dict[tuple[str, int], str]:
    from questions.models import Domain

    return {(d.exam.code, d.number): d.name for d in Domain.objects.select_related("exam")}


def _weight(correct: int) -> str:
    """Each correct answer's share in percent, with the precision Moodle expects (33.33333)."""
    return f"{100 / correct:.7g}"


def to_moodle_xml(specs: list[QuestionSpec]) -> str:
    names = _domain_names()
    quiz = ET.Element("quiz")
    last = None
    for spec in specs:
        category = _category(spec, names)
        if category != last:
            node = ET.SubElement(quiz, "question", type="category")
            ET.SubElement(ET.SubElement(node, "category"), "text").text = category
            last = category
        q = ET.SubElement(quiz, "question", type="multichoice")
        ET.SubElement(ET.SubElement(q, "name"), "text").text = spec.id
        text = ET.SubElement(q, "questiontext", format="markdown")
        ET.SubElement(text, "text").text = spec.stem
        feedback = ET.SubElement(q, "generalfeedback", format="markdown")
        ET.SubElement(feedback, "text").text = spec.explanation
        ET.SubElement(q, "idnumber").text = spec.id
        ET.SubElement(q, "single").text = "true" if spec.type == "single" else "false"
        ET.SubElement(q, "shuffleanswers").text = "true"
        correct = max(len(spec.correct_positions()), 1)
        for choice in spec.choices:
            fraction = _weight(correct) if choice.correct else ("-100" if spec.type == "multiple" else "0")
            answer = ET.SubElement(q, "answer", fraction=fraction, format="markdown")
            ET.SubElement(answer, "text").text = choice.text
            ET.SubElement(
                ET.SubElement(answer, "feedback", format="markdown"), "text"
            ).text = choice.rationale
    ET.indent(quiz)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(quiz, encoding="unicode") + "\n"


def _gift_escape(text: str) -> str:
    for char in "\\~=#{}:":
        text = text.replace(char, "\\" + char)
    return text.replace("\n", "\\n")


def to_gift(specs: list[QuestionSpec]) -> str:
    names = _domain_names()
    out: list[str] = []
    last = None
    for spec in specs:
        category = _category(spec, names)
        if category != last:
            out.append(f"$CATEGORY: {category}\n")
            last = category
        correct = max(len(spec.correct_positions()), 1)
        answers = []
        for choice in spec.choices:
            if spec.type == "multiple":
                weight = f"%{_weight(correct)}%" if choice.correct else "%-100%"
                line = f"~{weight}{_gift_escape(choice.text)}"
            else:
                line = ("=" if choice.correct else "~") + _gift_escape(choice.text)
            if choice.rationale:
                line += " #" + _gift_escape(choice.rationale)
            answers.append("\t" + line)
        general = f"\t####{_gift_escape(spec.explanation)}\n" if spec.explanation else ""
        out.append(
            f"::{_gift_escape(spec.id)}::[markdown]{_gift_escape(spec.stem)} {{\n"
            + "\n".join(answers)
            + "\n"
            + general
            + "}\n"
        )
    return "\n".join(out)


def to_csv(specs: list[QuestionSpec]) -> str:
    width = max([len(s.choices) for s in specs] + [4])
    header = ["id", "exam", "question", "type"]
    header += [f"option {i}" for i in range(1, width + 1)]
    header += [f"explanation {i}" for i in range(1, width + 1)]
    header += ["correct", "explanation", "domain", "tags"]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for spec in specs:
        texts = [c.text for c in spec.choices] + [""] * (width - len(spec.choices))
        rationales = [c.rationale for c in spec.choices] + [""] * (width - len(spec.choices))
        correct = ",".join(str(i + 1) for i in spec.correct_positions())
        writer.writerow(
            [
                spec.id,
                spec.exam,
                spec.stem,
                spec.type,
                *texts,
                *rationales,
                correct,
                spec.explanation,
                spec.domain or "",
                ";".join(spec.tags.get("services", [])),
            ]
        )
    return buffer.getvalue()


def render(specs: list[QuestionSpec], fmt: str) -> str:
    return {
        "yaml": to_yaml,
        "json": to_json,
        "moodle-xml": to_moodle_xml,
        "gift": to_gift,
        "csv": to_csv,
    }[fmt](specs)
