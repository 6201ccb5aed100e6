from django.apps import AppConfig


class HmsSiteConfig(AppConfig):
    name = "hms_site"
    verbose_name = "HMS site"

    def ready(self):
        from hms_site import (
            probe_checks,  # noqa: F401 - registers the SQL probe role check
            throttle,  # noqa: F401 - connects the login-failure signals
        )
