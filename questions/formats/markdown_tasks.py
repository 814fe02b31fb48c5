"""Markdown task lists, as many public practice-question collections use.

    ### A question stem
    - [ ] a wrong option
    - [x] the right option

Lines after the options and before the next heading become the explanation.
"""

from __future__ import annotations

import re

from questions.formats import ParseResult
from questions.formats.common import add_choice, finish_spec, new_spec

HEADING_RE = re.compile(r"^#{2,4}\s+(.*)$")
TASK_RE = re.compile(r"^\s*[-*]\s+\[( |x|X)\]\s+(.*)$")


def parse(text: str, *, source: str, exam: str, domain: int | None) -> ParseResult:
    result = ParseResult()
    spec = None
    explanation: list[str] = []

    def close() -> None:
        if spec is None:
            return
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
            explanation = []
        elif spec is not None and task:
            if explanation and spec.choices:
                result.errors.append(f"{source}:{number}: option after the explanation")
            add_choice(spec, task.group(2), task.group(1).lower() == "x")
        elif spec is not None and line.strip():
            if spec.choices:
                explanation.append(line)
            else:
                spec.stem += "\n" + line
    close()
    return result
