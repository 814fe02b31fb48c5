from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from questions.exporting import EXPORT_FORMATS, LOSSY, export_queryset, render
from questions.models import Question


class Command(BaseCommand):
    help = "Export questions as yaml, json, moodle-xml, gift or csv."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--format", choices=EXPORT_FORMATS, default="yaml")
        parser.add_argument("--exam", help="Only this exam's questions.")
        parser.add_argument("-o", "--output", help="Write to this file instead of standard output.")

    def handle(self, *args: Any, **options: Any) -> None:
        questions = Question.objects.order_by("exam__code", "domain__number", "external_id")
        if options["exam"]:
            questions = questions.filter(exam__code=options["exam"])
        text = render(export_queryset(questions), options["format"])
        if options["format"] in LOSSY:
            self.stderr.write(
                f"note: {options['format']} cannot carry {LOSSY[options['format']]}; they are dropped."
            )
        if options["output"]:
            Path(options["output"]).write_text(text, encoding="utf-8")
            self.stderr.write(f"wrote {questions.count()} questions to {options['output']}")
        else:
            self.stdout.write(text, ending="")
