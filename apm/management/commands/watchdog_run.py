from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from apm import services
from apm.models import Baseline, Deviation


class Command(BaseCommand):
    help = "Run the watchdog once: every active baseline, or one with --baseline ID."

    def add_arguments(self, parser):
        parser.add_argument(
            "--baseline", type=int, help="run only this baseline (even if inactive)"
        )
        parser.add_argument(
            "--at", help="evaluate at this ISO-8601 time instead of now (e.g. to replay a night)"
        )

    def handle(self, *args, baseline=None, at=None, **options):
        when = None
        if at:
            when = parse_datetime(at)
            if when is None or when.tzinfo is None:
                raise CommandError(f"--at {at!r}: give an ISO-8601 time with a zone, e.g. ...Z")
            try:
                # The API's bound ahead; a past --at stays a live replay of that night.
                when = services.dated_run(when)[0]
            except ValidationError as exc:
                raise CommandError(f"--at {at!r}: {exc.message_dict['at'][0]}") from None
        if baseline is not None:
            found = Baseline.objects.select_related("program").filter(pk=baseline).first()
            if found is None:
                raise CommandError(f"no baseline with id {baseline}")
            baselines = [found]
        else:
            baselines = None
        deviations = services.run_all(baselines, at=when, trigger=Deviation.Trigger.COMMAND)
        for d in deviations:
            actual = "—" if d.actual is None else f"{d.actual:g}"
            line = (
                f"{d.baseline.program.code}/{d.baseline.name}: {d.status} "
                f"actual={actual} deviation={d.deviation_pct:.1f}%"
            )
            if d.evidence.get("error"):
                line += f" ({d.evidence['error']})"
            self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS(f"{len(deviations)} baseline(s) evaluated"))
