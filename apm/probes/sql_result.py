"""What an ``sql`` probe's engine hands back: shapes and types, at most one row of values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Column:
    """A result column as the engine describes it at save time (no value is read)."""

    type_name: str
    numeric: bool | None  # None: the engine cannot tell before running (SQLite)


@dataclass(frozen=True)
class Result:
    first_row: tuple[Any, ...] | None
    row_count: int  # counted up to the engine's limit
    more_rows: bool  # more than row_count rows
    columns: int
