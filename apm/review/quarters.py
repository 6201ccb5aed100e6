"""Calendar quarters in UTC: ``2027Q1`` is January to March 2027.

(Fiscal-year periods in a time zone come with the baselines' own ``period``
setting; until then reviews use UTC calendar quarters, as the quarterly review
of 31 U.S.C. §1121 is held per quarter.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")


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
        at = at.astimezone(UTC)
        return cls(at.year, (at.month - 1) // 3 + 1)

    @property
    def start(self) -> datetime:
        return datetime(self.year, 3 * self.number - 2, 1, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """The first instant after the quarter."""
        return self.next().start

    def next(self) -> Quarter:
        if self.number == 4:
            return Quarter(self.year + 1, 1)
        return Quarter(self.year, self.number + 1)

    def previous(self) -> Quarter:
        if self.number == 1:
            return Quarter(self.year - 1, 4)
        return Quarter(self.year, self.number - 1)

    def __str__(self) -> str:
        return f"{self.year}Q{self.number}"
