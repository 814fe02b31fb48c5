from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from questions.formats import FORMATS, parse_path
from questions.importing import ImportRejected, import_specs
from questions.models import Question


class Command(BaseCommand):
    help = (
        "Import questions from a file or folder (native YAML/JSON, Moodle XML, GIFT, Aiken, CSV, Markdown)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path")
        parser.add_argument("--format", choices=FORMATS)
        parser.add_argument("--exam", default="", help="Exam code for formats that carry none.")
        parser.add_argument("--domain", type=int, help="Domain number for formats that carry none.")
        parser.add_argument("--sync", action="store_true", help="Retire bundled questions missing from PATH.")
        parser.add_argument("--dry-run", action="store_true", help="Report what would change; write nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["path"])
        if not path.exists():
            raise CommandError(f"{path} does not exist")
        result = parse_path(path, fmt=options["format"], exam=options["exam"], domain=options["domain"])
        for warning in result.warnings:
            self.stderr.write(f"warning: {warning}")
        if result.errors:
            for error in result.errors:
                self.stderr.write(error)
            raise CommandError(f"{len(result.errors)} error(s) in {path}; nothing was written")
        if options["sync"] and not result.native:
            raise CommandError("--sync only works with the native bank format (a folder or .yaml/.json file)")
        origin = Question.Origin.BUNDLED if options["sync"] and result.native else Question.Origin.IMPORTED
        try:
            report = import_specs(
                result.specs,
                exams=result.exams,
                origin=origin,
                strict=result.native,
                sync=options["sync"],
                dry_run=options["dry_run"],
                warnings=result.warnings,
                not_carried=result.not_carried,
            )
        except ImportRejected as rejected:
            for error in rejected.errors:
                self.stderr.write(error)
            raise CommandError(str(rejected)) from None
        for warning in report.warnings[len(result.warnings) :]:
            self.stderr.write(f"warning: {warning}")
        if options["dry_run"] or options["verbosity"] > 1:
            for label in ("created", "changed", "retired", "rejected"):
                for qid in getattr(report, label):
                    self.stdout.write(f"  {label}: {qid}")
        self.stdout.write(report.summary())
