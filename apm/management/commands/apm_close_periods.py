from django.core.management.base import BaseCommand, CommandError

from apm import period_results
from apm.models import Baseline

MAX_PERIODS = 120


class Command(BaseCommand):
    help = (
        "Keep the result of each closed calendar period (the hourly task's work, on demand): "
        "the last --periods periods of every active calendar-period baseline, or of --baseline."
    )

    def add_arguments(self, parser):
        parser.add_argument("--baseline", type=int, help="one baseline's id")
        parser.add_argument(
            "--periods", type=int, default=period_results.SHOWN, help="how many closed periods"
        )

    def handle(self, *args, baseline=None, periods=period_results.SHOWN, **options):
        if not 1 <= periods <= MAX_PERIODS:
            raise CommandError(f"--periods must be between 1 and {MAX_PERIODS}")
        baselines = Baseline.objects.exclude(period=Baseline.Period.ROLLING)
        if baseline is not None:
            baselines = baselines.filter(pk=baseline)
            if not baselines.exists():
                raise CommandError(f"--baseline: no calendar-period baseline with id {baseline}")
        else:
            baselines = baselines.filter(active=True)
        for b in baselines.select_related("program").order_by("pk"):
            kept = period_results.close_due(b, count=periods)
            missing = [
                p.label for p, r in period_results.last_periods(b, count=periods) if r is None
            ]
            self.stdout.write(
                f"  {b.program.code}/{b.name}: {len(kept)} kept"
                + (f"; not judged (probe failed): {', '.join(missing)}" if missing else "")
            )
