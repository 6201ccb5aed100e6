"""Beat's scheduler: django-celery-beat's ``DatabaseScheduler``, ending its process at once
when beat stops.

On Ctrl-C or SIGTERM beat saves its state (``close`` syncs the last run times)
and then has nothing left to do, but Python's teardown of the loaded app costs
seconds on a busy machine, and on Redis the broker connections' ``atexit``
hooks then run against half-torn-down modules and print tracebacks. So the beat
process (marked by ``beat_init``, never a test or a worker) exits right after.
"""

import logging
import os
import sys

from celery.signals import beat_init
from django_celery_beat.schedulers import DatabaseScheduler as _DatabaseScheduler

_in_beat = False


@beat_init.connect
def _mark_beat_process(sender, **kwargs):
    global _in_beat
    _in_beat = True


class DatabaseScheduler(_DatabaseScheduler):
    def close(self):
        super().close()
        if _in_beat:
            from django.db import connections

            connections.close_all()
            logging.shutdown()
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)
