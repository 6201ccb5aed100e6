"""The test Celery worker and subprocesses: what it ran, when it is idle, how to reach the DB."""

from contextlib import contextmanager

from celery.signals import task_postrun
from django.db import connection


@contextmanager
def recorded_deliveries():
    """What each ``send_notification`` run returned, in order (the worker runs in this process).

    Waiting on these instead of polling the database keeps the test thread off
    SQLite's shared-cache test database while the worker writes to it.
    """
    results = []

    def on_postrun(sender=None, retval=None, **kwargs):
        if sender is not None and sender.name == "ops.outbox.tasks.send_notification":
            results.append(retval)

    task_postrun.connect(on_postrun, weak=False)
    try:
        yield results
    finally:
        task_postrun.disconnect(on_postrun)


def worker_drained(timeout: float = 30) -> None:
    """Return once the test worker has run every task queued before this call.

    The observable event for "nothing more happened": the worker (one solo pool on this
    run's own queue) takes its queue in order, so when a task sent now has run, every
    task queued before it (a dispatch, a page, a notification) has run too.
    """
    from django.conf import settings

    from hms_site.celery import app

    # one marker per queue: the hand-offs and playbook runs have a queue of their own
    for queue in (settings.CELERY_TASK_DEFAULT_QUEUE, settings.HMS_CELERY_ACTIONS_QUEUE):
        app.send_task("ops.tasks.record_heartbeat", queue=queue).get(timeout=timeout)


def subprocess_database_url() -> str:
    """A DATABASE_URL for a subprocess (worker, manage.py) that opens this test database."""
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}{port}/{db['NAME']}"
