"""Markdown task lists, as many public practice-question collections use.

    ### A question stem
    - [ ] a wrong option
    - [x] the right option

Lines after the options and before the next heading become the explanation.
A heading with nothing under it is a section heading: if it names a domain
("## Domain 2", "## Design Resilient Architectures"), the questions below it
belong to that domain.
"""

from __future__ import annotations

import re

from questions.bankfile import QuestionSpec
from questions.formats import ParseResult
from questions.formats.common import add_choice, finish_spec, new_spec, resolve_category

HEADING_RE = re.compile(r"^#{2,4}\s+(.*?)\s*#*\s*$")
TASK_RE = re.compile(r"^\s*[-*]\s+\[( |x|X)\]\s+(.*)$")


def parse(text: str, *, source: str, exam: str, domain: int | None) -> ParseResult:
    result = ParseResult()
    spec: QuestionSpec | None = None
    stem: list[str] = []
    explanation: list[str] = []
    current_domain = domain

    def close() -> None:
        nonlocal current_domain
        if spec is None:
            return
        body = "\n".join(stem).strip()
        if not spec.choices and not body:
            # A section heading, not a question.
            current_domain = resolve_category(spec.stem, exam=exam, domain=current_domain)[1]
            return
        spec.stem = "\n\n".join(part for part in (spec.stem, body) if part)
        spec.domain = current_domain
        spec.explanation = "\n".join(explanation).strip()
        if not spec.choices:
            result.errors.append(f"{source}:{spec.line}: question has no '- [ ]' options")
        elif not any(c.correct for c in spec.choices):
            result.errors.append(f"{source}:{spec.line}: question has no checked option ('- [x]')")
        else:
            result.specs.append(finish_spec(spec, result.warnings))

    for number, line in enumerate(text.splitlines(), start=1):
        heading = HEADING_RE.match(line)
        task = TASK_RE.match(line)
        if heading:
            close()
            spec = new_spec(source=source, line=number, exam=exam, domain=domain, stem=heading.group(1))
            stem, explanation = [], []
        elif spec is None:
            continue
        elif task:
            if explanation and any(part.strip() for part in explanation):
                result.errors.append(f"{source}:{number}: option after the explanation")
            add_choice(spec, task.group(2), task.group(1).lower() == "x")
        elif spec.choices:
            explanation.append(line.rstrip())
        else:
            stem.append(line.rstrip())
    close()
    return result
