"""CSV as spreadsheet authors write it.

Columns (header names are case-insensitive; only ``question``, options and
``correct`` are required): ``id, exam, question, type, option 1..6,
explanation 1..6, correct, explanation, domain, tags``. ``correct`` lists
option numbers or letters (``2`` or ``1,3`` or ``B`` or ``A;C``); ``domain`` is
a number (``2``, ``Domain 2``, ``D2``) or a domain name; ``tags`` are AWS
services, ``;``-separated. Commas, semicolons or tabs may separate the columns
(spreadsheets in many locales save with semicolons); rows with no cell filled
in are skipped.
"""

from __future__ import annotations

import csv
import io
import re

from questions.formats import ParseResult
from questions.formats.common import add_choice, finish_spec, new_spec, resolve_category

MAX_OPTIONS = 6
DELIMITERS = (",", ";", "\t")


def _norm(name: str) -> str:
    name = re.sub(r"[\s_]+", " ", name.strip().lower())
    return re.sub(r"^(option|explanation) ?(\d)$", r"\1 \2", name)


def _delimiter(text: str) -> str:
    header = text.lstrip("\ufeff").split("\n", 1)[0]
    return max(DELIMITERS, key=header.count)


def _domain(value: str, exam: str) -> int | None:
    if value.isdigit():
        return int(value)
    return resolve_category(value, exam=exam, domain=None)[1]


def parse(text: str, *, source: str, exam: str, domain: int | None) -> ParseResult:
    result = ParseResult()
    reader = csv.DictReader(io.StringIO(text), delimiter=_delimiter(text))
    rows: list[tuple[int, dict[str | None, str | None]]] = []
    try:
        fieldnames = reader.fieldnames or []
        previous = reader.line_num
        for row in reader:
            rows.append((previous + 1, row))  # a quoted cell may span lines: keep where the row starts
            previous = reader.line_num
    except csv.Error as exc:
        result.errors.append(f"{source}:{reader.line_num}: not valid CSV: {exc}")
        return result
    headers = {_norm(h): h for h in fieldnames}
    for required in ("question", "option 1", "correct"):
        if required not in headers:
            result.errors.append(f"{source}:1: missing column {required!r}")
    if result.errors:
        return result
    for number, row in rows:
        cell = {_norm(k): (v or "").strip() for k, v in row.items() if k is not None}
        if not any(cell.values()):
            continue
        row_exam = cell.get("exam") or exam
        spec = new_spec(
            source=source,
            line=number,
            exam=row_exam,
            domain=domain,
            qid=cell.get("id", ""),
            stem=cell["question"],
        )
        options = []
        for i in range(1, MAX_OPTIONS + 1):
            if cell.get(f"option {i}"):
                options.append(i)
                add_choice(spec, cell[f"option {i}"], False, cell.get(f"explanation {i}", ""))
        tokens = [t.strip().upper() for t in re.split(r"[,;| ]+", cell["correct"]) if t.strip()]
        chosen = []
        for token in tokens:
            number_of = (
                int(token)
                if token.isdigit()
                else (ord(token) - 64 if len(token) == 1 and token.isalpha() else 0)
            )
            if number_of not in options:
                result.errors.append(
                    f"{source}:{number}: correct answer {token!r} is not among the options "
                    f"({', '.join(str(i) for i in options) or 'none'})"
                )
            else:
                chosen.append(options.index(number_of))
        if not tokens:
            result.errors.append(f"{source}:{number}: no correct answer")
        if not spec.stem:
            result.errors.append(f"{source}:{number}: empty question")
        if not tokens or len(chosen) != len(tokens) or not spec.stem:
            continue
        for index in chosen:
            spec.choices[index].correct = True
        spec.explanation = cell.get("explanation", "")
        if cell.get("domain"):
            spec.domain = _domain(cell["domain"], row_exam)
        if cell.get("tags"):
            spec.tags["services"] = [t.strip() for t in cell["tags"].split(";") if t.strip()]
        result.specs.append(finish_spec(spec, result.warnings))
    return result
