"""Shared pieces of the playbook grammar: the error type and argument readers."""

from __future__ import annotations

import re

TOKEN = re.compile(r"[^\s,]+")
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:-]*$")


class PlaybookError(ValueError):
    def __init__(self, message: str, *, index: int | None = None, line: int | None = None):
        self.message = message
        self.index = index
        self.line = line
        where = f"line {line}: " if line else ""
        super().__init__(f"{where}{message}")


# --- arguments ------------------------------------------------------------------------


def split_args(text: str) -> tuple[list[str], dict[str, str]]:
    positional: list[str] = []
    keywords: dict[str, str] = {}
    tokens: list[str] = []
    for word in TOKEN.findall(text):
        if word == "%" and tokens:  # "20 %" is "20%"
            tokens[-1] += word
        else:
            tokens.append(word)
    for token in tokens:
        if "=" in token:
            key, _, value = token.partition("=")
            if not key or not value:
                raise PlaybookError(f"{token!r} must be written key=value")
            if key in keywords:
                raise PlaybookError(f"{key!r} is given twice")
            keywords[key] = value
        else:
            positional.append(token)
    return positional, keywords


def number(text: str, what: str) -> float:
    cleaned = text.strip().lstrip("$").rstrip("%")
    try:
        value = float(cleaned)
    except ValueError:
        raise PlaybookError(f"{what} must be a number, got {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise PlaybookError(f"{what} must be a finite number, got {text!r}")
    return value


def positive_int(text: str, what: str) -> int:
    value = number(text, what)
    if value != int(value) or value < 1:
        raise PlaybookError(f"{what} must be a whole number of at least 1, got {text!r}")
    return int(value)


def duration_seconds(amount: str, unit: str | None) -> int:
    seconds = positive_int(amount, "duration")
    factor = {None: 1, "s": 1, "sec": 1, "second": 1, "seconds": 1, "min": 60, "m": 60}
    factor |= {"minute": 60, "minutes": 60, "h": 3600, "hour": 3600, "hours": 3600}
    if unit not in factor:
        raise PlaybookError(f"unknown time unit {unit!r} (use s, min or h)")
    return seconds * factor[unit]
