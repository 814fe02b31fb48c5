from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from quiz.simulation import GAP, simulate


class Command(BaseCommand):
    help = (
        "Check the weakness report against synthetic learners with known abilities (rolled back afterwards)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--learners", type=int, default=200)
        parser.add_argument("--mocks", type=int, default=3)
        parser.add_argument("--seed", type=int, default=2026)

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            result = simulate(learners=options["learners"], mocks=options["mocks"], seed=options["seed"])
            transaction.set_rollback(True)
        self.stdout.write(
            f"{result.learners} learners; {result.eligible} whose weakest domain trails the next by >= {GAP:.0%}"
        )
        for mocks, share in result.weakest_found.items():
            self.stdout.write(f"  weakest domain found after {mocks} mock(s): {share:.1%}")
        improvement = 1 - result.brier / result.brier_naive if result.brier_naive else 0.0
        self.stdout.write(
            f"Brier score of the pass probability: {result.brier:.4f}; naive baseline (last mock passed): "
            f"{result.brier_naive:.4f}; improvement {improvement:.1%}"
        )
        self.stdout.write(
            "Reliability (predicted pass probability vs the true one, from the learners' abilities, "
            "and vs one simulated real exam each):"
        )
        for row in result.reliability:
            self.stdout.write(
                f"  {row['predicted']}: {row['learners']:4} learners, mean predicted {row['mean_predicted']:.3f}, "
                f"true {row['true_pass_probability']:.3f}, observed {row['observed_pass_rate']:.3f}"
            )
        self.stdout.write(
            f"Mean |predicted - true pass probability| per learner: {result.error_vs_true:.3f}; "
            f"naive baseline: {result.naive_error_vs_true:.3f}"
        )
