"""Bank health figures for authors (``bank_stats``) and the content-minimum tests.

Near-duplicate measure (fixed and documented): the Jaccard similarity of the
sets of word 3-grams of two stems (lower-cased, punctuation removed). Pairs at
or above ``NEAR_DUPLICATE_THRESHOLD`` are reported.
"""

from __future__ import annotations

import re
from collections import Counter
from itertools import combinations
from typing import Any

from questions.blueprint import full_mock_needs
from questions.models import Exam, Question, Tag

NEAR_DUPLICATE_THRESHOLD = 0.5


def shingles(text: str, n: int = 3) -> set[tuple[str, ...]]:
    words = re.findall(r"[a-z0-9]+", text.lower())
    return {tuple(words[i : i + n]) for i in range(max(len(words) - n + 1, 1))}


def jaccard(a: set[Any], b: set[Any]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def near_duplicates(
    stems: dict[str, str], threshold: float = NEAR_DUPLICATE_THRESHOLD
) -> list[tuple[str, str, float]]:
    sets = {qid: shingles(stem) for qid, stem in stems.items()}
    pairs = []
    for (a, sa), (b, sb) in combinations(sets.items(), 2):
        score = jaccard(sa, sb)
        if score >= threshold:
            pairs.append((a, b, round(score, 3)))
    return pairs


def exam_stats(exam: Exam) -> dict[str, Any]:
    questions = list(
        Question.objects.published()
        .for_exam(exam)
        .select_related("domain")
        .prefetch_related("choices", "tags")
        .order_by("external_id")
    )
    needs = full_mock_needs(exam.question_count, exam.unscored_count, exam.weights())
    domains: list[dict[str, Any]] = []
    for domain in exam.domains.all():
        in_domain = [q for q in questions if q.domain_id == domain.pk]
        single = [q for q in in_domain if q.type == Question.Type.SINGLE]
        positions: Counter[str] = Counter()
        longest = 0
        for q in in_domain:
            choices = list(q.choices.all())
            for i, c in enumerate(choices):
                if c.correct:
                    positions[chr(65 + i)] += 1
            if q.type == Question.Type.SINGLE and choices:
                key = next((c for c in choices if c.correct), None)
                if key and len(key.text) == max(len(c.text) for c in choices):
                    longest += 1
        domains.append(
            {
                "number": domain.number,
                "name": domain.name,
                "weight": domain.weight,
                "published": len(in_domain),
                "needed_per_full_mock": needs.get(domain.number, 0),
                "multiple_response_share": round((len(in_domain) - len(single)) / len(in_domain), 3)
                if in_domain
                else 0,
                "correct_positions": dict(sorted(positions.items())),
                "longest_key_share": round(longest / len(single), 3) if single else 0,
            }
        )
    full_mocks = min(
        (d["published"] // d["needed_per_full_mock"] for d in domains if d["needed_per_full_mock"]), default=0
    )
    missing: dict[str, list[str]] = {"rationale": [], "tags": [], "provenance": [], "verified_as_of": []}
    for q in questions:
        if any(not c.rationale.strip() for c in q.choices.all()):
            missing["rationale"].append(q.external_id)
        if not any(t.kind == Tag.Kind.SERVICE for t in q.tags.all()):
            missing["tags"].append(q.external_id)
        if not q.provenance:
            missing["provenance"].append(q.external_id)
        if not q.verified_as_of:
            missing["verified_as_of"].append(q.external_id)
    return {
        "exam": exam.code,
        "published": len(questions),
        "multiple_response_share": round(sum(q.type == "multiple" for q in questions) / len(questions), 3)
        if questions
        else 0,
        "full_mocks_without_overlap": full_mocks,
        "domains": domains,
        "near_duplicates": near_duplicates({q.external_id: q.stem for q in questions}),
        "near_duplicate_measure": f"Jaccard similarity of word 3-gram sets of stems >= {NEAR_DUPLICATE_THRESHOLD}",
        "missing": missing,
    }
