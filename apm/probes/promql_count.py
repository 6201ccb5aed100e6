"""How a PromQL baseline counts the samples its value rests on (``min_samples``).

Pure query text and answer splitting; ``apm.probes.promql`` sends the requests.
The count query is the baseline's own ``count_query`` or, when blank, the
**count companion** derived from the query (docs/VERDICTS.md, "Minimum samples").
Value and count travel in ONE request: both are labelled with ``hms_part`` and
joined by ``or`` (``combined``), for an instant query and a ``query_range`` alike.
"""

from __future__ import annotations

import math
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from apm.probes.base import ProbeError, Reading

PART = "hms_part"  # the label that tells the value's series from the count's
VALUE, COUNT = "value", "count"
_OVER_TIME = re.compile(r"\b[a-z]+_over_time\s*\(")


def count_companion(query: str) -> str | None:
    """The companion query that counts the samples behind ``query`` (docs/VERDICTS.md).

    ``query`` must hold one ``FUNC_over_time(..., SELECTOR[RANGE])`` (optionally inside
    an aggregation such as ``avg(...)``): the companion is
    ``sum(count_over_time(SELECTOR[RANGE]))``, the samples of every series in the range
    (a ``[$__range]`` stays: it is replaced by the same period as the query's).
    None for any other shape (then ``min_samples`` above 1 needs a ``count_query``).
    """
    matches = list(_OVER_TIME.finditer(query or ""))
    if len(matches) != 1:
        return None
    start = matches[0].end()
    depth, args, arg_start = 1, [], start
    for i in range(start, len(query)):
        char = query[i]
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth == 0:
                args.append(query[arg_start:i])
                break
        elif char == "," and depth == 1:
            args.append(query[arg_start:i])
            arg_start = i + 1
    else:
        return None
    inner = args[-1].strip()
    if not inner.endswith("]"):
        return None
    return f"sum(count_over_time({inner}))"


def count_query_for(query: str, count_query: str = "") -> str | None:
    """The query that counts ``query``'s samples: the given one, else the companion."""
    return (count_query or "").strip() or count_companion(query)


def combined(query: str, count_query: str) -> str:
    """One PromQL expression answering both: the value's series labelled ``hms_part="value"``
    and the count's ``hms_part="count"`` (the label sets differ, so ``or`` keeps both).
    Each part sits on lines of its own, so a trailing ``# comment`` ends with its line."""
    return (
        f'label_replace(\n{query}\n, "{PART}", "{VALUE}", "", "")\n'
        f'or label_replace(\n{count_query}\n, "{PART}", "{COUNT}", "", "")'
    )


def split(result: list) -> tuple[list, list]:
    """A combined answer's series: ``(value series, count series)``."""
    values, counts = [], []
    for series in result:
        part = (series.get("metric") or {}).get(PART) if isinstance(series, dict) else None
        (counts if part == COUNT else values).append(series)
    return values, counts


_parallel: ThreadPoolExecutor | None = None


def both(ask, query: str, counter: str):
    """``ask(query)`` and ``ask(counter)`` at once: the count in a pool thread."""
    global _parallel
    if _parallel is None:
        _parallel = ThreadPoolExecutor(max_workers=4, thread_name_prefix="promql-count")
    pending = _parallel.submit(ask, counter)
    try:
        value = ask(query)
    finally:
        count = pending.result()
    return value, count


def many_counts(n: int) -> str:
    return f"the count query returned {n} series; it needs one number (aggregate with sum())"


def count_number(raw) -> int:
    try:
        number = float(raw)
    except (TypeError, ValueError):
        raise ProbeError("the count query returned a sample that is not a number") from None
    return int(number) if math.isfinite(number) and number > 0 else 0


def count_of(result_type: str, result) -> int:
    """The sample count of an instant answer: an empty vector is 0 samples."""
    if result_type == "scalar":
        return count_number(result[1] if isinstance(result, list) and len(result) > 1 else None)
    if result_type != "vector":
        raise ProbeError(f"the count query returned a {result_type}, not a number")
    if not result:
        return 0
    if len(result) > 1:
        raise ProbeError(many_counts(len(result)))
    sample = result[0].get("value") if isinstance(result[0], dict) else None
    return count_number(sample[1] if isinstance(sample, list) and len(sample) > 1 else None)


def counted(reading: Reading, count: int) -> Reading:
    return replace(reading, sample_count=count)
