"""Event-driven SLO evaluation: an ingest commit triggers a pass over its services' SLOs.

The beat evaluates every SLO each ``HMS_SLO_EVAL_SECONDS``; a breaching batch would wait
up to that long. So after an ingest request commits, ``note`` adds its services to a
Redis set and, only if the trigger token (a ``SET NX`` key with an expiry) was free,
sends the trigger task by name. The task (``run``) pops the whole set, evaluates those
services' SLOs at now (``ops.slo.evaluate_services``: per-SLO ``evaluated_at`` guard, no
fencing token), and then either keeps the token and sends itself again after
``HMS_SLO_TRIGGER_SECONDS`` (more services arrived meanwhile) or releases it. So there is
one triggered pass at a time, however many ingest requests land, and each covers every
service that reported since the last one.

- **Nothing lost.** A lost task leaves its services in the set and the token expires
  (``TOKEN_TTL``): the next ingest sends a new task; and the beat evaluates every SLO
  anyway, so a lost trigger costs latency, never a verdict.
- **Redis down or hung.** A failed note (``note`` raises, or times out after
  ``REDIS_TIMEOUT``) turns the trigger off in that process for ``DOWN_SECONDS``: one
  ingest pays the timeout, the ones after it pay nothing, and the beat decides meanwhile.
- **Off** when ``HMS_SLO_TRIGGER_SECONDS`` is 0, and on the embedded default (no
  ``REDIS_URL``, filesystem broker): there the beat alone evaluates.
- The hand-offs and playbook runs a triggered pass causes go to the actions queue
  (``HMS_CELERY_ACTIONS_QUEUE``), so triggered passes never delay them.
"""

from __future__ import annotations

import logging
import time
from functools import cache

from celery import current_app
from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)
TRIGGER_TASK = "ops.tasks.evaluate_triggered_slos"
MIN_TOKEN_TTL = 30.0
REDIS_TIMEOUT = 2.0
DOWN_SECONDS = 10.0  # after a failed note, this process leaves the trigger to the beat
_down_until = 0.0  # time.monotonic() until which this process does not try Redis


def enabled() -> bool:
    return bool(settings.REDIS_URL) and settings.HMS_SLO_TRIGGER_SECONDS > 0


def token_ttl() -> float:
    """How long a held token outlives a lost task: then the next ingest sends another."""
    return max(MIN_TOKEN_TTL, 10 * settings.HMS_SLO_TRIGGER_SECONDS)


def _keys() -> tuple[str, str]:
    prefix = f"hms:{settings.CELERY_TASK_DEFAULT_QUEUE}:slo-trigger"
    return f"{prefix}:services", f"{prefix}:token"


@cache
def _client(url: str):
    import redis

    timeout = REDIS_TIMEOUT
    return redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)


def client():
    return _client(settings.REDIS_URL)


def after_ingest(service_ids) -> None:
    """The ingest hook: ``note`` these services once the request's samples are committed."""
    if not enabled():
        return
    services = sorted(set(service_ids))
    if services and time.monotonic() >= _down_until:
        transaction.on_commit(lambda: _note_or_stand_down(services), robust=True)


def _note_or_stand_down(services) -> None:
    global _down_until
    try:
        note(services)
    except Exception as exc:  # Redis or the broker: the trigger is an optimisation
        _down_until = time.monotonic() + DOWN_SECONDS
        logger.warning(
            "SLO trigger off for %.0f s, the beat evaluates: %s: %s",
            DOWN_SECONDS, type(exc).__name__, exc,
        )  # fmt: skip


def note(service_ids) -> bool:
    """Add the services to the set; send the trigger task if the token was free (True)."""
    members, token = _keys()
    pipe = client().pipeline(transaction=False)
    pipe.sadd(members, *service_ids)
    pipe.set(token, "1", nx=True, px=int(token_ttl() * 1000))
    _, took = pipe.execute()
    if took:
        current_app.send_task(TRIGGER_TASK)
    return bool(took)


def _pop_all() -> list[str]:
    members, _ = _keys()
    pipe = client().pipeline(transaction=True)
    pipe.smembers(members)
    pipe.delete(members)
    found, _ = pipe.execute()
    return sorted(m.decode() for m in found)


def run(evaluate_services) -> dict:
    """The task's body: one triggered pass over the services noted since the last one.

    ``evaluate_services`` is ``ops.slo.evaluate_services``, handed in by the task: the
    ingest path imports this module, and ``ops.slo`` imports the metrics store.
    """
    members, token = _keys()
    started = time.monotonic()
    services = _pop_all()
    result = evaluate_services(services) if services else None
    r = client()
    again = False
    if r.scard(members):  # more arrived while we evaluated: keep the token, come back
        r.pexpire(token, int(token_ttl() * 1000))
        wait = max(0.0, settings.HMS_SLO_TRIGGER_SECONDS - (time.monotonic() - started))
        current_app.send_task(TRIGGER_TASK, countdown=wait)
        again = True
    else:
        r.delete(token)
        # an ingest between our SCARD and DELETE found the token taken: take it for it
        if r.scard(members) and r.set(token, "1", nx=True, px=int(token_ttl() * 1000)):
            current_app.send_task(TRIGGER_TASK)
            again = True
    return {
        "services": len(services),
        "evaluated": result.evaluated if result else 0,
        "changes": len(result.changes) if result else 0,
        "again": again,
    }
