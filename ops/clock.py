"""The time that reminders, on-call look-ups and pages go by.

``now()`` is ``django.utils.timezone.now()``. A test (never a deployment:
the setting exists only in ``hms_site.test_settings``) may pin it for every
process reading settings through ``HMS_TEST_CLOCK`` (an aware datetime, or an
ISO-8601 string), so a worker sees the simulated moment as well.
"""

from datetime import datetime

from django.conf import settings
from django.utils import timezone


def now() -> datetime:
    pinned = getattr(settings, "HMS_TEST_CLOCK", None)
    if not pinned:
        return timezone.now()
    if isinstance(pinned, str):
        pinned = datetime.fromisoformat(pinned)
    if timezone.is_naive(pinned):
        raise ValueError("HMS_TEST_CLOCK must be timezone-aware")
    return pinned


def human_duration(duration) -> str:
    """'3 days', '5 hours', '12 minutes' (whole units, rounded down): message wording."""
    seconds = max(0, int(duration.total_seconds()))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return "less than a minute"
