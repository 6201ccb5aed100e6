"""IANA time zones named by users (a baseline's ``period_tz``, an on-call schedule's zone).

``ZoneInfo(name)`` opens ``name`` as a file under the tz database: any text reaches the
filesystem, and besides "no such zone" it raises ``OSError`` (a name over the file
system's limit: ``File name too long``), ``ValueError`` (a path that leaves the
database, a NUL) or ``UnicodeEncodeError``. ``zone`` answers every such text with None.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# The longest IANA names are ~32 characters ("America/Argentina/ComodRivadavia").
MAX_NAME = 64


def zone(name) -> ZoneInfo | None:
    """The IANA zone ``name``, or None when ``name`` names none."""
    if not isinstance(name, str) or not 0 < len(name) <= MAX_NAME:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None
