from django.apps import AppConfig


class HmsSiteConfig(AppConfig):
    name = "hms_site"
    verbose_name = "HMS site"
