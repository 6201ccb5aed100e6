from django.apps import AppConfig


class HmsSiteConfig(AppConfig):
    name = "hms_site"
    verbose_name = "HMS site"

    def ready(self):
        from hms_site import throttle  # noqa: F401 - connects the login-failure signals
