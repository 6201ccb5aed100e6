"""The "what if?" button and page a model admin adds for its rows (a baseline's backtest,
a service's): one mixin, so both admins show and route it the same way."""

from __future__ import annotations

from typing import ClassVar

from django.contrib import admin
from django.urls import path, reverse
from django.utils.html import format_html


class BacktestMixin:
    """Adds ``<pk>/backtest/`` (``backtest_view(model_admin, request, pk)``, named
    ``backtest_url_name``) and the read-only field ``backtest_link`` pointing at it."""

    # The page module's ``view(model_admin, request, pk)``, as ``staticmethod(view)``.
    backtest_view: ClassVar[staticmethod]
    backtest_url_name: ClassVar[str] = ""
    backtest_pk: ClassVar[str] = "<int:pk>"  # the URL converter of the row's key
    backtest_blurb: ClassVar[str] = "replay past times with other settings"

    def backtest_urls(self) -> list:
        page = self.admin_site.admin_view(lambda request, pk: self.backtest_view(self, request, pk))
        return [path(f"{self.backtest_pk}/backtest/", page, name=self.backtest_url_name)]

    @admin.display(description="what if?")
    def backtest_link(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        return format_html(
            '<a class="button" href="{}">Backtest</a> {}',
            reverse(f"admin:{self.backtest_url_name}", args=[obj.pk]),
            self.backtest_blurb,
        )
