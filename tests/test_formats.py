"""Import and export formats, on realistic files (tests/fixtures/formats).

Every import goes through the ``import_questions`` command or the functions it
calls, against the SAA-C03 blueprint, and each malformed file must be rejected
whole with a clear error.
"""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.management import call_command, execute_from_command_line
from django.core.management.base import CommandError

from questions.bankfile import check_question, load_exam, load_question_file
from questions.exporting import LOSSY, question_spec
from questions.formats import MAX_FIELD_CHARS, MAX_IMPORT_BYTES, parse_path, parse_text
from questions.importing import content_id, exam_sync, import_specs
from questions.models import Choice, Exam, Question, QuestionVersion

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures" / "formats"
NATIVE = FIXTURES / "native" / "SAA-C03"
BAD = FIXTURES / "bad"
NATIVE_IDS = ["SAA-D1-001", "SAA-D1-002", "SAA-D1-004", "SAA-D2-001", "SAA-D2-002"]
MISSING_FIELD_WARNINGS = [
    "no service tag",
    "no provenance (seed file and lines, or 'beyond seeds')",
    "no verified_as_of date",
]


@pytest.fixture
def saa() -> Exam:
    """The SAA-C03 blueprint (exam, domains, task statements) without any question."""
    return exam_sync(load_exam(NATIVE / "exam.yaml"))


@pytest.fixture
def bank(tmp_path: Path) -> Path:
    """A writable copy of the native fixture bank: exam.yaml, domain-1.yaml, domain-2.json."""
    folder = tmp_path / "bank" / "SAA-C03"
    shutil.copytree(NATIVE, folder)
    return folder


def run_import(*args: object) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_questions", *[str(a) for a in args], stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def run_export(*args: object) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("export_questions", *[str(a) for a in args], stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def choices_of(qid: str) -> list[tuple[str, bool, str]]:
    return [(c.text, c.correct, c.rationale) for c in Question.objects.get(external_id=qid).choices.all()]


def correct_positions(qid: str) -> list[int]:
    return [i for i, (_, correct, _) in enumerate(choices_of(qid)) if correct]


def native_dict(qid: str) -> dict[str, Any]:
    return question_spec(Question.objects.get(external_id=qid)).to_dict()


def sorted_tags(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "tags": {kind: sorted(names) for kind, names in data["tags"].items()}}


def versions() -> dict[str, int | None]:
    return dict(Question.objects.values_list("external_id", "current_version_id"))


def warning_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("warning: ")]


# --- each format imports correctly -------------------------------------------------------------


def test_native_yaml_file_imports_every_field_as_authored() -> None:
    out, err = run_import(NATIVE / "domain-1.yaml")

    assert out.strip() == "created 3, changed 0, unchanged 0, retired 0, rejected 0"
    assert err == ""
    specs, problems = load_question_file(NATIVE / "domain-1.yaml")
    assert problems == []
    assert sorted(Question.objects.values_list("external_id", flat=True)) == [
        "SAA-D1-001",
        "SAA-D1-002",
        "SAA-D1-004",
    ]
    for spec in specs:
        spec.exam = "SAA-C03"
        assert native_dict(spec.id) == sorted_tags(spec.to_dict())
    first = Question.objects.get(external_id="SAA-D1-001")
    assert (first.exam.code, first.domain.number, first.task.code) == ("SAA-C03", 1, "1.1")
    assert first.status == Question.Status.PUBLISHED
    assert first.origin == Question.Origin.IMPORTED
    assert first.provenance == "000 L118-129; 000 L170-173; 002 L869; 004 L295-297"
    assert str(first.verified_as_of) == "2026-11-22"
    assert correct_positions("SAA-D1-001") == [0]
    multiple = Question.objects.get(external_id="SAA-D1-004")
    assert (multiple.type, multiple.choose) == ("multiple", 2)
    assert first.current_version.data["stem"] == first.stem
    # exam.yaml beside the file was synced too
    assert Exam.objects.get(code="SAA-C03").domains.count() == 4


def test_native_json_file_imports_every_field_as_authored() -> None:
    out, _ = run_import(NATIVE / "domain-2.json")

    assert out.strip() == "created 2, changed 0, unchanged 0, retired 0, rejected 0"
    raw = json.loads((NATIVE / "domain-2.json").read_text())
    for item in raw["questions"]:
        data = native_dict(item["id"])
        assert data["domain"] == 2
        assert data["task"] == item["task"]
        assert data["stem"] == item["stem"].strip()
        assert data["choices"] == item["choices"]
        assert data["explanation"] == item["explanation"].strip()
        assert data["tags"] == {kind: sorted(names) for kind, names in item["tags"].items()}
        assert data["references"] == item["references"]
        assert data["verified_as_of"] == item["verified_as_of"]
        assert data["status"] == "published"


def test_native_folder_imports_yaml_and_json_files_and_the_exam() -> None:
    out, _ = run_import(NATIVE)

    assert out.strip() == "created 5, changed 0, unchanged 0, retired 0, rejected 0"
    assert list(Question.objects.values_list("external_id", flat=True)) == NATIVE_IDS
    assert set(Question.objects.values_list("status", flat=True)) == {"published"}


