"""What the dashboard's rows show, made once a page instead of once a row in the template.

Links: the dashboard links ~140 times to ``apm_pages:baseline`` (a card per baseline, a
row per escalation and ticket), and a ``{% url %}`` tag resolves the pattern each time
(~30 µs, ~4 ms a page). ``BaselineLinks()`` reverses once with a marker id, in the
request's own script prefix and URL conf (``reverse`` reads both from the current
thread), and fills each id into the two halves: an integer id needs no quoting, so the
result is ``reverse``'s own.

Escalation rows: the status in words from the field's choices read once (what
``get_status_display`` builds a row at a time), and ``brief``: the message as the
``truncatechars`` filter gives it, which looks its "…" up in the translations on every
call (~45 µs a row) even when nothing is cut.
"""

from __future__ import annotations

import unicodedata

from django.template.defaultfilters import truncatechars
from django.urls import reverse
from django.utils.encoding import force_str

from apm.models import Escalation

# An id no baseline has: only its position in the reversed path is used.
MARKER = 987654321987654321
MESSAGE_CHARS = 120


class BaselineLinks:
    """``links(pk)`` is ``reverse("apm_pages:baseline", args=[pk])`` for an integer ``pk``."""

    def __init__(self):
        path = reverse("apm_pages:baseline", args=[MARKER])
        self.head, _, self.tail = path.rpartition(str(MARKER))

    def __call__(self, pk: int) -> str:
        return f"{self.head}{int(pk)}{self.tail}"


def brief(text: str, limit: int = MESSAGE_CHARS) -> str:
    """``text|truncatechars:limit``. A text already in NFC (what the filter returns it in)
    of at most ``limit`` characters is returned as it is, as the filter would."""
    if len(text) <= limit and unicodedata.is_normalized("NFC", text):
        return text
    return truncatechars(text, limit)


def prepare(escalations: list, tickets: list, programs: list) -> None:
    """Set ``page_url`` on each row and card baseline, ``status_label`` and ``brief`` on
    each escalation."""
    link = BaselineLinks()
    field = Escalation._meta.get_field("status")
    statuses = {value: force_str(label) for value, label in field.flatchoices}
    for row in escalations:
        row.page_url = link(row.baseline_id)
        row.status_label = statuses.get(row.status, row.status)
        row.brief = brief(row.message)
    for row in tickets:
        row.page_url = link(row.baseline_id) if row.baseline_id else ""
    for program in programs:
        for b in program.card_baselines:
            b.page_url = link(b.pk)
