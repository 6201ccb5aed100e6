"""Review quarters: ``2027Q1`` is January to March 2027 (UTC), as ``apm.periods`` counts them.

A quarter is three months aligned with the fiscal year (``HMS_FISCAL_YEAR_START_MONTH``,
default October, so the calendar quarters), named by the calendar year and quarter it
starts in; ``fiscal_label`` names it within its fiscal year (``FY2027 Q2`` for
January-March 2027 with October). The quarterly review of 31 U.S.C. §1121 is held
per quarter. docs/VERDICTS.md, "Periods".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from apm import periods

_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")
ZONE = "UTC"


class QuarterError(ValueError):
    pass


@dataclass(frozen=True)
class Quarter:
    year: int
    number: int

    @classmethod
    def parse(cls, text: str) -> Quarter:
        match = _QUARTER.match(text.strip().upper())
        if not match or not 2000 <= int(match.group(1)) <= 2100:
            raise QuarterError(f"{text!r} is not a quarter: write it as 2027Q1 (years 2000-2100)")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def containing(cls, at: datetime) -> Quarter:
        return cls.of(periods.Period.containing(periods.QUARTER, at.astimezone(UTC), ZONE))

    @classmethod
    def of(cls, period: periods.Period) -> Quarter:
        year, month0 = divmod(period.first, 12)
        return cls(year, month0 // 3 + 1)

    @property
    def period(self) -> periods.Period:
        """The ``apm.periods`` quarter this label names (aligned with the fiscal year)."""
        fiscal = periods.fiscal_start_month()
        offset = (fiscal - 1) % 3
        return periods.Period(
            self.year * 12 + (self.number - 1) * 3 + offset, periods.QUARTER, ZONE, fiscal
        )

    @property
    def start(self) -> datetime:
        return self.period.start

    @property
    def end(self) -> datetime:
        """The first instant after the quarter."""
        return self.period.end

    @property
    def fiscal_label(self) -> str:
        """``FY2027 Q2``: the fiscal year it is in and its place there."""
        quarter = self.period
        year = periods.Period.containing(
            periods.FISCAL_YEAR, quarter.start, ZONE, quarter.fiscal_start
        )
        return f"{year.label} Q{(quarter.first - year.first) // 3 + 1}"

    def next(self) -> Quarter:
        return Quarter.of(self.period.next())

    def previous(self) -> Quarter:
        return Quarter.of(self.period.previous())

    def __str__(self) -> str:
        return f"{self.year}Q{self.number}"
