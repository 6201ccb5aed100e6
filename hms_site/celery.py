"""The Celery app: broker and beat come from Django settings (``CELERY_*``).

``acks_late`` plus ``reject_on_worker_lost`` on the base task class means a task
whose worker dies is delivered again, so every task must be idempotent. Celery
retries nothing itself: a failed notification or playbook action is put back to
pending with a later due time (``ops.retry.backoff``, finite attempts), so the
retry is a stored row that survives a worker or broker restart.
"""

import os
from pathlib import Path

from celery import Celery, Task

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hms_site.settings")


class HmsTask(Task):
    acks_late = True
    reject_on_worker_lost = True


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
