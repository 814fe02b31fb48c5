"""GIFT (Moodle's text format): ``::title:: stem { =right #fb ~wrong #fb ####general }``.

Supported: categories (``$CATEGORY:``), multiple choice, multiple answers with
``%weight%`` (positive weight = correct), per-answer ``#feedback``, ``####``
general feedback, ``\\`` escapes and ``[markdown]``/``[html]`` text formats.
Other GIFT types (true/false, short answer, matching, numerical, essay) are
skipped with a warning.
"""

from __future__ import annotations

import re

from questions.formats import ParseResult
from questions.formats.common import add_choice, finish_spec, new_spec, resolve_category

ESCAPES = {"\\~": "~", "\\=": "=", "\\#": "#", "\\{": "{", "\\}": "}", "\\:": ":", "\\n": "\n", "\\\\": "\\"}
PLACEHOLDER = "\x00{}\x00"
FORMAT_RE = re.compile(r"^\s*\[(markdown|html|moodle|plain)\]\s*", re.IGNORECASE)


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
    blocks: list[tuple[int, str]] = []
    current: list[str] = []
    start = 1
    for number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith("//"):
            continue
        if line.strip():
            if not current:
                start = number
            current.append(line)
        elif current:
            blocks.append((start, "\n".join(current)))
            current = []
    if current:
        blocks.append((start, "\n".join(current)))
    return blocks


def _answers(body: str) -> list[tuple[str, str]]:
    """Split an answer block into (marker, rest) pairs, marker being = or ~."""
    parts = re.split(r"(?=[=~])", body)
    return [(p[0], p[1:]) for p in parts if p.strip() and p[0] in "=~"]


def parse(text: str, *, source: str, exam: str, domain: int | None) -> ParseResult:
    result = ParseResult()
    protected, kept = _protect(text)
    current_exam, current_domain = exam, domain
    for start, block in _blocks(protected):
        if block.lstrip().startswith("$CATEGORY:"):
            category = _restore(block.split(":", 1)[1], kept)
            current_exam, current_domain = resolve_category(category, exam=exam, domain=domain)
            continue
        opens, closes = block.count("{"), block.count("}")
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
        stem = _restore(head + ("\n" + tail if tail.strip() else ""), kept)
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
        stripped = body.strip()
        answers = _answers(body)
        kind = None
        if stripped.upper() in {"T", "F", "TRUE", "FALSE"} or re.match(
            r"^(T|F|TRUE|FALSE)\s*#", stripped.upper()
        ):
            kind = "true/false"
        elif not stripped:
            kind = "essay"
        elif stripped.startswith("#"):
            kind = "numerical"
        elif "->" in body:
            kind = "matching"
        elif answers and all(marker == "=" for marker, _ in answers):
            kind = "short answer"
        if kind:
            result.warnings.append(
                f"{source}:{start} [{spec.id or stem[:40]}]: skipped {kind} question (not supported)"
            )
            continue
        for marker, raw in answers:
            weight = None
            weight_match = re.match(r"^\s*%(-?\d+(?:\.\d+)?)%(.*)$", raw, re.DOTALL)
            if weight_match:
                weight, raw = float(weight_match.group(1)), weight_match.group(2)
            answer_text, _, feedback = raw.partition("#")
            correct = marker == "=" or (weight is not None and weight > 0)
            add_choice(spec, _restore(answer_text, kept), correct, _restore(feedback, kept))
        if not any(c.correct for c in spec.choices):
            result.errors.append(f"{source}:{start}: no correct answer ('=' or a positive %weight%)")
            continue
        result.specs.append(finish_spec(spec, result.warnings))
    return result
