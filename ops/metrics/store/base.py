"""The metrics store contract: where samples live and the few ways they are read.

Every sample is ``(series, ts, value)``; a series is ``(service, metric name, labels)``.
A *metric* read (``window_stats``, ``count_above``, ``buckets``) covers every label set
of that name of that service; ``points`` keeps label sets apart.

Windows are half-open on the left: ``(at - window_seconds, at]`` (a sample exactly at
``at - window`` is out, one exactly at ``at`` is in). Times are aware UTC datetimes.

Contract of every store (``tests/ops/test_metrics_store.py`` runs it on each):

- ``series_problem(labels)`` says why the engine cannot keep a label set (None: it
  can); ingest refuses such a sample with a 400 before anything is written.
- ``write`` is all-or-nothing. If iterating ``chunks`` raises, nothing is stored and
  the exception propagates; if the engine cannot take the batch now, nothing is
  stored and ``StoreUnavailable(retry_after)`` is raised (the API answers 503 with
  ``Retry-After``); if the engine refuses the batch for good, nothing is stored and
  ``StoreRefused`` is raised (409). Never a partial write, never a silent drop. A second sample for
  the same (series, ts) replaces the first (last write wins, also inside one batch);
  an engine that keeps the first value of a stored timestamp (Prometheus) refuses a
  later batch changing it with ``StoreRefused`` instead (inside one batch it still
  takes the later sample).
- ``window_stats`` answers MANY queries in a bounded number of statements/requests
  (not one per query), in the order given; percentiles interpolate linearly between
  closest ranks (PostgreSQL ``percentile_cont``, Prometheus ``quantile_over_time``).
  ``last`` is the value of the newest sample (ties between label sets: the largest).
  An empty window gives ``value=None, samples=0, newest=None``; ``count`` and ``sum``
  of an empty window are None too (no data is not zero).
- ``count_above`` counts samples (all, and strictly above a threshold) in
  ``(start, at]`` for each start of a query, bounded statements per call.
- ``buckets`` gives one value per ``step_seconds`` bucket (start of bucket, epoch
  seconds, aligned to the Unix epoch) for graphs.
- ``points`` gives raw points of one metric per label set, oldest first, at most
  ``limit`` (the newest ones) and says whether it truncated.
- ``maintain`` prepares what coming writes need (partitions ahead) and applies the
  retention (``HMS_METRIC_RETENTION_DAYS``); safe to run twice, returns what it did.
"""

from __future__ import annotations

import abc
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

PERCENTILES = {"p50": 50.0, "p90": 90.0, "p95": 95.0, "p99": 99.0}
AGGREGATES = ("avg", "min", "max", "sum", "count", "last")
# The named statistics; any percentile ``p<number>`` in (0, 100] works too ("p99.9").
STATISTICS = (*AGGREGATES, *PERCENTILES)


def percentile_statistic(pct: float) -> str:
    """The statistic name of a percentile: 95 -> "p95", 99.9 -> "p99.9"."""
    return f"p{float(pct):g}"


def percentile_of(statistic: str) -> float | None:
    """50.0 for "p50", 99.9 for "p99.9"; None for an aggregate or a bad name."""
    if statistic in PERCENTILES:
        return PERCENTILES[statistic]
    if not statistic.startswith("p"):
        return None
    try:
        pct = float(statistic[1:])
    except ValueError:
        return None
    return pct if 0 < pct <= 100 and statistic == percentile_statistic(pct) else None


# (service, metric name, labels_key): labels_key is ops.metrics.labels_key(labels),
# canonical JSON with sorted keys ("{}" without labels).
SeriesKey = tuple[str, str, str]
# One checked sample: (series key, microseconds since the Unix epoch, value, labels).
Row = tuple[SeriesKey, int, float, dict]


class StoreUnavailable(Exception):
    """The engine cannot take or answer now; try again after ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: int = 5):
        super().__init__(message)
        self.retry_after = max(1, int(retry_after))


class StoreRefused(Exception):
    """The engine refused the batch for good (e.g. Prometheus: a sample out of order or
    older than its head block); nothing was stored. The API answers 409."""


@dataclass(frozen=True, slots=True)  # slots: an SLO tick makes 10,000 (one object each)
class WindowQuery:
    """``statistic`` of ``service``/``metric`` over ``(at - window_seconds, at]``.

    ``key`` is the caller's (an SLO id, say); it comes back unchanged in the answer.
    """

    service: str
    metric: str
    window_seconds: int
    at: datetime
    statistic: str = "p95"
    key: Hashable = None

    @property
    def percentile(self) -> float | None:
        """The percentile in (0, 100] this query asks for, None for an aggregate."""
        return percentile_of(self.statistic)

    def __post_init__(self):
        if self.statistic not in AGGREGATES and percentile_of(self.statistic) is None:
            raise ValueError(f"statistic must be one of {', '.join(STATISTICS)} or p<number>")
        if self.window_seconds <= 0:
            raise ValueError("window_seconds must be positive")


@dataclass(frozen=True, slots=True)
class WindowStat:
    """The answer to one ``WindowQuery``: the value (None: no sample), how many samples
    the window held, and the newest one's time (data quality, ``min_samples``)."""

    query: WindowQuery
    value: float | None
    samples: int
    newest: datetime | None