def test_moodle_xml_maps_categories_and_reads_multichoice_ids_and_feedback(saa: Exam) -> None:
    out, _ = run_import(FIXTURES / "saa-c03-moodle.xml")

    assert out.strip() == "created 3, changed 0, unchanged 0, retired 0, rejected 0"
    assert list(Question.objects.values_list("external_id", flat=True)) == [
        "SAA-D1-901",
        "SAA-D1-902",
        "SAA-D2-901",
    ]
    single = Question.objects.get(external_id="SAA-D1-901")
    assert (single.exam.code, single.domain.number) == ("SAA-C03", 1)
    assert (single.type, single.choose, single.status) == ("single", 1, "draft")
    assert single.stem == (
        "A company stores financial reports in an Amazon S3 bucket. Compliance requires that every use of "
        "the encryption key is logged in AWS CloudTrail and that the company controls who may use the key.\n"
        "Which encryption option should a solutions architect choose?"
    )
    assert correct_positions("SAA-D1-901") == [1]
    assert choices_of("SAA-D1-901")[1] == (
        "Server-side encryption with an AWS KMS customer managed key (SSE-KMS).",
        True,
        "The company controls the key policy of a customer managed key, and CloudTrail logs each use of "
        "the key.",
    )
    assert single.explanation.startswith("SSE-KMS with a customer managed key lets the company write")
    multiple = Question.objects.get(external_id="SAA-D1-902")
    assert (multiple.domain.number, multiple.type, multiple.choose) == (1, "multiple", 2)
    assert correct_positions("SAA-D1-902") == [0, 2]
    assert choices_of("SAA-D1-902")[1][2] == (
        "Shield Advanced protects specific resources against DDoS attacks; it does not inspect requests "
        "for SQL injection and is not enabled on a VPC."
    )
    assert multiple.stem.endswith("Which combination of actions meets these requirements? (Choose two.)")
    assert multiple.explanation.startswith("An AWS WAF web ACL can be associated with an Application Load")
    later = Question.objects.get(external_id="SAA-D2-901")
    assert (later.domain.number, correct_positions("SAA-D2-901")) == (2, [2])


def test_gift_reads_categories_titles_weights_feedback_and_escapes(saa: Exam) -> None:
    out, _ = run_import(FIXTURES / "saa-c03.gift")

    assert out.strip() == "created 3, changed 0, unchanged 0, retired 0, rejected 0"
    escaped = Question.objects.get(external_id="SAA-D1-911")
    assert escaped.domain.number == 1
    assert escaped.stem == (
        "A bucket named `reports` receives ~2,000 requests per second from several applications. "
        "Its bucket policy contains this statement:\n\n"
        '`{"Effect": "Deny", "Principal": "*", "Action": "s3:*", '
        '"Condition": {"Bool": {"aws:SecureTransport": "false"}}}`\n\n'
        "What does the statement do?"
    )
    assert choices_of("SAA-D1-911") == [
        (
            "Denies every request to the bucket that is made over plain HTTP.",
            True,
            "A request over HTTP has aws:SecureTransport = false, so the explicit deny applies to it.",
        ),
        (
            "Denies every request that does not use SSE-KMS encryption.",
            False,
            "Encryption at rest is checked with the s3:x-amz-server-side-encryption condition key, "
            "not aws:SecureTransport.",
        ),
        (
            "Denies requests from principals outside the bucket owner's account.",
            False,
            'The only condition is the transport; the principal "*" matches everyone.',
        ),
        (
            "Allows HTTPS requests from any principal, including anonymous users.",
            False,
            "A Deny statement never grants access; HTTPS requests still need an Allow elsewhere.",
        ),
    ]
    assert escaped.explanation == (
        "Denying requests where aws:SecureTransport = false is the standard way to require TLS for an S3 "
        "bucket. SDKs such as the AWS SDK for .NET (C#) already use HTTPS, so only plain-HTTP clients are "
        "affected."
    )
    # a $CATEGORY line directly followed by a question (no blank line) still switches the domain
    resilient = Question.objects.get(external_id="SAA-D2-911")
    assert (resilient.domain.number, resilient.type) == (2, "single")
    assert correct_positions("SAA-D2-911") == [2]
    assert resilient.explanation.startswith(
        "A redrive policy names a dead-letter queue and a `maxReceiveCount`"
    )
    weighted = Question.objects.get(external_id="SAA-D4-911")
    assert (weighted.domain.number, weighted.type, weighted.choose) == (4, "multiple", 2)
    assert correct_positions("SAA-D4-911") == [0, 2]
    assert choices_of("SAA-D4-911")[1] == (
        "Enable S3 Versioning on the bucket.",
        False,
        "Versioning keeps every overwritten copy, which raises cost.",
    )
    assert weighted.stem.endswith("MOST cost-effectively? (Choose two.)")


def test_aiken_imports_into_the_exam_given_on_the_command_line(saa: Exam) -> None:
    path = FIXTURES / "saa-c03-aiken.txt"
    out, _ = run_import(path, "--exam", "SAA-C03")

    assert out.strip() == "created 2, changed 0, unchanged 0, retired 0, rejected 0"
    specs = parse_path(path, exam="SAA-C03").specs
    ids = [content_id(spec) for spec in specs]
    assert list(Question.objects.order_by("pk").values_list("external_id", flat=True)) == ids
    assert all(qid.startswith("H-") and len(qid) == 14 for qid in ids)
    fargate, cache = (Question.objects.get(external_id=qid) for qid in ids)
    assert fargate.stem == (
        "A company needs to run a containerized batch job once a night. The job takes about 20 minutes and "
        "the company does not want to manage servers or clusters.\n"
        "Which solution meets these requirements with the LEAST operational overhead?"
    )
    assert [text for text, _, _ in choices_of(ids[0])][1] == (
        "Run the job as an Amazon ECS task on AWS Fargate, started by an Amazon EventBridge Scheduler "
        "schedule."
    )
    assert correct_positions(ids[0]) == [1]
    assert correct_positions(ids[1]) == [2]  # "A)" style options, "ANSWER: C"
    assert choices_of(ids[1])[2] == ("Amazon ElastiCache for Memcached", True, "")
    assert (fargate.exam.code, fargate.domain, fargate.status) == ("SAA-C03", None, "draft")
    assert (cache.exam.code, cache.domain, cache.status) == ("SAA-C03", None, "draft")


