"""Times on the pages: words for the recent past, a labelled UTC time otherwise; never raw ISO.

``{% when value at %}`` renders ``<time datetime="ISO">3 min ago</time>`` with the
exact UTC time as its tooltip; ``value`` may be a datetime or an ISO-8601 string
(what an incident reader hands over). Anything that is not a time is shown as given.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django import template
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from hms_site.html import html

register = template.Library()

WORDS_UP_TO_SECONDS = 24 * 3600


def as_datetime(value) -> datetime | None:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = parse_datetime(value)
        except ValueError:
            return None
        if moment is None:
            return None
    else:
        return None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, UTC)
    return moment.astimezone(UTC)


def in_words(moment: datetime, at: datetime) -> str:
    """'just now', '40 s ago', '3 min ago', '5 h 10 min ago'; the UTC time beyond a day."""
    seconds = int((at - moment).total_seconds())
    if seconds < 0:
        return f"in {_span(-seconds)}" if seconds < -5 else "just now"
    if seconds < 5:
        return "just now"
    if seconds >= WORDS_UP_TO_SECONDS:
        return utc_text(moment)
    return f"{_span(seconds)} ago"


def _span(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def utc_text(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


@register.simple_tag
def when(value, at=None):
    moment = as_datetime(value)
    if moment is None:
        return "" if value is None else str(value)
    at = at or timezone.now()
    return html(
        '<time datetime="{}" title="{} UTC">{}</time>',
        moment.isoformat(timespec="seconds"),
        f"{moment:%Y-%m-%d %H:%M:%S}",
        in_words(moment, at),
    )
