"""Moodle XML. Parsed with defusedxml: no DTDs, external entities or entity bombs.

Supported: ``category`` (mapped to exam/domain) and ``multichoice`` questions,
with ``idnumber`` or ``name`` as the id, per-answer and general feedback. In a
multiple-answer question (``single`` false, or the ``multichoiceset`` type)
every answer with a ``fraction`` above 0 is correct; in a single-answer question
only the answer with the highest fraction is (lower positive fractions are
partial credit). Other types are skipped with a warning.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from questions.formats import ParseResult
from questions.formats.common import add_choice, finish_spec, new_spec, resolve_category

CHOICE_TYPES = ("multichoice", "multichoiceset")


def _text(node: ET.Element | None, path: str = "text") -> str:
    if node is None:
        return ""
    found = node.find(path)
    return (found.text or "").strip() if found is not None else ""


def parse(text: str, *, source: str, exam: str, domain: int | None) -> ParseResult:
    result = ParseResult()
    try:
        root = SafeET.fromstring(text.encode("utf-8"), forbid_dtd=True)
    except DefusedXmlException as exc:
        result.errors.append(
            f"{source}: refused unsafe XML ({type(exc).__name__}): DTDs and entities are not allowed"
        )
        return result
    except ET.ParseError as exc:
        result.errors.append(f"{source}: not well-formed XML: {exc}")
        return result
    if root.tag != "quiz":
        result.errors.append(f"{source}: the root element must be <quiz>, not <{root.tag}>")
        return result
    current_exam, current_domain = exam, domain
    for index, question in enumerate(root.findall("question"), start=1):
        qtype = question.get("type", "")
        if qtype == "category":
            current_exam, current_domain = resolve_category(
                _text(question.find("category")), exam=exam, domain=domain
            )
            continue
        name = _text(question.find("name"))
        if qtype not in CHOICE_TYPES:
            result.warnings.append(
                f"{source}: question {index} ({name or qtype}): skipped {qtype} question (not supported)"
            )
            continue
        qid = (question.findtext("idnumber") or "").strip() or name
        spec = new_spec(
            source=source,
            line=index,
            exam=current_exam,
            domain=current_domain,
            qid=qid,
            stem=_text(question.find("questiontext")),
        )
        spec.explanation = _text(question.find("generalfeedback"))
        single_flag = (question.findtext("single") or "true").strip().lower()
        single = qtype == "multichoice" and single_flag in {"true", "1"}
        answers: list[tuple[float, ET.Element]] = []
        for answer in question.findall("answer"):
            try:
                answers.append((float(answer.get("fraction", "0")), answer))
            except ValueError:
                result.errors.append(
                    f"{source}: question {index} ({qid}): bad fraction {answer.get('fraction')!r}"
                )
        best = max((fraction for fraction, _ in answers), default=0.0)
        for fraction, answer in answers:
            correct = fraction > 0 and (fraction == best if single else True)
            add_choice(spec, _text(answer), correct, _text(answer.find("feedback")))
        if not spec.stem:
            result.errors.append(f"{source}: question {index} ({qid}): empty question text")
            continue
        if not any(c.correct for c in spec.choices):
            result.errors.append(f"{source}: question {index} ({qid}): no answer with a positive fraction")
            continue
        result.specs.append(finish_spec(spec, result.warnings))
    return result