def test_csv_reads_ids_options_rationales_correct_numbers_or_letters_domain_and_tags(saa: Exam) -> None:
    out, _ = run_import(FIXTURES / "saa-c03.csv", "--exam", "SAA-C03")

    # the trailing row of empty cells (as spreadsheets save it) is skipped
    assert out.strip() == "created 3, changed 0, unchanged 0, retired 0, rejected 0"
    cdn = Question.objects.get(external_id="SAA-D3-921")
    assert cdn.stem == (
        "A media company serves the same video segments to viewers worldwide from an Amazon S3 bucket in "
        "us-east-1. Viewers in Asia report slow starts.\n"
        "What should a solutions architect do to reduce latency for them?"
    )
    assert choices_of("SAA-D3-921") == [
        (
            "Enable S3 Transfer Acceleration on the bucket.",
            False,
            "Transfer Acceleration speeds up uploads and downloads over long distances, but it does not "
            "cache content near viewers.",
        ),
        (
            "Serve the bucket through an Amazon CloudFront distribution.",
            True,
            "CloudFront caches the segments at edge locations close to viewers.",
        ),
        (
            "Copy the bucket to a larger S3 storage class.",
            False,
            "Storage classes differ in cost and availability, not in latency to distant viewers.",
        ),
        (
            "Put an Application Load Balancer in front of the bucket.",
            False,
            "An Application Load Balancer cannot use an S3 bucket as a target.",
        ),
    ]
    assert cdn.explanation == (
        "Amazon CloudFront caches content at edge locations, so repeated requests for the same segments "
        "are served close to the viewer."
    )
    assert cdn.domain.number == 3
    assert sorted(cdn.tags.values_list("kind", "name")) == [
        ("service", "Amazon CloudFront"),
        ("service", "Amazon S3"),
    ]
    replicas = Question.objects.get(external_id="SAA-D3-922")
    assert (replicas.domain.number, replicas.type, replicas.choose) == (3, "multiple", 2)  # "Domain 3"
    assert len(choices_of("SAA-D3-922")) == 5
    assert correct_positions("SAA-D3-922") == [0, 2]  # "A;C"
    assert correct_positions("SAA-D2-921") == [3]  # "d"
    assert Question.objects.get(external_id="SAA-D2-921").domain.number == 2


def test_csv_saved_with_semicolons_imports_like_commas(saa: Exam) -> None:
    text = (
        "id;question;option 1;option 2;option 3;option 4;correct;domain;tags\n"
        "SAA-D1-961;Which service issues temporary credentials?;AWS STS;Amazon Cognito user pools;"
        "IAM access keys;AWS Directory Service;A;Design Secure Architectures;AWS STS\n"
    )
    result = parse_text(text, fmt="csv", source="semicolons.csv", exam="SAA-C03", domain=None)

    assert result.errors == []
    [spec] = result.specs
    assert (spec.id, spec.domain, spec.correct_positions(), spec.tags) == (
        "SAA-D1-961",
        1,
        [0],
        {"services": ["AWS STS"]},
    )


def test_markdown_task_lists_import_headings_options_and_explanations(saa: Exam) -> None:
    out, _ = run_import(FIXTURES / "saa-c03-questions.md", "--exam", "SAA-C03")

    assert out.strip() == "created 2, changed 0, unchanged 0, retired 0, rejected 0"
    archive, routing = Question.objects.order_by("pk")
    assert archive.stem == (
        "A company wants to store 50 TB of infrequently accessed data for 7 years at the lowest cost. "
        "Retrieval within 12 hours is acceptable. Which storage class should it use?"
    )
    assert [(t, c) for t, c, _ in choices_of(archive.external_id)] == [
        ("S3 Standard", False),
        ("S3 Intelligent-Tiering", False),
        ("S3 Glacier Deep Archive", True),
        ("S3 One Zone-IA", False),
    ]
    assert archive.explanation == (
        "S3 Glacier Deep Archive is the lowest-cost storage class; standard retrievals complete within 12 hours."
    )
    assert (routing.type, routing.choose) == ("multiple", 2)
    assert correct_positions(routing.external_id) == [0, 2]
    assert (
        routing.stem
        == "Which two services can route traffic to targets in multiple AWS Regions? (Choose two.)"
    )


def test_markdown_section_heading_naming_a_domain_sets_the_domain_of_the_questions_below(saa: Exam) -> None:
    text = (
        "## Design Resilient Architectures\n\n"
        "### Which service decouples producers from consumers with a queue?\n"
        "- [x] Amazon SQS\n- [ ] Amazon EBS\n- [ ] AWS Shield\n- [ ] Amazon Macie\n\n"
        "## Domain 4\n\n"
        "### Which purchase option gives the biggest discount for steady EC2 usage over 3 years?\n"
        "- [ ] On-Demand Instances\n- [x] Reserved Instances, 3-year, all upfront\n"
        "- [ ] Spot Instances\n- [ ] Dedicated Hosts, On-Demand\n"
    )
    result = parse_text(text, fmt="markdown", source="sections.md", exam="SAA-C03", domain=None)

    assert result.errors == []
    assert [(s.domain, s.correct_positions()) for s in result.specs] == [(2, [0]), (4, [1])]


