from importlib import import_module

from django.core.management.base import BaseCommand
from django.db import transaction

# Each app's demo loader: ``load() -> list[str]`` (what it created or updated).
# Loaders are idempotent: running the command twice changes nothing the second time.
DEMO_LOADERS = ("ops.demo", "apm.demo")


class Command(BaseCommand):
    help = "Load the demo programs, baselines and services (idempotent)."

    def handle(self, *args, **options):
        with transaction.atomic():
            for module in DEMO_LOADERS:
                for line in import_module(module).load():
                    self.stdout.write(f"  {line}")
        self.stdout.write(self.style.SUCCESS("demo data loaded"))
