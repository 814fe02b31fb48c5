import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from questions.models import Exam
from questions.stats import exam_stats


class Command(BaseCommand):
    help = "Per exam and domain: published questions, type mix, full mocks the bank can fill, key spread, near-duplicates, gaps."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--exam", help="Only this exam code.")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        exams = Exam.objects.all()
        if options["exam"]:
            exams = exams.filter(code=options["exam"])
            if not exams:
                raise CommandError(f"No exam {options['exam']!r}; import the bank first.")
        stats = [exam_stats(exam) for exam in exams]
        if options["json"]:
            self.stdout.write(json.dumps(stats, indent=2))
            return
        for s in stats:
            self.stdout.write(self.style.MIGRATE_HEADING(f"{s['exam']}: {s['published']} published"))
            self.stdout.write(
                f"  multiple response {s['multiple_response_share']:.0%}; "
                f"full mocks without overlap: {s['full_mocks_without_overlap']}"
            )
            for d in s["domains"]:
                self.stdout.write(
                    f"  D{d['number']} {d['name'][:38]:38} {d['published']:4} published "
                    f"(needs {d['needed_per_full_mock']}/mock), MR {d['multiple_response_share']:.0%}, "
                    f"key longest {d['longest_key_share']:.0%}, keys {d['correct_positions']}"
                )
            self.stdout.write(
                f"  near-duplicate pairs ({s['near_duplicate_measure']}): {len(s['near_duplicates'])}"
            )
            for a, b, score in s["near_duplicates"]:
                self.stdout.write(f"    {a} ~ {b} ({score})")
            for field, ids in s["missing"].items():
                self.stdout.write(
                    f"  missing {field}: {len(ids)}" + (f" ({', '.join(ids[:10])})" if ids else "")
                )