# --- malformed files: a clear error and nothing written ----------------------------------------

BAD_FILES = [
    (
        "unclosed-brace.gift",
        "unclosed-brace.gift:3: expected exactly one '{ ... }' answer block (found 1 '{' and 0 '}'); "
        "escape literal braces as \\{ \\}",
    ),
    (
        "xxe.xml",
        "xxe.xml: refused unsafe XML (DTDForbidden): DTDs and entities are not allowed",
    ),
    (
        "billion-laughs.xml",
        "billion-laughs.xml: refused unsafe XML (DTDForbidden): DTDs and entities are not allowed",
    ),
    ("aiken-no-answer.txt", "aiken-no-answer.txt:8: question has no 'ANSWER:' line"),
    ("bad-correct.csv", "bad-correct.csv:3: correct answer 'E' is not among the options (1, 2, 3, 4)"),
    ("unchecked.md", "unchecked.md:10: question has no checked option ('- [x]')"),
]


@pytest.mark.parametrize(("name", "message"), BAD_FILES, ids=[name for name, _ in BAD_FILES])
def test_malformed_file_is_rejected_whole_with_a_clear_error(name: str, message: str) -> None:
    run_import(NATIVE)
    before = Question.objects.count()

    err = io.StringIO()
    with pytest.raises(CommandError, match=r"^1 error\(s\) in .*; nothing was written$"):
        call_command("import_questions", str(BAD / name), "--exam", "SAA-C03", stderr=err)

    assert err.getvalue().splitlines() == [f"{BAD}/{message}"]
    assert Question.objects.count() == before == 5
    assert "root:" not in err.getvalue()  # nothing of /etc/passwd leaks into a message


