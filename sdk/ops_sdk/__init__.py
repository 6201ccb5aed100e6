"""The OPS SDK: ``import ops_sdk as ops`` (requests only; importable without Django).

    svc = ops.register("scanner.ops.yaml")       # -> Service, svc.id; now emit()'s default
    ops.emit("queue_time_seconds", 38.2)          # buffered, sent in the background
    ops.status("DCA_Luggage_Scanner")["slo_state"]
    ops.dta.find(topic="ops.incident")            # the audit vault (HMS-DTA)

Configuration (environment or ``ops.configure(...)``):

- ``HMS_URL``, ``HMS_TOKEN``: the server and an API token (``hms_sdk``).
- ``HMS_SERVICE``: the service ``emit`` writes when no ``service=`` is given
  (``register()`` makes the service it registered the default).
- ``HMS_INGEST_KEY``: send samples with the service's ingest key instead of the token.

``emit`` never blocks: samples go into a bounded buffer (``HMS_EMIT_BUFFER``,
default 100,000) that sender threads (``HMS_EMIT_SENDERS``, default 2) post as gzip
batches of up to 10,000 (``HMS_EMIT_GZIP=0``: plain JSON), and flush at interpreter
exit. When the buffer is full the oldest sample is dropped, counted in
``emitter().dropped`` / ``emitter().stats()``, and reported to the server
(``hms_sdk_dropped_samples_total`` on its ``/metrics``).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hms_sdk import Client, HmsApiError, default_client
from hms_sdk import configure as _configure_client
from ops_sdk import dta
from ops_sdk.emitter import MAX_BUFFER, SENDERS, Emitter

__all__ = [
    "Emitter",
    "HmsApiError",
    "Service",
    "configure",
    "dta",
    "emit",
    "emitter",
    "flush",
    "register",
    "status",
]


@dataclass
class Service:
    """A registered service as the server returned it."""

    id: str
    data: dict = field(repr=False)
    ingest_key: str | None = field(default=None, repr=False)

    def status(self) -> dict:
        return status(self.id)


def register(path_or_text: str | os.PathLike, *, client: Client | None = None) -> Service:
    """Register (or update) the service described by an ``.ops.yaml`` file (or its text).

    The service becomes the default of ``emit()`` (until another ``register`` or
    ``configure(service=...)``).
    """
    text = str(path_or_text)
    if "\n" not in text:
        text = Path(path_or_text).read_text(encoding="utf-8")
    body = (client or default_client()).post(
        "services/",
        data=text.encode("utf-8"),
        headers={"Content-Type": "application/yaml"},
    )
    sender = emitter()
    if not sender.ingest_key:  # an ingest key is bound to its own service
        sender.service = body["id"]
    return Service(id=body["id"], data=body, ingest_key=body.get("ingest_key"))


def status(service_id: str, *, client: Client | None = None) -> dict:
    """The service's SLO status: ``slo_state``, ``value``, ``threshold``, ``since``, ..."""
    return (client or default_client()).get(f"services/{service_id}/status/")


_emitter: Emitter | None = None


def emitter() -> Emitter:
    """The process-wide emitter (created on first use from the environment)."""
    global _emitter
    if _emitter is None:
        _emitter = Emitter(
            service=os.environ.get("HMS_SERVICE") or None,
            ingest_key=os.environ.get("HMS_INGEST_KEY") or None,
            max_buffer=_env_int("HMS_EMIT_BUFFER", MAX_BUFFER),
            senders=_env_int("HMS_EMIT_SENDERS", SENDERS),
            compress=os.environ.get("HMS_EMIT_GZIP", "1") != "0",
        )
    return _emitter


def emit(
    name: str,
    value: float,
    service: str | None = None,
    *,
    labels: dict[str, str] | None = None,
    ts: float | None = None,
) -> None:
    """Queue one reading; returns at once. Bad arguments raise ``ValueError`` here."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"value must be a finite number, got {value!r}")
    emitter().emit(name, float(value), service=service, labels=labels, ts=ts)


def flush(timeout: float = 10.0) -> bool:
    """Send everything buffered now; True when the buffer emptied within ``timeout``."""
    return emitter().flush(timeout)


def configure(
    url: str | None = None,
    token: str | None = None,
    *,
    service: str | None = None,
    ingest_key: str | None = None,
    **kwargs: Any,
) -> Client:
    """Point the SDK at a server (instead of, or on top of, the environment)."""
    global _emitter
    client = _configure_client(url, token, **kwargs)
    if _emitter is not None:
        _emitter.close()
    _emitter = Emitter(client=client, service=service, ingest_key=ingest_key)
    return client


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r}: must be a whole number") from None
    if value < 1:
        raise ValueError(f"{name}={raw!r}: must be at least 1")
    return value
