"""The probe interface and registry: one class per ``probe_kind``.

A probe does two things for a baseline's ``probe_query``:

- ``check(query)`` at save time: raise ``django.core.exceptions.ValidationError``
  to refuse the query, or return a ``Verification`` saying whether the query
  was confirmed (``verified=False`` with a note when the source could not be
  asked, e.g. Prometheus unreachable);
- ``measure(query, at)`` at run time: return a ``Reading`` (``value=None`` with a
  reason when the source has no data) or raise ``ProbeError`` when it fails.

Adding a kind is one class decorated with ``@register`` (and its module
imported in ``apm/probes/__init__.py``); nothing else branches on the kind.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from django.conf import settings
from django.db import models


class ProbeKind(models.TextChoices):
    PROMQL = "promql", "PromQL (Prometheus)"
    SQL = "sql", "SQL (one SELECT, read-only)"
    METRIC = "metric", "OPS metric aggregate"


class ProbeError(Exception):
    """The probe could not measure (source unreachable, bad answer, query failed).

    Its message is shown to every reader of the deviation (API, pages, channel
    messages), so it names what failed and the shape or type of what came back,
    never a value the source returned. ``code`` is the source's own error code
    (e.g. a PostgreSQL SQLSTATE) when there is one.
    """

    def __init__(self, message: str, *, code: str = ""):
        super().__init__(message)
        self.code = code


class UnsafeProbeDatabase(ProbeError):
    """The probe's database login could do more than read a reporting schema."""


class ProbeUnavailable(ProbeError):
    """No probe class is registered for this kind."""


@dataclass(frozen=True)
class Verification:
    verified: bool
    note: str = ""


@dataclass(frozen=True)
class Reading:
    """A measurement. ``sample_count``: how many samples (SQL: rows) the value rests on,
    None when the source does not say; ``newest_at``: the newest sample read, when known;
    ``expected``: how many samples the window should hold, when known (completeness)."""

    value: float | None
    raw: Any = None
    reason: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    sample_count: int | None = None
    newest_at: datetime | None = None
    expected: float | None = None


@dataclass(frozen=True)
class Window:
    """The span a calendar-period baseline's probe covers: ``[start, end)``, aware, UTC.

    Given to ``Probe.measure`` for a ``month``/``quarter``/``fiscal_year`` baseline
    (the period to date); ``None`` for a rolling one (the query's own window).
    """

    start: datetime
    end: datetime

    @property
    def seconds(self) -> int:
        return max(1, int((self.end - self.start).total_seconds()))


@dataclass(frozen=True)
class NotANumber:
    """A value a source returned that is not a number, known only by its type's name."""

    type_name: str


def number_or_none(value: Any) -> float | None:
    """``value`` as a finite float, ``None`` for NULL; a ProbeError naming only its type.

    The one place a probe's answer becomes a measurement: nothing but a number
    leaves a probe (no text, no timestamps, no bytes: they could be a secret).
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        name = value.type_name if isinstance(value, NotANumber) else type(value).__name__
        raise ProbeError(f"the query returned a {name} value (1 row, 1 column), not a number")
    number = float(value)
    if not math.isfinite(number):
        raise ProbeError("the query returned a number that is not finite (NaN or infinity)")
    return number


class Probe:
    kind: ClassVar[str]
    # The longest one measurement may wait for its source: the kind's own setting
    # (``timeout_setting``, else ``default_timeout``), never above
    # ``HMS_PROBE_TIMEOUT_SECONDS``. A single API run probes inside the web request,
    # so this is what bounds the request (docs/ESCALATIONS.md, "Runs and the web server").
    timeout_setting: ClassVar[str] = ""
    default_timeout: ClassVar[float] = 15.0

    @classmethod
    def run_timeout(cls) -> float:
        own = float(getattr(settings, cls.timeout_setting, cls.default_timeout))
        return min(own, float(settings.HMS_PROBE_TIMEOUT_SECONDS))

    # The text a query uses to take a calendar period's span (docs/VERDICTS.md).
    period_placeholder: ClassVar[str] = ""

    def uses_period(self, query: str) -> bool:
        """Whether ``query`` takes the period's span (a calendar-period baseline needs it)."""
        return bool(self.period_placeholder) and self.period_placeholder in (query or "")

    def check(self, query: str) -> Verification:
        raise NotImplementedError

    def measure(self, query: str, at: datetime, window: Window | None = None) -> Reading:
        raise NotImplementedError

    def measure_counting(
        self, query: str, count_query: str, at: datetime, window: Window | None = None
    ) -> Reading:
        """``measure`` whose reading carries ``sample_count`` (asked when ``min_samples`` is
        above 1). Most kinds count in ``measure`` itself (metric: the window's samples, SQL:
        rows); PromQL asks its ``count_query`` in the same request (apm.probes.promql)."""
        return self.measure(query, at, window)


PROBES: dict[str, type[Probe]] = {}


def register(cls: type[Probe]) -> type[Probe]:
    PROBES[cls.kind] = cls
    return cls


def probe_for(kind: str) -> Probe:
    try:
        return PROBES[kind]()
    except KeyError:
        raise ProbeUnavailable(f"probe kind '{kind}' is not available yet") from None