def test_oversized_file_is_rejected_before_it_is_read(saa: Exam, tmp_path: Path) -> None:
    path = tmp_path / "huge.gift"
    block = (FIXTURES / "saa-c03.gift").read_bytes()
    path.write_bytes(block * (MAX_IMPORT_BYTES // len(block) + 1))
    assert path.stat().st_size > MAX_IMPORT_BYTES

    with pytest.raises(CommandError, match="nothing was written"):
        run_import(path)

    result = parse_path(path)
    assert result.errors == [
        f"{path}: file is {path.stat().st_size} bytes, over the import limit of {MAX_IMPORT_BYTES} bytes"
    ]
    assert Question.objects.count() == 0


def test_oversized_field_is_rejected(saa: Exam, tmp_path: Path) -> None:
    path = tmp_path / "long-stem.gift"
    stem = "A company runs a fleet of web servers. " * (MAX_FIELD_CHARS // 39 + 1)
    path.write_text(
        f"$CATEGORY: $course$/SAA-C03/Design Secure Architectures\n\n"
        f"::SAA-D1-971::{stem}{{\n=Use IAM roles\n~Use access keys\n~Use the root user\n~Share passwords\n}}\n",
        encoding="utf-8",
    )

    with pytest.raises(CommandError, match="nothing was written"):
        run_import(path)

    assert parse_path(path).errors == [
        f"{path}:3 [SAA-D1-971]: stem is longer than {MAX_FIELD_CHARS} characters"
    ]
    assert Question.objects.count() == 0


def test_import_command_exits_non_zero_and_lists_every_error(
    bank: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # run_from_argv closes every connection when it ends; keep the test's transaction open.
    monkeypatch.setattr("django.core.management.base.connections.close_all", lambda: None)
    path = bank / "domain-1.yaml"
    data = yaml.safe_load(path.read_text())
    data["questions"][0]["choices"].pop()  # 3 options left
    data["questions"][1]["choices"][2]["rationale"] = ""
    data["questions"][2]["verified_as_of"] = None
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))

    with pytest.raises(SystemExit) as exited:
        execute_from_command_line(["manage.py", "import_questions", str(bank)])

    assert exited.value.code == 1
    err = capsys.readouterr().err
    lines = path.read_text().splitlines()
    first, second, third = (
        lines.index(f"- id: {qid}") + 1 for qid in ["SAA-D1-001", "SAA-D1-002", "SAA-D1-004"]
    )
    assert f"{path}:{first} [SAA-D1-001]: single-answer questions need exactly 4 options, found 3" in err
    assert f"{path}:{second} [SAA-D1-002]: option C has no rationale" in err
    assert f"{path}:{third} [SAA-D1-004]: no verified_as_of date" in err
    assert "CommandError: 3 error(s); nothing was written" in err
    assert Question.objects.count() == 0
    assert Exam.objects.count() == 0


# --- unsupported question types ---------------------------------------------------------------


def test_unsupported_gift_types_are_skipped_with_a_warning_naming_each(saa: Exam) -> None:
    path = FIXTURES / "saa-c03.gift"
    result = parse_path(path)

    assert result.errors == []
    assert result.warnings == [
        f"{path}:16 [IAM roles for services]: skipped true/false question (not supported)",
        f"{path}:27 [STS short answer]: skipped short answer question (not supported)",
        f"{path}:29 [Load balancer match]: skipped matching question (not supported)",
        f"{path}:35 [DR essay]: skipped essay question (not supported)",
    ]
    assert [s.id for s in result.specs] == ["SAA-D1-911", "SAA-D2-911", "SAA-D4-911"]


def test_unsupported_moodle_types_are_skipped_with_a_warning_naming_each(saa: Exam) -> None:
    path = FIXTURES / "saa-c03-moodle.xml"
    _, err = run_import(path)

    assert warning_lines(err)[:4] == [
        f"warning: {path}: question 4 (IAM is a global service): skipped truefalse question (not supported)",
        f"warning: {path}: question 5 (Least privilege in practice): skipped essay question (not supported)",
        f"warning: {path}: question 7 (Service for temporary credentials): "
        "skipped shortanswer question (not supported)",
        f"warning: {path}: question 8 (Match the load balancer): skipped matching question (not supported)",
    ]
    # then every importer warning, none swallowed: three missing fields for each of three questions
    assert len(warning_lines(err)) == 4 + 3 * 3
    assert warning_lines(err)[4] == f"warning: {path}:2 [SAA-D1-901]: no service tag; imported as draft"
    assert Question.objects.count() == 3


def test_gift_option_with_an_arrow_is_multiple_choice_not_matching(saa: Exam) -> None:
    text = (
        "::SAA-D3-981::Which request path serves cached content closest to users? {\n"
        "=Viewer -> CloudFront edge location -> S3 origin on a cache miss\n"
        "~Viewer -> S3 bucket in us-east-1\n~Viewer -> NAT gateway -> S3\n~Viewer -> Direct Connect -> S3\n}"
    )
    result = parse_text(text, fmt="gift", source="arrows.gift", exam="SAA-C03", domain=3)

    assert (result.warnings, result.errors) == ([], [])
    assert [c.text for c in result.specs[0].choices][0] == (
        "Viewer -> CloudFront edge location -> S3 origin on a cache miss"
    )


def test_partial_credit_answers_do_not_count_as_correct_in_single_answer_questions(saa: Exam) -> None:
    gift = "::Q1::Which is best? {\n=Right\n~%50%Half right\n~Wrong\n~Also wrong\n}"
    xml = (
        '<?xml version="1.0"?><quiz><question type="multichoice"><name><text>Q2</text></name>'
        "<questiontext><text>Which is best?</text></questiontext><single>true</single>"
        '<answer fraction="100"><text>Right</text></answer>'
        '<answer fraction="50"><text>Half right</text></answer>'
        '<answer fraction="0"><text>Wrong</text></answer></question></quiz>'
    )

    [from_gift] = parse_text(gift, fmt="gift", source="q.gift", exam="SAA-C03", domain=1).specs
    [from_xml] = parse_text(xml, fmt="moodle-xml", source="q.xml", exam="SAA-C03", domain=1).specs

    assert (from_gift.type, from_gift.correct_positions()) == ("single", [0])
    assert (from_xml.type, from_xml.correct_positions()) == ("single", [0])


# --- drafts and publishing --------------------------------------------------------------------


def test_formats_lacking_domain_and_rationale_import_as_drafts_with_a_warning_per_missing_field(
    saa: Exam,
) -> None:
    path = FIXTURES / "saa-c03-aiken.txt"
    result = parse_path(path, exam="SAA-C03")
    report = import_specs(result.specs, strict=False)

    first = result.specs[0]
    where = f"{path}:1 [{first.id}]"
    assert [w for w in report.warnings if w.startswith(where)] == [
        f"{where}: {message}; imported as draft"
        for message in [
            "no domain",
            "option A has no rationale",
            "option B has no rationale",
            "option C has no rationale",
            "option D has no rationale",
            "empty explanation",
            *MISSING_FIELD_WARNINGS,
        ]
    ]
    assert len(report.warnings) == 2 * 9
    assert set(Question.objects.values_list("status", flat=True)) == {"draft"}


def test_moodle_question_with_domain_and_rationales_warns_only_about_what_moodle_cannot_carry(
    saa: Exam,
) -> None:
    path = FIXTURES / "saa-c03-moodle.xml"
    result = parse_path(path)
    report = import_specs(result.specs, strict=False)

    where = f"{path}:2 [SAA-D1-901]"
    assert [w for w in report.warnings if w.startswith(where)] == [
        f"{where}: {message}; imported as draft" for message in MISSING_FIELD_WARNINGS
    ]
    assert report.created == ["SAA-D1-901", "SAA-D1-902", "SAA-D2-901"]


def test_imported_draft_completed_by_its_author_is_published(saa: Exam, tmp_path: Path) -> None:
    run_import(FIXTURES / "saa-c03.gift")
    draft = Question.objects.get(external_id="SAA-D1-911")
    assert draft.status == Question.Status.DRAFT
    exported = tmp_path / "draft.yaml"
    run_export("--format", "yaml", "-o", exported)

    data = yaml.safe_load(exported.read_text())
    data["questions"] = [q for q in data["questions"] if q["id"] == "SAA-D1-911"]
    data["questions"][0].update(
        status="published",
        task="1.3",
        tags={"services": ["Amazon S3"], "topics": ["bucket policies"], "facets": ["security"]},
        provenance="beyond seeds",
        verified_as_of="2026-11-22",
    )
    completed = tmp_path / "completed.yaml"
    completed.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    [spec] = parse_path(completed).specs
    assert check_question(spec, load_exam(NATIVE / "exam.yaml")) == []

    out, err = run_import(completed)

    assert out.strip() == "created 0, changed 1, unchanged 0, retired 0, rejected 0"
    assert err == ""
    published = Question.objects.get(external_id="SAA-D1-911")
    assert (published.status, published.task.code) == ("published", "1.3")
    assert published in Question.objects.published()
    assert published.current_version == draft.current_version  # the content shown did not change


# --- idempotence, dry run, sync ---------------------------------------------------------------

REIMPORTS = [
    (NATIVE, []),
    (NATIVE / "domain-2.json", []),
    (FIXTURES / "saa-c03-moodle.xml", []),
    (FIXTURES / "saa-c03.gift", []),
    (FIXTURES / "saa-c03-aiken.txt", ["--exam", "SAA-C03"]),
    (FIXTURES / "saa-c03.csv", ["--exam", "SAA-C03"]),
    (FIXTURES / "saa-c03-questions.md", ["--exam", "SAA-C03"]),
]


@pytest.mark.parametrize(("path", "options"), REIMPORTS, ids=[p.name for p, _ in REIMPORTS])
def test_importing_the_same_file_twice_changes_nothing(saa: Exam, path: Path, options: list[str]) -> None:
    run_import(path, *options)
    count = Question.objects.count()
    before = versions()
    updated = dict(Question.objects.values_list("external_id", "updated_at"))

    out, _ = run_import(path, *options)

    assert count > 0
    assert out.strip() == f"created 0, changed 0, unchanged {count}, retired 0, rejected 0"
    assert Question.objects.count() == count
    assert versions() == before
    assert dict(Question.objects.values_list("external_id", "updated_at")) == updated
    assert QuestionVersion.objects.count() == count


def test_dry_run_writes_nothing_and_reports_created_changed_unchanged_and_rejected(
    saa: Exam, tmp_path: Path
) -> None:
    source = FIXTURES / "saa-c03.csv"
    run_import(source, "--exam", "SAA-C03")
    Question.objects.filter(external_id="SAA-D2-921").update(origin=Question.Origin.ADMIN)
    text = source.read_text().replace(
        "so repeated requests for the same segments are served close to the viewer.",
        "so repeated requests for the same segments are served from a nearby edge location.",
    )
    text += (
        "SAA-D3-923,Which service gives a managed Apache Kafka cluster?,Amazon MSK,Amazon MQ,Amazon SQS,"
        "Amazon Kinesis Data Firehose,,,,,,,,,1,Amazon MSK runs Apache Kafka for you.,3,Amazon MSK\n"
    )
    edited = tmp_path / "edited.csv"
    edited.write_text(text)
    before = versions()
    explanations = dict(Question.objects.values_list("external_id", "explanation"))

    out, _ = run_import(edited, "--exam", "SAA-C03", "--dry-run")

    assert out.splitlines() == [
        "  created: SAA-D3-923",
        "  changed: SAA-D3-921",
        "  rejected: SAA-D2-921",
        "Dry run, nothing written: would have created 1, changed 1, unchanged 1, retired 0, rejected 1",
    ]
    assert versions() == before
    assert dict(Question.objects.values_list("external_id", "explanation")) == explanations


def test_dry_run_of_a_new_bank_creates_neither_exams_nor_questions() -> None:
    out, _ = run_import(NATIVE, "--dry-run")

    assert out.splitlines()[-1] == (
        "Dry run, nothing written: would have created 5, changed 0, unchanged 0, retired 0, rejected 0"
    )
    assert (Exam.objects.count(), Question.objects.count(), Choice.objects.count()) == (0, 0, 0)


def _admin_question(exam: Exam) -> Question:
    question = Question.objects.create(
        external_id="SAA-D1-ADMIN-1",
        exam=exam,
        domain=exam.domains.get(number=1),
        stem="Which AWS service records the API calls made in an account?",
        explanation="AWS CloudTrail records management events by default.",
        status=Question.Status.PUBLISHED,
        origin=Question.Origin.ADMIN,
    )
    for position, text in enumerate(["AWS CloudTrail", "AWS Config", "Amazon Inspector", "AWS X-Ray"]):
        Choice.objects.create(question=question, position=position, text=text, correct=position == 0)
    question.sync_version()
    return question


def test_sync_updates_changed_retires_removed_and_leaves_unchanged_and_admin_questions_alone(
    bank: Path,
) -> None:
    out, _ = run_import(bank.parent, "--sync")
    assert out.strip() == "created 5, changed 0, unchanged 0, retired 0, rejected 0"
    assert set(Question.objects.values_list("origin", flat=True)) == {"bundled"}
    admin = _admin_question(Exam.objects.get(code="SAA-C03"))
    first = Question.objects.get(external_id="SAA-D1-001")
    old_version = first.current_version
    kept = {
        q.external_id: (q.updated_at, q.current_version_id, q.content_hash) for q in Question.objects.all()
    }

    path = bank / "domain-1.yaml"
    data = yaml.safe_load(path.read_text())
    changed, removed, unchanged = data["questions"]
    changed["stem"] = changed["stem"].replace("six production accounts", "eight production accounts")
    data["questions"] = [changed, unchanged]
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))

    out, _ = run_import(bank.parent, "--sync")

    assert out.strip() == "created 0, changed 1, unchanged 3, retired 1, rejected 0"
    first.refresh_from_db()
    assert "eight production accounts" in first.stem
    assert list(first.versions.values_list("number", flat=True)) == [1, 2]
    assert first.current_version.number == 2
    assert "six production accounts" in QuestionVersion.objects.get(pk=old_version.pk).data["stem"]
    retired = Question.objects.get(external_id="SAA-D1-002")
    assert retired.status == Question.Status.RETIRED
    assert retired.versions.count() == 1
    for qid in ["SAA-D1-004", "SAA-D2-001", "SAA-D2-002"]:
        question = Question.objects.get(external_id=qid)
        assert (question.updated_at, question.current_version_id, question.content_hash) == kept[qid]
        assert question.status == Question.Status.PUBLISHED
    admin_now = Question.objects.get(pk=admin.pk)
    assert (admin_now.status, admin_now.origin) == ("published", "admin")
    assert (admin_now.updated_at, admin_now.current_version_id) == (
        admin.updated_at,
        admin.current_version_id,
    )


