"""A deadline for probe reads of the app's own database (the ``metric`` probe).

PostgreSQL: ``statement_timeout`` set for this transaction only
(``set_config(..., true)``, so a pooled connection keeps its own setting).
SQLite: a progress handler that interrupts the running statement at the
deadline. Either way a read past it raises ``DatabaseError``; the block's work
is read-only, and the transaction is rolled back afterwards.
"""

from __future__ import annotations

import contextlib
import time

from django.db import connection, transaction


@contextlib.contextmanager
def database_deadline(seconds: float):
    with transaction.atomic():
        try:
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT set_config('statement_timeout', %s, true)",
                        [str(max(1, int(seconds * 1000)))],
                    )
                yield
            else:
                connection.ensure_connection()
                raw = connection.connection
                deadline = time.monotonic() + seconds
                raw.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
                try:
                    yield
                finally:
                    raw.set_progress_handler(None, 0)
        finally:
            transaction.set_rollback(True)
