"""The one percentile method: linear interpolation between closest ranks."""

from __future__ import annotations

import math


def percentile(sorted_values: list[float], pct: float) -> float | None:
    """``pct`` in [0, 100] of already sorted values, as ``percentile_cont(pct / 100)``."""
    if not sorted_values:
        return None
    position = (len(sorted_values) - 1) * pct / 100.0
    low = math.floor(position)
    high = math.ceil(position)
    if low == high:
        return float(sorted_values[low])
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)