def test_sync_publishes_a_retired_question_again_when_it_returns_to_the_bank(bank: Path) -> None:
    original = (bank / "domain-1.yaml").read_text()
    run_import(bank.parent, "--sync")
    data = yaml.safe_load(original)
    data["questions"] = data["questions"][:1]
    (bank / "domain-1.yaml").write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    run_import(bank.parent, "--sync")
    assert Question.objects.get(external_id="SAA-D1-002").status == Question.Status.RETIRED

    (bank / "domain-1.yaml").write_text(original)
    out, _ = run_import(bank.parent, "--sync")

    assert out.strip() == "created 0, changed 2, unchanged 3, retired 0, rejected 0"
    assert Question.objects.get(external_id="SAA-D1-002").status == Question.Status.PUBLISHED
    assert QuestionVersion.objects.count() == 5


def test_sync_is_refused_for_formats_other_than_the_native_bank(saa: Exam) -> None:
    run_import(NATIVE, "--sync")

    with pytest.raises(CommandError, match="--sync only works with the native bank format"):
        run_import(FIXTURES / "saa-c03.gift", "--sync")

    assert Question.objects.filter(status="published").count() == 5


def test_plain_import_of_a_bundled_question_keeps_it_bundled(bank: Path) -> None:
    run_import(bank.parent, "--sync")
    path = bank / "domain-2.json"
    path.write_text(path.read_text().replace("falls behind and drops requests", "falls behind"))

    out, _ = run_import(path)

    assert out.strip() == "created 0, changed 1, unchanged 1, retired 0, rejected 0"
    assert set(Question.objects.values_list("origin", flat=True)) == {"bundled"}


