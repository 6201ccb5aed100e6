from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from apm import policies

DEFAULT_DIR = Path(settings.BASE_DIR) / "fixtures" / "policies"


class Command(BaseCommand):
    help = "Load escalation policies from YAML (default: fixtures/policies/*.yaml); all or nothing."

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="*", help="policy YAML files")

    def handle(self, *args, files=(), **options):
        paths = [Path(p) for p in files] or sorted(DEFAULT_DIR.glob("*.yaml"))
        if not paths:
            raise CommandError(f"no policy files given and none in {DEFAULT_DIR}")
        loaded = []
        with transaction.atomic():
            for path in paths:
                try:
                    text = path.read_bytes()
                except OSError as exc:
                    raise CommandError(f"{path}: {exc.strerror}") from None
                try:
                    loaded += policies.load(text, source=path.name, actor="apm_load_policies")
                except policies.PolicyError as exc:
                    raise CommandError(f"{path}: {exc}") from None
        for policy in loaded:
            self.stdout.write(f"  {policy.baseline.program.code}/{policy}")
        self.stdout.write(self.style.SUCCESS(f"{len(loaded)} policy(ies) loaded"))
