"""OPS state changes, as plain functions."""

import socket

from django.utils import timezone

from ops.models import WorkerHeartbeat


def record_heartbeat(name: str = "worker") -> WorkerHeartbeat:
    heartbeat, _ = WorkerHeartbeat.objects.update_or_create(
        name=name, defaults={"beat_at": timezone.now(), "hostname": socket.gethostname()}
    )
    return heartbeat