# --- round trips ------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_native_export_then_import_gives_back_the_same_bank(fmt: str, tmp_path: Path) -> None:
    run_import(NATIVE)
    before = {qid: native_dict(qid) for qid in NATIVE_IDS}
    path = tmp_path / f"export.{fmt}"
    _, err = run_export("--format", fmt, "--exam", "SAA-C03", "-o", path)
    assert err.splitlines() == [f"wrote 5 questions to {path}"]

    out, _ = run_import(path)
    assert out.strip() == "created 0, changed 0, unchanged 5, retired 0, rejected 0"
    Question.objects.all().delete()
    out, _ = run_import(path)

    assert out.strip() == "created 5, changed 0, unchanged 0, retired 0, rejected 0"
    assert {qid: native_dict(qid) for qid in NATIVE_IDS} == before


def carried_fields(qid: str, *, with_services: bool = False) -> dict[str, Any]:
    spec = question_spec(Question.objects.get(external_id=qid))
    fields: dict[str, Any] = {
        "id": spec.id,
        "exam": spec.exam,
        "domain": spec.domain,
        "type": spec.type,
        "choose": spec.choose,
        "stem": spec.stem,
        "choices": [(c.text, c.correct, c.rationale) for c in spec.choices],
        "explanation": spec.explanation,
    }
    if with_services:
        fields["services"] = sorted(spec.tags["services"])
    return fields


@pytest.mark.parametrize(("fmt", "suffix"), [("moodle-xml", "xml"), ("gift", "gift"), ("csv", "csv")])
def test_lossy_export_then_import_keeps_every_field_the_format_carries(
    fmt: str, suffix: str, tmp_path: Path
) -> None:
    run_import(NATIVE)
    with_services = fmt == "csv"
    before = {qid: carried_fields(qid, with_services=with_services) for qid in NATIVE_IDS}
    path = tmp_path / f"export.{suffix}"
    _, err = run_export("--format", fmt, "-o", path)
    assert err.splitlines() == [
        f"note: {fmt} cannot carry {LOSSY[fmt]}; they are dropped.",
        f"wrote 5 questions to {path}",
    ]

    Question.objects.all().delete()
    out, _ = run_import(path)

    assert out.strip() == "created 5, changed 0, unchanged 0, retired 0, rejected 0"
    assert {qid: carried_fields(qid, with_services=with_services) for qid in NATIVE_IDS} == before
    assert set(Question.objects.values_list("status", flat=True)) == {"draft"}


@pytest.mark.parametrize(("fmt", "suffix"), [("moodle-xml", "xml"), ("gift", "gift"), ("csv", "csv")])
def test_a_lossy_round_trip_of_a_published_bank_changes_nothing(
    fmt: str, suffix: str, tmp_path: Path
) -> None:
    run_import(NATIVE)
    before = {qid: sorted_tags(native_dict(qid)) for qid in NATIVE_IDS}
    assert {data["status"] for data in before.values()} == {"published"}
    path = tmp_path / f"export.{suffix}"
    run_export("--format", fmt, "-o", path)

    out, err = run_import(path)

    assert out.strip() == "created 0, changed 0, unchanged 5, retired 0, rejected 0"
    assert err == ""
    assert {qid: sorted_tags(native_dict(qid)) for qid in NATIVE_IDS} == before


