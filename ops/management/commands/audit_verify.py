"""``manage.py audit_verify``: exit 0 when the chain holds, else 1 naming the first broken entry."""

from django.core.management.base import BaseCommand, CommandError

from ops import audit


class Command(BaseCommand):
    help = "Verify the audit vault's hash chain; exits non-zero at the first broken entry."

    def handle(self, *args, **options):
        result = audit.verify()
        if result.ok:
            self.stdout.write(self.style.SUCCESS(f"audit chain OK: {result.entries} entries"))
            return
        broken = result.first_broken
        where = f"entry #{broken['id']}"
        if broken.get("topic"):
            where += f" (topic {broken['topic']}, actor {broken['actor']}, at {broken['at']})"
        raise CommandError(
            f"audit chain BROKEN at {where}: {broken['reason']} [{result.entries} entries checked]"
        )
