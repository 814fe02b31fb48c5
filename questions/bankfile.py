"""Read and check the native bank format (YAML or JSON) without touching the database.

A bank folder holds ``<EXAM>/exam.yaml`` and any number of question files
(``domain-1.yaml``...). See ``docs/question-format.md`` for the format.

This module is plain Python so authors can check a file before Django is set
up: ``python -m questions.bankfile questions/bank``. The ``validate_bank``
management command calls the same :func:`check_bank`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

QUESTION_TYPES = ("single", "multiple")
STATUSES = ("draft", "published", "retired")
TAG_KINDS = {"services": "service", "topics": "topic", "facets": "facet"}
BEYOND_SEEDS = "beyond seeds"
PROVENANCE_RE = re.compile(r"^(\d{3}) L\d+(?:[-–]\d+)?(?:, ?L\d+(?:[-–]\d+)?)*$")
CHOOSE_WORDS = {2: "two", 3: "three", 4: "four", 5: "five"}
MAX_FILE_BYTES = 5 * 1024 * 1024
BANK_SUFFIXES = (".yaml", ".yml", ".json")


class BankFormatError(Exception):
    """A file that cannot be read as the native format at all."""


@dataclass
class Problem:
    path: str
    line: int
    question_id: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}"
        qid = f" [{self.question_id}]" if self.question_id else ""
        return f"{where}{qid}: {self.message}"


@dataclass
class TaskSpec:
    code: str
    name: str


@dataclass
class DomainSpec:
    number: int
    name: str
    weight: float
    task_statements: list[TaskSpec] = field(default_factory=list)


@dataclass
class ExamSpec:
    code: str
    name: str
    question_count: int
    unscored_count: int
    duration_minutes: int
    score_min: int
    score_max: int
    passing_score: int
    passing_raw_percent: float
    domains: list[DomainSpec]

    def domain(self, number: int) -> DomainSpec | None:
        return next((d for d in self.domains if d.number == number), None)


@dataclass
class ChoiceSpec:
    text: str
    correct: bool
    rationale: str


@dataclass
class QuestionSpec:
    """One question as authored: the unit of import, export and validation."""

    id: str
    exam: str
    domain: int | None
    stem: str
    choices: list[ChoiceSpec]
    explanation: str = ""
    type: str = "single"
    choose: int = 1
    task: str = ""
    tags: dict[str, list[str]] = field(default_factory=dict)
    references: list[dict[str, str]] = field(default_factory=list)
    difficulty: int = 2
    status: str = "draft"
    provenance: str = ""
    verified_as_of: dt.date | None = None
    source: str = ""
    line: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The native representation, keys in the documented order."""
        data: dict[str, Any] = {"id": self.id}
        if self.domain is not None:
            data["domain"] = self.domain
        if self.task:
            data["task"] = self.task
        data["type"] = self.type
        if self.type == "multiple":
            data["choose"] = self.choose
        data["difficulty"] = self.difficulty
        data["status"] = self.status
        data["tags"] = {k: list(v) for k, v in self.tags.items() if v}
        data["stem"] = self.stem
        data["choices"] = [
            {"text": c.text, "correct": c.correct, "rationale": c.rationale} for c in self.choices
        ]
        data["explanation"] = self.explanation
        data["references"] = [dict(r) for r in self.references]
        data["provenance"] = self.provenance
        data["verified_as_of"] = self.verified_as_of.isoformat() if self.verified_as_of else None
        return data

    def correct_positions(self) -> list[int]:
        return [i for i, c in enumerate(self.choices) if c.correct]


