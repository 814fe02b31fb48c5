"""GIFT (Moodle's text format): ``::title:: stem { =right #fb ~wrong #fb ####general }``.

Supported: categories (``$CATEGORY:``), multiple choice, multiple answers with
``%weight%`` (positive weight = correct), per-answer ``#feedback``, ``####``
general feedback, ``\\`` escapes and ``[markdown]``/``[html]`` text formats.
Other GIFT types (true/false, short answer, matching, numerical, essay,
description) are skipped with a warning.

In a question with an ``=`` answer, that answer is the one right answer and
``~%50%`` answers only earn partial credit, so they count as wrong. Without an
``=`` answer, every answer with a positive weight is correct (multiple answers).
"""

from __future__ import annotations

import re

from questions.formats import ParseResult
from questions.formats.common import add_choice, finish_spec, new_spec, resolve_category

ESCAPES = {"\\~": "~", "\\=": "=", "\\#": "#", "\\{": "{", "\\}": "}", "\\:": ":", "\\n": "\n", "\\\\": "\\"}
PLACEHOLDER = "\x00{}\x00"
FORMAT_RE = re.compile(r"^\s*\[(markdown|html|moodle|plain)\]\s*", re.IGNORECASE)
WEIGHT_RE = re.compile(r"^\s*%(-?\d+(?:\.\d+)?)%(.*)$", re.DOTALL)
TRUE_FALSE_RE = re.compile(r"^(T|F|TRUE|FALSE)\s*(#|$)", re.IGNORECASE)
CATEGORY = "$CATEGORY:"


def _protect(text: str) -> tuple[str, list[str]]:
    """Replace escapes with placeholders so structure can be split safely."""
    kept: list[str] = []

    def repl(match: re.Match[str]) -> str:
        kept.append(ESCAPES.get(match.group(0), match.group(0)[1:]))
        return PLACEHOLDER.format(len(kept) - 1)

    return re.sub(r"\\.", repl, text), kept


def _restore(text: str, kept: list[str]) -> str:
    text = re.sub(r"\x00(\d+)\x00", lambda m: kept[int(m.group(1))], text)
    return FORMAT_RE.sub("", text).strip()


def _blocks(text: str) -> list[tuple[int, str]]:
    """Split into blank-line separated blocks; a ``$CATEGORY:`` line is always a block of its own."""
    blocks: list[tuple[int, str]] = []
    current: list[str] = []
    start = 1

    def flush() -> None:
        if current:
            blocks.append((start, "\n".join(current)))
            current.clear()

    for number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith("//"):
            continue
        if line.lstrip().startswith(CATEGORY):
            flush()
            blocks.append((number, line.strip()))
        elif line.strip():
            if not current:
                start = number
            current.append(line)
        else:
            flush()
    flush()
    return blocks


def _answers(body: str) -> list[tuple[str, str]]:
    """Split an answer block into (marker, rest) pairs, marker being = or ~."""
    parts = re.split(r"(?=[=~])", body)
    return [(p[0], p[1:]) for p in parts if p.strip() and p[0] in "=~"]


def _unsupported_kind(body: str, answers: list[tuple[str, str]]) -> str | None:
    stripped = body.strip()
    if not stripped:
        return "essay"
    if TRUE_FALSE_RE.match(stripped):
        return "true/false"
    if stripped.startswith("#"):
        return "numerical"
    if answers and all(marker == "=" and "->" in raw for marker, raw in answers):
        return "matching"
    if answers and all(marker == "=" for marker, _ in answers):
        return "short answer"
    return None


def parse(text: str, *, source: str, exam: str, domain: int | None) -> ParseResult:
    result = ParseResult()
    protected, kept = _protect(text)
    current_exam, current_domain = exam, domain
    for start, block in _blocks(protected):
        if block.startswith(CATEGORY):
            category = _restore(block[len(CATEGORY) :], kept)
            current_exam, current_domain = resolve_category(category, exam=exam, domain=domain)
            continue
        opens, closes = block.count("{"), block.count("}")
        if opens == 0 and closes == 0:
            label = _restore(block, kept)[:40]
            result.warnings.append(f"{source}:{start} [{label}]: skipped description (no answer block)")
            continue
        if opens != 1 or closes != 1 or block.index("{") > block.index("}"):
            result.errors.append(
                f"{source}:{start}: expected exactly one '{{ ... }}' answer block "
                f"(found {opens} '{{' and {closes} '}}'); escape literal braces as \\{{ \\}}"
            )
            continue
        title = ""
        head, rest = block.split("{", 1)
        body, tail = rest.split("}", 1)
        title_match = re.match(r"^\s*::(.*?)::(.*)$", head, re.DOTALL)
        if title_match:
            title, head = title_match.group(1), title_match.group(2)
        # Text after the answer block makes a "missing word" question: mark the gap.
        stem = _restore(head.rstrip() + " _____ " + tail.lstrip() if tail.strip() else head, kept)
        spec = new_spec(
            source=source,
            line=start,
            exam=current_exam,
            domain=current_domain,
            qid=_restore(title, kept),
            stem=stem,
        )
        general = ""
        if "####" in body:
            body, general = body.split("####", 1)
        spec.explanation = _restore(general, kept)
        answers = _answers(body)
        kind = _unsupported_kind(body, answers)
        if kind:
            result.warnings.append(
                f"{source}:{start} [{spec.id or stem[:40]}]: skipped {kind} question (not supported)"
            )
            continue
        has_right_answer = any(marker == "=" for marker, _ in answers)
        for marker, raw in answers:
            weight = None
            weight_match = WEIGHT_RE.match(raw)
            if weight_match:
                weight, raw = float(weight_match.group(1)), weight_match.group(2)
            answer_text, _, feedback = raw.partition("#")
            # With an "=" answer, "~%50%" is partial credit; without one, positive weights are correct.
            correct = (marker == "=") if has_right_answer else (weight or 0) > 0
            add_choice(spec, _restore(answer_text, kept), correct, _restore(feedback, kept))
        if not any(c.correct for c in spec.choices):
            result.errors.append(
                f"{source}:{start} [{spec.id or stem[:40]}]: no correct answer ('=' or a positive %weight%)"
            )
            continue
        result.specs.append(finish_spec(spec, result.warnings))
    return result