@pytest.mark.parametrize(("fmt", "suffix"), [("moodle-xml", "xml"), ("gift", "gift"), ("csv", "csv")])
def test_an_edit_made_in_a_lossy_format_keeps_what_the_format_cannot_carry(
    fmt: str, suffix: str, tmp_path: Path
) -> None:
    run_import(NATIVE)
    before = sorted_tags(native_dict("SAA-D1-002"))
    old_version = versions()["SAA-D1-002"]
    path = tmp_path / f"export.{suffix}"
    run_export("--format", fmt, "-o", path)
    sentence, edited = "reads objects from an S3 bucket.", "reads objects from an S3 bucket in eu-west-1."
    assert path.read_text().count(sentence) == 1
    path.write_text(path.read_text().replace(sentence, edited))

    out, err = run_import(path)

    assert out.strip() == "created 0, changed 1, unchanged 4, retired 0, rejected 0"
    assert err == ""
    after = sorted_tags(native_dict("SAA-D1-002"))
    assert after == {**before, "stem": before["stem"].replace(sentence, edited)}
    assert after["status"] == "published" and after["references"] and after["tags"]["topics"]
    assert versions()["SAA-D1-002"] != old_version  # attempts keep the version they were shown


def test_a_lossy_file_that_would_unpublish_a_question_leaves_it_unchanged(tmp_path: Path) -> None:
    run_import(NATIVE)
    Question.objects.filter(external_id="SAA-D1-004").update(status=Question.Status.DRAFT)
    before = {qid: sorted_tags(native_dict(qid)) for qid in NATIVE_IDS}
    path = tmp_path / "export.xml"
    run_export("--format", "moodle-xml", "-o", path)
    # Every explanation blanked: the file's version of each question fails the bank's checks.
    text = re.sub(r"(<generalfeedback[^>]*>\s*<text>).*?(</text>)", r"\1\2", path.read_text(), flags=re.S)
    path.write_text(text)

    out, err = run_import(path)

    assert out.strip() == "created 0, changed 1, unchanged 0, retired 0, rejected 4"
    assert "[SAA-D1-001]: empty explanation" in err
    assert "[SAA-D1-001]: left unchanged; the published question would become a draft" in err
    assert "[SAA-D1-004]: empty explanation; imported as draft" in err  # a draft may stay a draft
    after = {qid: sorted_tags(native_dict(qid)) for qid in NATIVE_IDS}
    assert {qid: data for qid, data in after.items() if qid != "SAA-D1-004"} == {
        qid: data for qid, data in before.items() if qid != "SAA-D1-004"
    }
    assert after["SAA-D1-004"] == {**before["SAA-D1-004"], "explanation": ""}


def test_export_command_says_what_lossy_formats_drop_and_nothing_for_native() -> None:
    run_import(NATIVE)

    _, yaml_err = run_export("--format", "yaml")
    _, gift_err = run_export("--format", "gift")

    assert yaml_err == ""
    assert gift_err.strip() == (
        "note: gift cannot carry tags, task statement, difficulty, status, references, provenance and "
        "verified_as_of; they are dropped."
    )


def test_export_command_writes_the_file_given_with_o(tmp_path: Path) -> None:
    run_import(NATIVE)
    path = tmp_path / "saa.yaml"

    out, err = run_export("--exam", "SAA-C03", "-o", path)

    assert out == ""
    assert err.strip() == f"wrote 5 questions to {path}"
    specs, problems = load_question_file(path)
    assert problems == []
    assert [s.id for s in specs] == NATIVE_IDS
    assert yaml.safe_load(path.read_text())["exam"] == "SAA-C03"


def test_gift_missing_word_question_marks_the_gap_and_a_block_without_answers_is_skipped(saa: Exam) -> None:
    text = (
        "Read each statement and choose the missing word.\n\n"
        "::SAA-D2-991::Amazon SQS moves messages that fail too often to a {~retry queue ~standby queue "
        "=dead-letter queue ~FIFO queue} for inspection."
    )
    result = parse_text(text, fmt="gift", source="missing-word.gift", exam="SAA-C03", domain=2)

    assert result.warnings == [
        "missing-word.gift:1 [Read each statement and choose the missi]: skipped description (no answer block)"
    ]
    [spec] = result.specs
    assert spec.stem == "Amazon SQS moves messages that fail too often to a _____ for inspection."
    assert [(c.text, c.correct) for c in spec.choices] == [
        ("retry queue", False),
        ("standby queue", False),
        ("dead-letter queue", True),
        ("FIFO queue", False),
    ]


def test_a_nul_character_is_a_clear_error_not_a_database_crash(tmp_path: Path) -> None:
    csv_file = tmp_path / "nul.csv"
    csv_file.write_text(
        'id,exam,question,option 1,option 2,option 3,option 4,correct\n"ab\x00c",SAA-C03,What?,a,b,c,d,1\n'
    )
    yaml_file = tmp_path / "domain-1.yaml"
    native = (NATIVE / "domain-1.yaml").read_text()
    assert native.count("id: SAA-D1-001\n") == 1
    yaml_file.write_text(native.replace("id: SAA-D1-001\n", 'id: "SAA-D1-001\\0"\n'))  # YAML's \0 escape
    for path in (csv_file, yaml_file):
        err = io.StringIO()
        with pytest.raises(CommandError, match="nothing was written"):
            call_command("import_questions", str(path), "--exam", "SAA-C03", "--domain", "1", stderr=err)
        assert "contains a NUL character" in err.getvalue(), path.name
    assert not Question.objects.exists()
