"""The background sender behind ``ops_sdk.emit``: bounded buffer, batches, flush at exit."""

from __future__ import annotations

import atexit
import collections
import os
import threading
import time

import requests

from hms_sdk import Client, HmsApiError, default_client

BATCH_SIZE = 1000
FLUSH_INTERVAL = 1.0
MAX_BACKOFF = 30.0


class Emitter:
    """Buffers readings and sends them from a daemon thread.

    ``dropped`` counts readings lost to a full buffer, ``rejected`` readings the
    server refused (4xx), ``sent`` readings accepted; ``last_error`` says why the
    last send failed. Failed sends (network, 5xx) are retried with back-off.
    """

    def __init__(
        self,
        *,
        client: Client | None = None,
        service: str | None = None,
        ingest_key: str | None = None,
        max_buffer: int = 10_000,
        batch_size: int = BATCH_SIZE,
        interval: float = FLUSH_INTERVAL,
    ):
        self._client = client
        self.service = service
        self.ingest_key = ingest_key
        self.max_buffer = max_buffer
        self.batch_size = batch_size
        self.interval = interval
        self.dropped = 0
        self.rejected = 0
        self.sent = 0
        self.last_error: str | None = None
        self._buffer: collections.deque = collections.deque()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._idle = threading.Condition(self._lock)
        self._in_flight = 0
        self._closed = False
        self._thread: threading.Thread | None = None

    @classmethod
    def from_env(cls) -> Emitter:
        return cls(
            service=os.environ.get("HMS_SERVICE") or None,
            ingest_key=os.environ.get("HMS_INGEST_KEY") or None,
            max_buffer=int(os.environ.get("HMS_EMIT_BUFFER", "10000")),
        )

    # --- caller side ------------------------------------------------------------------

    def emit(self, name, value, *, service=None, labels=None, ts=None) -> None:
        service = service or self.service
        if not service and not self.ingest_key:
            raise ValueError(
                "no service: pass service=..., set HMS_SERVICE, or ops.register(...) first"
            )
        sample = {"name": name, "value": value, "ts": time.time() if ts is None else ts}
        if service:
            sample["service"] = service
        if labels:
            sample["labels"] = dict(labels)
        with self._lock:
            if self._closed:
                raise RuntimeError("the emitter is closed")
            if len(self._buffer) >= self.max_buffer:
                self._buffer.popleft()
                self.dropped += 1
            self._buffer.append(sample)
            if self._thread is None:
                self._start()

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._buffer) + self._in_flight

    def flush(self, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        self._wake.set()
        with self._idle:
            while self._buffer or self._in_flight:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._thread is None or not self._thread.is_alive():
                    return False
                self._idle.wait(min(remaining, 0.1))
                self._wake.set()
        return True

    def close(self, timeout: float = 5.0) -> None:
        self.flush(timeout)
        with self._lock:
            self._closed = True
        self._wake.set()

    # --- sender side ------------------------------------------------------------------

    def _start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="ops-sdk-emitter", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    def _client_for_send(self) -> Client:
        if self._client is None:
            if self.ingest_key and not os.environ.get("HMS_TOKEN"):
                self._client = Client(token=self.ingest_key)
            else:
                self._client = default_client()
        return self._client

    def _headers(self) -> dict:
        return {"Authorization": f"Bearer {self.ingest_key}"} if self.ingest_key else {}

    def _take(self) -> list:
        with self._lock:
            batch = [self._buffer.popleft() for _ in range(min(self.batch_size, len(self._buffer)))]
            self._in_flight = len(batch)
            return batch

    def _put_back(self, batch: list) -> None:
        with self._lock:
            room = self.max_buffer - len(self._buffer)
            keep = batch[-room:] if room > 0 else []
            self.dropped += len(batch) - len(keep)
            self._buffer.extendleft(reversed(keep))

    def _done(self) -> None:
        with self._idle:
            self._in_flight = 0
            self._idle.notify_all()

    def _run(self) -> None:
        failures = 0
        while True:
            self._wake.wait(self.interval if not failures else min(MAX_BACKOFF, 2**failures))
            self._wake.clear()
            with self._lock:
                if self._closed and not self._buffer:
                    return
            while True:
                batch = self._take()
                if not batch:
                    self._done()
                    break
                try:
                    self._client_for_send().post(
                        "metrics/", json={"samples": batch}, headers=self._headers()
                    )
                except HmsApiError as exc:
                    if exc.status >= 500 or exc.status == 429:
                        self._fail(batch, str(exc))
                        failures += 1
                        break
                    self.rejected += len(batch)  # the server refused the data itself
                    self.last_error = str(exc)
                except (requests.RequestException, ValueError) as exc:
                    self._fail(batch, f"{type(exc).__name__}: {exc}")
                    failures += 1
                    break
                else:
                    self.sent += len(batch)
                    failures = 0
                self._done()

    def _fail(self, batch: list, message: str) -> None:
        self.last_error = message
        self._put_back(batch)
        self._done()
