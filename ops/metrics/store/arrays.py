"""PostgreSQL array literals: a column of 10,000 values sent as ONE text parameter.

psycopg dumps a Python list element by element (~20 ms for 10,000 numbers, more for
datetimes), and a JSON relation of 10,000 records cost ~30 ms to build and encode; a
``{…}`` literal joined here costs a few ms and the server parses it as fast. ``repr`` of a
float is the shortest string that reads back as the same double, so values are exact.
"""

from __future__ import annotations

from collections.abc import Iterable


def literal(values: Iterable, kind: str = "number", iso: dict | None = None) -> str:
    """``values`` as an array literal: ``kind`` "text" (quoted, escaped), "timestamptz"
    (each value looked up in ``iso``: its ISO text, formatted once by the caller) or a
    number (int or float; None is NULL). Cast it in the statement: ``%s::float8[]``."""
    if kind == "text":
        items = ('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values)
    elif kind == "timestamptz":
        items = (f'"{iso[v]}"' for v in values)
    else:
        items = ("NULL" if v is None else repr(v) for v in values)
    return "{" + ",".join(items) + "}"
