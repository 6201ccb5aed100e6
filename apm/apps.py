from django.apps import AppConfig


class ApmConfig(AppConfig):
    name = "apm"
    verbose_name = "APM — performance monitor"

    def ready(self):
        from apm import signals  # noqa: F401  (connects the schedule clean-up)
        from apm.channels import TicketChannel
        from ops.channels import registry

        registry.register(TicketChannel)

        from apm import maintenance
        from ops import maintenance as ops_maintenance

        ops_maintenance.register(
            maintenance.services_in_maintenance, every=maintenance.services_in_maintenance_at
        )