@dataclass(frozen=True)
class CountQuery:
    """Samples of ``service``/``metric`` in ``(start, at]`` for each of ``starts``: all, and
    those strictly above ``threshold`` (the error budget's events and bad events)."""

    service: str
    metric: str
    threshold: float
    starts: tuple[datetime, ...]
    at: datetime
    key: Hashable = None


@dataclass(frozen=True)
class SeriesPoints:
    labels: dict
    points: list[tuple[datetime, float]] = field(default_factory=list)


@dataclass(frozen=True)
class Points:
    series: list[SeriesPoints]
    truncated: bool


@dataclass(frozen=True)
class MaintenanceResult:
    """What ``maintain`` did: partitions (or blocks) created and dropped, rows deleted."""

    created: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    deleted_rows: int = 0
    note: str = ""  # what an engine that keeps its own retention did instead (prometheus)
    compacted: dict[str, int] = field(default_factory=dict)  # partition -> rows into blocks

    def as_dict(self) -> dict:
        done = {"created": self.created, "dropped": self.dropped, "deleted_rows": self.deleted_rows}
        if self.compacted:
            done["compacted"] = self.compacted
        return {**done, "note": self.note} if self.note else done


class MetricsStore(abc.ABC):
    """One engine behind the interface; stateless, cheap to construct (``get_store()``)."""

    name: str = ""

    def series_problem(self, labels: dict) -> str | None:
        """Why this engine cannot keep a series with ``labels`` (ingest answers 400 naming
        the sample), or None. Every label set is fine in the database."""
        return None

    @abc.abstractmethod
    def write(self, series: dict[SeriesKey, dict], chunks: Iterable[list[Row]]) -> int:
        """Store every row of ``chunks`` (lazily checked lists of ``Row``) all-or-nothing;
        ``series`` maps every key the rows use to its labels. Returns rows stored."""

    @abc.abstractmethod
    def window_stats(self, queries: Sequence[WindowQuery]) -> list[WindowStat]:
        """One ``WindowStat`` per query, same order, in a bounded number of statements."""

    def window_values(
        self, queries: Sequence[tuple[str, str, int, datetime, str]]
    ) -> list[tuple[float | None, int]]:
        """``window_stats`` for the SLO tick: (value, samples) per (service, metric,
        window_seconds, at, statistic), same order, same answers, same checks; an engine
        may answer it without the per-query objects."""
        stats = self.window_stats([WindowQuery(*query) for query in queries])
        return [(stat.value, stat.samples) for stat in stats]

    def window_join(self):
        """An engine that keeps its samples in the application's database may return an
        object whose ``lateral(service, metric, start, at, fraction)`` is SQL answering
        (``n`` samples, ``v`` percentile) of one window inside the caller's statement,
        for windows starting at or after its ``since`` (``window_sql.WindowJoin``); the
        same answers as ``window_values``. None (the default): the caller reads through
        ``window_values``."""
        return None

    @abc.abstractmethod
    def count_above(self, queries: Sequence[CountQuery]) -> dict[Hashable, list[tuple[int, int]]]:
        """{query key: [(all, above) for each start, same order]} (zeros when empty)."""

    @abc.abstractmethod
    def buckets(
        self,
        metrics: Sequence[tuple[str, str]],
        since: datetime,
        until: datetime,
        step_seconds: int,
        statistic: str = "max",
    ) -> dict[tuple[str, str], dict[int, float]]:
        """{(service, metric): {bucket start (epoch s): statistic}} over ``(since, until]``;
        ``statistic`` is one of ``max``, ``min``, ``avg``. Metrics without data are absent."""

    @abc.abstractmethod
    def points(
        self, service: str, metric: str, since: datetime, until: datetime, limit: int
    ) -> Points:
        """Raw points in ``[since, until]`` per label set, oldest first, the newest ``limit``."""

    @abc.abstractmethod
    def maintain(self, now: datetime) -> MaintenanceResult:
        """Prepare partitions ahead and apply the retention; idempotent."""


def bucket_step(statistic: str, step_seconds, statistics) -> int:
    """``buckets``' arguments checked, as every store checks them; the step in seconds."""
    if statistic not in statistics:
        raise ValueError(f"statistic must be one of {', '.join(statistics)}")
    step = int(step_seconds)
    if step <= 0:
        raise ValueError("step_seconds must be positive")
    return step
