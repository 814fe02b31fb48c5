from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from questions.bankfile import authoring_summary, check_bank


class Command(BaseCommand):
    help = "Check native bank files; report each problem with file, line and question id."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", nargs="?", default=str(settings.BANK_DIR))

    def handle(self, *args: Any, path: str, **options: Any) -> None:
        root = Path(path)
        if not root.exists():
            raise CommandError(f"{root} does not exist")
        result = check_bank(root)
        for problem in result.problems:
            self.stderr.write(str(problem))
        self.stdout.write(authoring_summary(result.questions))
        if result.problems:
            raise CommandError(f"{len(result.problems)} problem(s) in {root}")
        self.stdout.write(self.style.SUCCESS(f"{len(result.questions)} questions OK"))
