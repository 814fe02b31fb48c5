"""Import formats. Each parser turns one file's text into QuestionSpecs.

``parse_path`` picks the parser from ``--format`` or from the file itself and
collects every error; a file with errors is rejected whole by the importer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from questions.bankfile import ExamSpec, QuestionSpec

MAX_IMPORT_BYTES = 5 * 1024 * 1024
MAX_FIELD_CHARS = 20_000
FORMATS = ("yaml", "json", "moodle-xml", "gift", "aiken", "csv", "markdown")


@dataclass
class ParseResult:
    specs: list[QuestionSpec] = field(default_factory=list)
    exams: dict[str, ExamSpec] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    native: bool = False

    def extend(self, other: ParseResult) -> None:
        self.specs += other.specs
        self.exams.update(other.exams)
        self.errors += other.errors
        self.warnings += other.warnings
        self.native = self.native or other.native


def detect_format(path: Path, text: str) -> str:
    suffix = path.suffix.lower()
    head = text.lstrip()[:2000]
    if suffix in {".yaml", ".yml"}:
        return "yaml"
    if suffix == ".json":
        return "json"
    if suffix == ".xml" or head.startswith("<?xml") or "<quiz" in head:
        return "moodle-xml"
    if suffix == ".csv":
        return "csv"
    if suffix == ".gift" or "::" in head or head.startswith("$CATEGORY"):
        return "gift"
    if suffix == ".md" or head.startswith("#"):
        return "markdown"
    return "aiken"


def parse_text(text: str, *, fmt: str, source: str, exam: str, domain: int | None) -> ParseResult:
    from questions.formats import aiken, csvfile, gift, markdown_tasks, moodle_xml

    parsers = {
        "moodle-xml": moodle_xml.parse,
        "gift": gift.parse,
        "aiken": aiken.parse,
        "csv": csvfile.parse,
        "markdown": markdown_tasks.parse,
    }
    result = parsers[fmt](text, source=source, exam=exam, domain=domain)
    for spec in result.specs:
        for name, value in [("stem", spec.stem), ("explanation", spec.explanation)] + [
            (f"option {i + 1}", c.text + c.rationale) for i, c in enumerate(spec.choices)
        ]:
            if len(value) > MAX_FIELD_CHARS:
                result.errors.append(
                    f"{source}:{spec.line}: {name} is longer than {MAX_FIELD_CHARS} characters"
                )
    return result


def parse_path(
    path: Path, *, fmt: str | None = None, exam: str = "", domain: int | None = None
) -> ParseResult:
    """Parse a file or every bank file in a folder."""
    from questions.bankfile import bank_files, check_bank

    if (
        path.is_dir()
        or (fmt or detect_format(path, "")) in {"yaml", "json"}
        and path.suffix in {".yaml", ".yml", ".json"}
    ):
        if path.is_file() and path.stat().st_size > MAX_IMPORT_BYTES:
            return ParseResult(errors=[f"{path}: file is larger than {MAX_IMPORT_BYTES // 1024 // 1024} MB"])
        if path.is_dir() and not bank_files(path):
            return ParseResult(errors=[f"{path}: no .yaml or .json files found"])
        checked = check_bank(path)
        result = ParseResult(specs=checked.questions, exams=checked.exams, native=True)
        for problem in checked.problems:
            result.errors.append(str(problem))
        return result
    if path.stat().st_size > MAX_IMPORT_BYTES:
        return ParseResult(errors=[f"{path}: file is larger than {MAX_IMPORT_BYTES // 1024 // 1024} MB"])
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        return ParseResult(errors=[f"{path}: not UTF-8 text"])
    fmt = fmt or detect_format(path, text)
    return parse_text(text, fmt=fmt, source=str(path), exam=exam, domain=domain)
