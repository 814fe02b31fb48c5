"""CSV as spreadsheet authors write it.

Columns (header names are case-insensitive; only ``question``, options and
``correct`` are required): ``id, question, type, option 1..6, explanation 1..6,
correct, explanation, domain, tags``. ``correct`` lists option numbers or
letters (``2`` or ``1,3`` or ``B`` or ``A;C``); ``tags`` is ``;``-separated.
"""

from __future__ import annotations

import csv
import io
import re

from questions.formats import ParseResult
from questions.formats.common import add_choice, finish_spec, new_spec

MAX_OPTIONS = 6


def _norm(name: str) -> str:
    return re.sub(r"[\s_]+", " ", name.strip().lower())


def parse(text: str, *, source: str, exam: str, domain: int | None) -> ParseResult:
    result = ParseResult()
    try:
        reader = csv.DictReader(io.StringIO(text))
        rows = list(reader)
    except csv.Error as exc:
        result.errors.append(f"{source}: not valid CSV: {exc}")
        return result
    headers = {_norm(h): h for h in reader.fieldnames or []}
    for required in ("question", "option 1", "correct"):
        if required not in headers:
            result.errors.append(f"{source}:1: missing column {required!r}")
    if result.errors:
        return result
    for number, row in enumerate(rows, start=2):
        cell = {_norm(k): (v or "").strip() for k, v in row.items() if k is not None}
        spec = new_spec(
            source=source,
            line=number,
            exam=exam,
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
                result.errors.append(f"{source}:{number}: correct answer {token!r} is not among the options")
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
            match = re.search(r"\d+", cell["domain"])
            spec.domain = int(match.group(0)) if match else None
        if cell.get("tags"):
            spec.tags["services"] = [t.strip() for t in cell["tags"].split(";") if t.strip()]
        result.specs.append(finish_spec(spec, result.warnings))
    return result
