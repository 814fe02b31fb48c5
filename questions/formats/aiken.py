"""Aiken: a stem, lettered options ("A." or "A)"), then "ANSWER: X". Single answer only.

A question ends at its ANSWER line or at a blank line, whichever comes first.
"""

from __future__ import annotations

import re

from questions.formats import ParseResult
from questions.formats.common import add_choice, finish_spec, new_spec

OPTION_RE = re.compile(r"^([A-Z])[.)]\s+(.*)$")
ANSWER_RE = re.compile(r"^ANSWER:\s*([A-Za-z])\s*$", re.IGNORECASE)


def _blocks(text: str) -> list[tuple[int, list[str]]]:
    blocks: list[tuple[int, list[str]]] = []
    current: list[str] = []
    start = 1
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            if not current:
                start = number
            current.append(line.strip())
            if ANSWER_RE.match(line.strip()):
                blocks.append((start, current))
                current = []
        elif current:
            blocks.append((start, current))
            current = []
    if current:
        blocks.append((start, current))
    return blocks


def parse(text: str, *, source: str, exam: str, domain: int | None) -> ParseResult:
    result = ParseResult()
    for start, lines in _blocks(text):
        first_option = next((i for i, line in enumerate(lines) if OPTION_RE.match(line)), None)
        if first_option is None or first_option == 0:
            result.errors.append(f"{source}:{start}: a question needs a stem followed by lettered options")
            continue
        spec = new_spec(
            source=source, line=start, exam=exam, domain=domain, stem="\n".join(lines[:first_option])
        )
        letters: list[str] = []
        answer = None
        for offset, line in enumerate(lines[first_option:], start=first_option):
            option = OPTION_RE.match(line)
            found = ANSWER_RE.match(line)
            if found:
                answer = found.group(1).upper()
            elif option:
                letters.append(option.group(1))
                add_choice(spec, option.group(2), False)
            else:
                result.errors.append(f"{source}:{start + offset}: unexpected line {line!r}")
        if answer is None:
            result.errors.append(f"{source}:{start}: question has no 'ANSWER:' line")
            continue
        if answer not in letters:
            result.errors.append(
                f"{source}:{start}: ANSWER {answer} is not one of the options {', '.join(letters)}"
            )
            continue
        spec.choices[letters.index(answer)].correct = True
        result.specs.append(finish_spec(spec, result.warnings))
    return result
