"""Links to baseline pages for a page that shows many: ``reverse()`` once, then each id filled in.

The dashboard links ~140 times to ``apm_pages:baseline`` (a card per baseline, a row per
escalation and ticket); a ``{% url %}`` tag resolves the pattern each time (~30 µs, ~4 ms
a page). ``BaselineLinks()`` reverses once with a marker id, in the request's own script
prefix and URL conf (``reverse`` reads both from the current thread), and fills each id
into the two halves: an integer id needs no quoting, so the result is ``reverse``'s own.
"""

from __future__ import annotations

from django.urls import reverse

# An id no baseline has: only its position in the reversed path is used.
MARKER = 987654321987654321


class BaselineLinks:
    """``links(pk)`` is ``reverse("apm_pages:baseline", args=[pk])`` for an integer ``pk``."""

    def __init__(self):
        path = reverse("apm_pages:baseline", args=[MARKER])
        self.head, _, self.tail = path.rpartition(str(MARKER))

    def __call__(self, pk: int) -> str:
        return f"{self.head}{int(pk)}{self.tail}"
