"""The Celery app: broker and beat come from Django settings (``CELERY_*``).

``acks_late`` plus ``reject_on_worker_lost`` on the base task class means a task
whose worker dies is delivered again, so every task must be idempotent. Celery
retries nothing itself: a failed notification or playbook action is put back to
pending with a later due time (``ops.retry.backoff``, finite attempts), so the
retry is a stored row that survives a worker or broker restart.
"""

import gc
import os
import sys
import threading
from pathlib import Path

from celery import Celery, Task
from celery.signals import worker_process_init, worker_ready, worker_shutdown
from kombu import transport

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hms_site.settings")
# filesystem:// (the embedded default) with whole-file writes: see hms_site/broker.py.
transport.TRANSPORT_ALIASES["filesystem"] = "hms_site.broker:Transport"


class HmsTask(Task):
    acks_late = True
    reject_on_worker_lost = True


# Hand-offs and playbook runs: the actions queue (HMS_CELERY_ACTIONS_QUEUE), never behind
# an evaluation. Names, not imports: hms_site does not import ops.
ACTION_TASKS = frozenset({"ops.tasks.hand_off_slo_changes", "ops.tasks.run_playbook_action"})


def route_task(name, args, kwargs, options, task=None, **kw):
    if name in ACTION_TASKS:
        from django.conf import settings

        return {"queue": settings.HMS_CELERY_ACTIONS_QUEUE}
    return None


app = Celery("hms_site", task_cls=HmsTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def ensure_broker_folders() -> None:
    """kombu's filesystem transport does not create its folders: make them."""
    options = app.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        if options.get(key):
            Path(options[key]).mkdir(parents=True, exist_ok=True)


@app.on_after_configure.connect
def _make_broker_folders(sender, **kwargs):
    ensure_broker_folders()


@worker_ready.connect  # the main process: the threads and solo pools run tasks here
@worker_process_init.connect  # a prefork child, after the fork
def freeze_start_up_heap(sender=None, **kwargs):
    """Collect once, then ``gc.freeze()``: the objects of the start-up (Django, the app,
    kubernetes, Celery: ~140,000) move to the permanent generation, so the cyclic
    collector's full passes no longer walk them every time a task (an SLO tick's 10,000
    rows) allocates enough to trigger one. What gunicorn/Celery deployments do; garbage
    made later is collected as before. Not for a worker embedded in another program.

    Then the generation-0 threshold becomes ``HMS_WORKER_GC_THRESHOLD`` (the older
    generations' keep Python's): a tick's short-lived rows are then mostly freed before
    any young collection walks them, instead of being walked ~150 times a 10,000-SLO pass.
    """
    if threading.current_thread() is threading.main_thread():
        from django.conf import settings

        gc.collect()
        gc.freeze()
        _, older, oldest = gc.get_threshold()
        gc.set_threshold(settings.HMS_WORKER_GC_THRESHOLD, older, oldest)


@worker_shutdown.connect
def _exit_without_teardown(sender, **kwargs):
    """The worker has stopped (warm: tasks finished, acks flushed): end the process now.

    Python's teardown of the loaded app (Django, kubernetes, ...) costs seconds of
    CPU on a busy machine and does nothing a stopped worker needs, so Ctrl-C and
    SIGTERM stop the worker in about a second instead.
    """
    import logging

    from django.db import connections

    if threading.current_thread() is not threading.main_thread():
        return  # a worker embedded in another program (tests' start_worker): not ours to end

    connections.close_all()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(getattr(sender, "exitcode", 0) or 0)
