from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ops.servicedef import DefinitionError
from ops.servicedef.yamlload import MAX_DOCUMENT_BYTES
from ops.services import register_service


class Command(BaseCommand):
    help = "Register (or update) a service from an .ops.yaml file."

    def add_arguments(self, parser):
        parser.add_argument("file", help="path to the .ops.yaml file")

    def handle(self, *args, file, **options):
        path = Path(file)
        try:
            with path.open("rb") as fh:
                text = fh.read(MAX_DOCUMENT_BYTES + 1)
        except OSError as exc:
            raise CommandError(f"{file}: {exc.strerror}") from None
        try:
            registration = register_service(text, actor="manage.py ops_register")
        except DefinitionError as exc:
            lines = [f"  {field}: {msg}" for field, msgs in exc.errors.items() for msg in msgs]
            message = f"{file} is not a valid service definition:\n" + "\n".join(lines)
            raise CommandError(message) from None
        service = registration.service
        if registration.created:
            self.stdout.write(self.style.SUCCESS(f"registered {service.id} (version 1)"))
            self.stdout.write(f"ingest key (shown once): {registration.ingest_key}")
        elif registration.changed:
            self.stdout.write(
                self.style.SUCCESS(f"updated {service.id} to version {service.version}")
            )
        else:
            self.stdout.write(f"{service.id} unchanged (version {service.version})")
