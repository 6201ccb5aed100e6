"""SQL expressions shared by the pages: computed by the database, returned as plain numbers.

``EpochBucket("ts", 60)`` is the start of the ``ts``'s bucket of ``seconds`` as Unix epoch
seconds (an integer), what ``TruncMinute``/``TruncHour``/``TruncDay`` give in UTC, but
without a timezone-aware ``datetime`` built per row: Django's converter for those costs
~20 µs a row (``make_aware`` through asgiref's locals), which on a graph page of thousands
of buckets was most of the page's time. Buckets are aligned on the Unix epoch, so for
minutes, hours and days they are the UTC calendar's. ``DaysSince("ts", origin)`` is the
days from a fixed ``origin`` to ``ts``, a float, for sums that need their precision.
"""

from datetime import UTC, datetime

from django.db.models import BigIntegerField, FloatField, Func


class EpochBucket(Func):
    output_field = BigIntegerField()

    def __init__(self, expression, seconds: int):
        if not isinstance(seconds, int) or seconds <= 0:
            raise ValueError(f"seconds must be a positive integer, got {seconds!r}")
        self.seconds = seconds
        super().__init__(expression)

    def as_postgresql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        step = int(self.seconds)
        # date_part (a double), not EXTRACT (numeric since PostgreSQL 14: its division and
        # FLOOR were ~1/5 of the dashboard's trend statement). The microsecond before a
        # bucket's start stays below it after both roundings (epoch seconds, division):
        # checked on 1.2 million edges of 1-minute to 1-day buckets from 1970 to 2100.
        return f"(FLOOR(date_part('epoch', {sql}) / {step}) * {step})::bigint", params

    def as_sqlite(self, compiler, connection, **extra):
        # Datetimes are stored as UTC text "YYYY-MM-DD HH:MM:SS[.ffffff]"; strftime('%s')
        # ROUNDS a fraction (23:59:59.9999 would land in the next day), so it reads the
        # whole seconds only.
        sql, params = compiler.compile(self.source_expressions[0])
        step = int(self.seconds)
        seconds = f"CAST(strftime('%%s', substr({sql}, 1, 19)) AS INTEGER)"
        return f"(({seconds} / {step}) * {step})", params


class DaysSince(Func):
    """Days (a float) from the fixed instant ``origin`` to ``expression`` (a datetime),
    computed by the database. The origin is subtracted before anything else (an interval on
    PostgreSQL, a Julian-day difference on SQLite), so sums of these small numbers keep
    their precision, which raw epoch seconds (~1.8e9) would not."""

    output_field = FloatField()

    def __init__(self, expression, origin: datetime):
        if origin.tzinfo is None:
            raise ValueError("origin must be an aware datetime")
        self.origin = origin.astimezone(UTC)
        super().__init__(expression)

    def as_postgresql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        # date_part, not EXTRACT: since PostgreSQL 14 EXTRACT returns numeric, ~4 x slower
        # a row here; the interval's microseconds fit a double's 53 bits exactly.
        return f"(date_part('epoch', {sql} - %s::timestamptz) / 86400.0)", (*params, self.origin)

    def as_sqlite(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])  # UTC text
        origin = self.origin.strftime("%Y-%m-%d %H:%M:%S.%f")
        return f"(julianday({sql}) - julianday(%s))", (*params, origin)