class _LineLoader(yaml.SafeLoader):
    """A safe loader that records the line of every mapping as ``__line__``."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping: dict[str, Any] = {str(k): v for k, v in loader.construct_mapping(node, deep=True).items()}
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_document(path: Path) -> Any:
    """Parse a YAML or JSON file; mappings carry ``__line__`` (YAML only)."""
    if path.stat().st_size > MAX_FILE_BYTES:
        raise BankFormatError(f"{path}: file is larger than {MAX_FILE_BYTES // 1024 // 1024} MB")
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix == ".json":
            return json.loads(text)
        return yaml.load(text, Loader=_LineLoader)  # noqa: S506 - SafeLoader subclass
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise BankFormatError(f"{path}: not valid {path.suffix[1:].upper()}: {exc}") from exc


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if k != "__line__"}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def parse_exam(data: dict[str, Any]) -> ExamSpec:
    data = _clean(data)
    domains = [
        DomainSpec(
            number=int(d["number"]),
            name=str(d["name"]),
            weight=float(d["weight"]),
            task_statements=[
                TaskSpec(code=str(t["code"]), name=str(t["name"])) for t in d.get("task_statements") or []
            ],
        )
        for d in data["domains"]
    ]
    return ExamSpec(
        code=str(data["code"]),
        name=str(data["name"]),
        question_count=int(data["question_count"]),
        unscored_count=int(data.get("unscored_count", 0)),
        duration_minutes=int(data["duration_minutes"]),
        score_min=int(data.get("score_min", 100)),
        score_max=int(data.get("score_max", 1000)),
        passing_score=int(data["passing_score"]),
        passing_raw_percent=float(data["passing_raw_percent"]),
        domains=domains,
    )


def load_exam(path: Path) -> ExamSpec:
    try:
        return parse_exam(read_document(path))
    except (KeyError, TypeError, ValueError) as exc:
        raise BankFormatError(f"{path}: exam file is missing or has a bad field: {exc}") from exc


def _as_date(value: Any) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def parse_question(raw: dict[str, Any], *, exam: str, domain: int | None, source: str) -> QuestionSpec:
    """Build a QuestionSpec from one native mapping. Raises ValueError on bad shapes."""
    line = int(raw.get("__line__", 0))
    data = _clean(raw)
    if not isinstance(data.get("choices"), list):
        raise ValueError("'choices' must be a list")
    choices = []
    for c in data["choices"]:
        if not isinstance(c, dict):
            raise ValueError("each choice must be a mapping with text, correct and rationale")
        choices.append(
            ChoiceSpec(
                text=str(c.get("text") or "").strip(),
                correct=bool(c.get("correct", False)),
                rationale=str(c.get("rationale") or "").strip(),
            )
        )
    tags_raw = data.get("tags") or {}
    if not isinstance(tags_raw, dict):
        raise ValueError("'tags' must map services/topics/facets to lists")
    tags = {kind: [str(t) for t in tags_raw.get(kind) or []] for kind in TAG_KINDS}
    unknown_kinds = set(tags_raw) - set(TAG_KINDS)
    if unknown_kinds:
        raise ValueError(f"unknown tag kind(s): {', '.join(sorted(unknown_kinds))}")
    references = []
    for r in data.get("references") or []:
        if not isinstance(r, dict) or "url" not in r:
            raise ValueError("each reference needs a title and a url")
        references.append({"title": str(r.get("title") or r["url"]), "url": str(r["url"])})
    qtype = str(data.get("type", "single"))
    question_domain = data.get("domain", domain)
    return QuestionSpec(
        id=str(data.get("id") or "").strip(),
        exam=str(data.get("exam", exam)),
        domain=int(question_domain) if question_domain is not None else None,
        task=str(data.get("task") or ""),
        type=qtype,
        choose=int(data.get("choose", 1 if qtype == "single" else 0)),
        difficulty=int(data.get("difficulty", 2)),
        status=str(data.get("status", "draft")),
        tags=tags,
        stem=str(data.get("stem") or "").strip(),
        choices=choices,
        explanation=str(data.get("explanation") or "").strip(),
        references=references,
        provenance=str(data.get("provenance") or "").strip(),
        verified_as_of=_as_date(data.get("verified_as_of")),
        source=source,
        line=line,
    )


def load_question_file(path: Path) -> tuple[list[QuestionSpec], list[Problem]]:
    """Read one question file. Shape errors become Problems, never exceptions."""
    problems: list[Problem] = []
    try:
        doc = read_document(path)
    except BankFormatError as exc:
        return [], [Problem(str(path), 0, "", str(exc))]
    if not isinstance(doc, dict) or not isinstance(doc.get("questions"), list):
        return [], [Problem(str(path), 1, "", "expected a mapping with 'exam' and 'questions'")]
    exam = str(doc.get("exam") or "")
    domain = doc.get("domain")
    specs = []
    for index, raw in enumerate(doc["questions"]):
        line = raw.get("__line__", 0) if isinstance(raw, dict) else 0
        qid = str(raw.get("id", "")) if isinstance(raw, dict) else ""
        if not isinstance(raw, dict):
            problems.append(Problem(str(path), line, qid, f"question #{index + 1} is not a mapping"))
            continue
        try:
            specs.append(parse_question(raw, exam=exam, domain=domain, source=str(path)))
        except (TypeError, ValueError) as exc:
            problems.append(Problem(str(path), line, qid, str(exc)))
    return specs, problems


def check_question(spec: QuestionSpec, exam: ExamSpec | None) -> list[str]:
    """Every rule a publishable question must pass. Returns messages, empty when fine."""
    errors: list[str] = []
    if not spec.id:
        errors.append("missing id")
    if exam is None:
        errors.append(f"unknown exam {spec.exam!r}")
    elif spec.domain is None:
        errors.append("no domain")
    else:
        domain = exam.domain(spec.domain)
        if domain is None:
            errors.append(f"unknown domain {spec.domain} for {exam.code}")
        elif spec.task and spec.task not in {t.code for t in domain.task_statements}:
            errors.append(f"unknown task statement {spec.task!r} for domain {spec.domain}")
    if spec.type not in QUESTION_TYPES:
        errors.append(f"type must be one of {', '.join(QUESTION_TYPES)}, not {spec.type!r}")
    if spec.status not in STATUSES:
        errors.append(f"status must be one of {', '.join(STATUSES)}, not {spec.status!r}")
    if not 1 <= spec.difficulty <= 3:
        errors.append("difficulty must be 1, 2 or 3")
    if not spec.stem:
        errors.append("empty stem")
    correct = len(spec.correct_positions())
    if spec.type == "single":
        if len(spec.choices) != 4:
            errors.append(f"single-answer questions need exactly 4 options, found {len(spec.choices)}")
        if correct != 1:
            errors.append(f"single-answer questions need exactly 1 correct option, found {correct}")
    elif spec.type == "multiple":
        if len(spec.choices) < 5:
            errors.append(f"multiple-response questions need 5 or more options, found {len(spec.choices)}")
        if spec.choose < 2:
            errors.append("multiple-response questions need 'choose' of 2 or more")
        if correct != spec.choose:
            errors.append(f"'choose' is {spec.choose} but {correct} options are marked correct")
        word = CHOOSE_WORDS.get(spec.choose, str(spec.choose))
        if f"(Choose {word}.)" not in spec.stem and f"Choose {word}." not in spec.stem:
            errors.append(f"stem must say how many to choose ('Choose {word}.')")
    texts = [c.text for c in spec.choices]
    if any(not t for t in texts):
        errors.append("an option has no text")
    if len(set(texts)) != len(texts):
        errors.append("two options have the same text")
    for i, c in enumerate(spec.choices):
        if not c.rationale:
            errors.append(f"option {chr(65 + i)} has no rationale")
    if not spec.explanation:
        errors.append("empty explanation")
    if not spec.tags.get("services"):
        errors.append("no service tag")
    if not spec.provenance:
        errors.append("no provenance (seed file and lines, or 'beyond seeds')")
    elif spec.provenance != BEYOND_SEEDS and not all(
        PROVENANCE_RE.match(part.strip()) for part in spec.provenance.split(";")
    ):
        errors.append(
            "provenance must read like '000 L120-189; 002 L430' or be 'beyond seeds', "
            f"not {spec.provenance!r}"
        )
    if spec.verified_as_of is None:
        errors.append("no verified_as_of date")
    for ref in spec.references:
        if not ref["url"].startswith("https://"):
            errors.append(f"reference URL must be https: {ref['url']!r}")
    return errors


@dataclass
class BankCheck:
    exams: dict[str, ExamSpec]
    questions: list[QuestionSpec]
    problems: list[Problem]


def bank_files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("*") if p.suffix in BANK_SUFFIXES and p.is_file())


def check_bank(root: Path) -> BankCheck:
    """Load every exam and question file under ``root`` and check all of it."""
    exams: dict[str, ExamSpec] = {}
    problems: list[Problem] = []
    files = bank_files(root)
    exam_files = [p for p in files if p.stem == "exam"]
    # A single question file: look for its exam.yaml beside it.
    if root.is_file() and root.stem != "exam":
        exam_files += [p for p in root.parent.glob("exam.*") if p.suffix in BANK_SUFFIXES]
    for path in exam_files:
        try:
            exam = load_exam(path)
        except BankFormatError as exc:
            problems.append(Problem(str(path), 0, "", str(exc)))
            continue
        exams[exam.code] = exam
    questions: list[QuestionSpec] = []
    for path in files:
        if path.stem == "exam":
            continue
        specs, file_problems = load_question_file(path)
        problems += file_problems
        questions += specs
    seen: dict[str, QuestionSpec] = {}
    for spec in questions:
        for message in check_question(spec, exams.get(spec.exam)):
            problems.append(Problem(spec.source, spec.line, spec.id, message))
        if spec.id and spec.id in seen:
            first = seen[spec.id]
            problems.append(
                Problem(
                    spec.source, spec.line, spec.id, f"duplicate id (first at {first.source}:{first.line})"
                )
            )
        seen.setdefault(spec.id, spec)
    return BankCheck(exams=exams, questions=questions, problems=problems)


def authoring_summary(questions: list[QuestionSpec]) -> str:
    """Quick figures authors watch while writing: type mix, key positions, longest-key share."""
    single = [q for q in questions if q.type == "single"]
    multiple = [q for q in questions if q.type == "multiple"]
    positions = [0] * 6
    for q in questions:
        for i in q.correct_positions():
            if i < len(positions):
                positions[i] += 1
    longest = sum(
        1
        for q in single
        if q.choices
        and q.correct_positions()
        and len(q.choices[q.correct_positions()[0]].text) == max(len(c.text) for c in q.choices)
    )
    share = f"{longest}/{len(single)}" if single else "0/0"
    return (
        f"{len(questions)} questions ({len(multiple)} multiple response); "
        f"correct positions A-F: {positions}; single-answer key is the longest option: {share}"
    )


def main(argv: list[str]) -> int:
    root = Path(argv[1] if len(argv) > 1 else "questions/bank")
    result = check_bank(root)
    for problem in result.problems:
        print(problem)
    print(authoring_summary(result.questions))
    print(f"{len(result.problems)} problem(s)")
    return 1 if result.problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
