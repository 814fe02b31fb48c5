"""Import formats. Each parser turns one file's text into QuestionSpecs.

``parse_path`` picks the parser from ``--format`` or from the file itself and
collects every error; a file with errors is rejected whole by the importer.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from questions.bankfile import ExamSpec, QuestionSpec

MAX_IMPORT_BYTES = 5 * 1024 * 1024
MAX_FIELD_CHARS = 20_000
FORMATS = ("yaml", "json", "moodle-xml", "gift", "aiken", "csv", "markdown")
NATIVE_FORMATS = ("yaml", "json")
SUFFIX_FORMATS = {
    ".yaml": "yaml",
    ".yml": "yaml",
    ".json": "json",
    ".xml": "moodle-xml",
    ".csv": "csv",
    ".gift": "gift",
    ".md": "markdown",
    ".markdown": "markdown",
    ".aiken": "aiken",
}
GIFT_ANSWER_RE = re.compile(r"\{\s*(?:[=~]|%-?\d|T\b|F\b|TRUE\b|FALSE\b|#)", re.IGNORECASE)
TASK_LIST_RE = re.compile(r"^\s*[-*]\s+\[[ xX]\]\s", re.MULTILINE)

# What each text format cannot carry (QuestionSpec fields; tag kinds by name). A
# question already in the bank keeps its own values for these when it is imported
# again, so a round trip through Moodle or a spreadsheet cannot strip a published
# question's tags and references, or unpublish it.
_METADATA = ("task", "difficulty", "status", "references", "provenance", "verified_as_of")
NOT_CARRIED: dict[str, tuple[str, ...]] = {
    "moodle-xml": ("services", "topics", "facets", *_METADATA),
    "gift": ("services", "topics", "facets", *_METADATA),
    "aiken": ("services", "topics", "facets", *_METADATA),
    "markdown": ("services", "topics", "facets", *_METADATA),
    "csv": ("topics", "facets", *_METADATA),  # its tags column holds services
}


@dataclass
class ParseResult:
    specs: list[QuestionSpec] = field(default_factory=list)
    exams: dict[str, ExamSpec] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    native: bool = False
    not_carried: tuple[str, ...] = ()  # NOT_CARRIED of the format read


def detect_format(path: Path, text: str) -> str:
    """The format named by the file's suffix, else guessed from its first lines."""
    suffix = path.suffix.lower()
    if suffix in SUFFIX_FORMATS:
        return SUFFIX_FORMATS[suffix]
    head = text.lstrip()[:2000]
    if head.startswith("<?xml") or "<quiz" in head:
        return "moodle-xml"
    if head.startswith("$CATEGORY") or "::" in head or GIFT_ANSWER_RE.search(head):
        return "gift"
    if head.startswith("#") or TASK_LIST_RE.search(head):
        return "markdown"
    return "aiken"


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


def check_field_sizes(result: ParseResult) -> None:
    """Reject any text field longer than MAX_FIELD_CHARS, or holding a NUL character,
    which PostgreSQL cannot store (adds errors to ``result``)."""
    for code, exam in result.exams.items():
        if _has_nul([code, asdict(exam)]):
            result.errors.append(f"exam {code[:40]!r}: contains a NUL character (a binary file?)")
    for spec in result.specs:
        if _has_nul([spec.exam, spec.to_dict()]):
            result.errors.append(f"{spec.source}:{spec.line}: contains a NUL character (a binary file?)")
            continue
        fields = [("id", spec.id), ("stem", spec.stem), ("explanation", spec.explanation)]
        for i, choice in enumerate(spec.choices, start=1):
            fields += [(f"option {i}", choice.text), (f"option {i} rationale", choice.rationale)]
        for name, value in fields:
            if len(value) > MAX_FIELD_CHARS:
                label = f" [{spec.id[:40]}]" if spec.id and name != "id" else ""
                result.errors.append(
                    f"{spec.source}:{spec.line}{label}: {name} is longer than {MAX_FIELD_CHARS} characters"
                )


def parse_text(text: str, *, fmt: str, source: str, exam: str, domain: int | None) -> ParseResult:
    """Parse the text of one non-native file (Moodle XML, GIFT, Aiken, CSV or Markdown)."""
    from questions.formats import aiken, csvfile, gift, markdown_tasks, moodle_xml

    parsers = {
        "moodle-xml": moodle_xml.parse,
        "gift": gift.parse,
        "aiken": aiken.parse,
        "csv": csvfile.parse,
        "markdown": markdown_tasks.parse,
    }
    if fmt not in parsers:
        return ParseResult(errors=[f"{source}: format {fmt!r} is not a text import format"])
    result = parsers[fmt](text, source=source, exam=exam, domain=domain)
    result.not_carried = NOT_CARRIED[fmt]
    check_field_sizes(result)
    return result


def _too_large(path: Path) -> ParseResult | None:
    size = path.stat().st_size
    if size > MAX_IMPORT_BYTES:
        return ParseResult(
            errors=[f"{path}: file is {size} bytes, over the import limit of {MAX_IMPORT_BYTES} bytes"]
        )
    return None


def parse_native(path: Path) -> ParseResult:
    """Read a native bank folder or file: exam blueprints and questions.

    Only the shape of the files is checked here; the importer checks every
    question against the exams in the files *and* those already in the
    database, so a single exported question file imports without its exam.yaml.
    """
    from questions.bankfile import (
        BANK_SUFFIXES,
        BankFormatError,
        bank_files,
        load_exam,
        load_question_file,
    )

    files = bank_files(path)
    if not files:
        return ParseResult(errors=[f"{path}: no .yaml or .json files found"])
    result = ParseResult(native=True)
    for file in files:
        too_large = _too_large(file)
        if too_large:
            result.errors += too_large.errors
    if result.errors:
        return result
    exam_files = [p for p in files if p.stem == "exam"]
    if path.is_file() and path.stem != "exam":
        exam_files += [p for p in sorted(path.parent.glob("exam.*")) if p.suffix in BANK_SUFFIXES]
    for file in exam_files:
        try:
            exam = load_exam(file)
        except BankFormatError as exc:
            result.errors.append(str(exc))
            continue
        except UnicodeDecodeError:
            result.errors.append(f"{file}: not UTF-8 text")
            continue
        result.exams[exam.code] = exam
    for file in files:
        if file.stem == "exam":
            continue
        try:
            specs, problems = load_question_file(file)
        except UnicodeDecodeError:
            result.errors.append(f"{file}: not UTF-8 text")
            continue
        result.specs += specs
        result.errors += [str(p) for p in problems]
    check_field_sizes(result)
    return result


def parse_path(
    path: Path, *, fmt: str | None = None, exam: str = "", domain: int | None = None
) -> ParseResult:
    """Parse a file, or every native bank file in a folder."""
    if path.is_dir():
        if fmt and fmt not in NATIVE_FORMATS:
            return ParseResult(errors=[f"{path}: a folder can only hold the native format (yaml or json)"])
        return parse_native(path)
    fmt = fmt or SUFFIX_FORMATS.get(path.suffix.lower())
    if fmt in NATIVE_FORMATS:
        return parse_native(path)
    too_large = _too_large(path)
    if too_large:
        return too_large
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        return ParseResult(errors=[f"{path}: not UTF-8 text"])
    fmt = fmt or detect_format(path, text)
    return parse_text(text, fmt=fmt, source=str(path), exam=exam, domain=domain)
