from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from quiz.itemstats import MIN_LEARNERS, item_stats_refresh
from quiz.models import ItemStat


class Command(BaseCommand):
    help = (
        "Recompute the item analysis (facility, discrimination, option counts) from learners' answers "
        "and list the questions it flags. Beat runs the same every night."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        count = item_stats_refresh(now=timezone.now())
        enough = ItemStat.objects.filter(learners__gte=MIN_LEARNERS).count()
        self.stdout.write(
            f"{count} question version(s) have answers; {enough} have at least {MIN_LEARNERS} learners."
        )
        flagged = ItemStat.objects.filter(flagged=True).select_related("version__question")
        for stat in flagged.order_by("version__question__external_id"):
            question = stat.version.question
            self.stdout.write(f"{question.external_id} v{stat.version.number} ({stat.learners} learners):")
            for flag in stat.flags:
                self.stdout.write(f"  - {flag}")
