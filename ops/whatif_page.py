"""What the admin's two backtest pages share (a baseline's, ``apm.backtest_admin``, and a
service's, ``ops.backtest_admin``): the "what if?" button and route (``BacktestMixin``),
the form's payload, running it with its errors on the form, and the page's context."""

from __future__ import annotations

from typing import ClassVar

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
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


class BacktestForm(forms.Form):
    """A backtest page's form: the candidate settings; ``payload()`` is what the API takes."""

    def payload(self) -> dict:
        data = {k: v for k, v in self.cleaned_data.items() if v not in (None, "")}
        for key in ("since", "until"):
            data[key] = data[key].isoformat()
        return data


def answer_of(request, form: BacktestForm, run) -> dict | None:
    """``run(form.payload())`` on a valid POST; its ValidationError as the form's errors
    (on the field it names, else the form's), and None."""
    if request.method != "POST" or not form.is_valid():
        return None
    try:
        return run(form.payload())
    except ValidationError as exc:
        for field, errors in exc.message_dict.items():
            for error in errors:
                form.add_error(field if field in form.fields else None, error)
    return None


def page_context(model_admin, request, form, answer, **extra) -> dict:
    """What every backtest page's template gets: the admin's context, the form, the answer
    and its span (``since``/``until`` to the minute)."""
    return {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "form": form,
        "answer": answer,
        "span": answer and [answer[k][:16].replace("T", " ") for k in ("since", "until")],
        **extra,
    }
