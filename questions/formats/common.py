"""Helpers shared by the import parsers."""

from __future__ import annotations

import re

from questions.bankfile import ChoiceSpec, QuestionSpec

CHOOSE_RE = re.compile(r"\(?choose (two|three|four|five|\d)\.?\)?", re.IGNORECASE)
NUMBER_WORDS = {"two": 2, "three": 3, "four": 4, "five": 5}


def resolve_category(path: str, *, exam: str, domain: int | None) -> tuple[str, int | None]:
    """Map a category such as ``$course$/SAA-C03/Design Secure Architectures`` to an exam and domain.

    A path segment equal to an exam code selects the exam; a later segment equal
    to one of its domain names (or "Domain 2", "D2") selects the domain.
    """
    from questions.models import Domain, Exam

    segments = [
        s.strip() for s in path.replace("$course$", "").replace("$system$", "").split("/") if s.strip()
    ]
    codes = {e.upper(): e for e in Exam.objects.values_list("code", flat=True)}
    found_exam = exam
    for segment in segments:
        if segment.upper() in codes:
            found_exam = codes[segment.upper()]
    found_domain = domain
    if found_exam:
        names = {d.name.lower(): d.number for d in Domain.objects.filter(exam__code=found_exam)}
        for segment in segments:
            lowered = segment.lower()
            match = re.fullmatch(r"(?:domain\s*|d)(\d+)(?:\W.*)?", lowered)
            if lowered in names:
                found_domain = names[lowered]
            elif match:
                found_domain = int(match.group(1))
    return found_exam, found_domain


def finish_spec(spec: QuestionSpec, warnings: list[str]) -> QuestionSpec:
    """Infer type and choose from the correct options. Imported questions start as drafts.

    The importer checks each one and warns per missing field (domain,
    rationale...); an author publishes it once it passes ``validate_bank``'s checks.
    """
    correct = sum(1 for c in spec.choices if c.correct)
    spec.type = "multiple" if correct > 1 else "single"
    spec.choose = max(correct, 1)
    spec.status = "draft"
    return spec


def new_spec(
    *, source: str, line: int, exam: str, domain: int | None, qid: str = "", stem: str = ""
) -> QuestionSpec:
    return QuestionSpec(
        id=qid, exam=exam, domain=domain, stem=stem.strip(), choices=[], source=source, line=line
    )


def add_choice(spec: QuestionSpec, text: str, correct: bool, rationale: str = "") -> None:
    spec.choices.append(ChoiceSpec(text=text.strip(), correct=correct, rationale=rationale.strip()))
