"""The background sender behind ``ops_sdk.emit``: bounded buffer, batches, flush at exit.

``emit`` appends a tuple to a bounded deque under a lock and returns. Sender threads
(``senders``, default 2, each with its own keep-alive connection) take up to
``batch_size`` samples at a time (the server's limit per request, 10,000), encode
them as JSON (``ops_sdk.wire``), gzip the body and POST it; a sender wakes as soon as
a full batch is waiting, or after ``interval`` for a partial one.

When the buffer is full the oldest sample is dropped and counted, per service:
``dropped`` (the total), ``stats()``, one log warning per second at most, and an
``X-HMS-Dropped`` header on the next request, so the server counts them too
(``hms_sdk_dropped_samples_total{service=...}`` on ``/metrics``).
"""

from __future__ import annotations

import atexit
import collections
import os
import threading
import time

import requests

from hms_sdk import Client, HmsApiError, default_client
from hms_sdk.retry import backoff, parse_retry_after
from ops_sdk import drops as drop_counts
from ops_sdk import wire

BATCH_SIZE = 10_000  # MAX_SAMPLES per request on the server (ops/metrics/validation.py)
MAX_BUFFER = 100_000
SENDERS = 2
FLUSH_INTERVAL = 1.0
# A partial batch leaves this long after its first sample was queued: a breaching reading
# reaches the server (and its triggered SLO pass) in ~50 ms, and samples still batch under
# load (whatever queued meanwhile goes in one request).
LINGER = 0.05
BACKOFF_BASE = 1.0
MAX_BACKOFF = 30.0


class Emitter:
    """Buffers readings and sends them from daemon threads.

    ``dropped`` counts readings lost to a full buffer, ``rejected`` readings the
    server refused (4xx), ``sent`` readings accepted; ``last_error`` says why the
    last send failed. Failed sends (network, 5xx, 429) are retried with the one
    back-off (``hms_sdk.retry``), never before the server's ``Retry-After``.
    """

    def __init__(
        self,
        *,
        client: Client | None = None,
        service: str | None = None,
        ingest_key: str | None = None,
        max_buffer: int = MAX_BUFFER,
        batch_size: int = BATCH_SIZE,
        interval: float = FLUSH_INTERVAL,
        linger: float = LINGER,
        senders: int = SENDERS,
        compress: bool = True,
    ):
        if max_buffer < 1 or batch_size < 1 or senders < 1:
            raise ValueError("max_buffer, batch_size and senders must be at least 1")
        self._client = client
        self.service = service
        self.ingest_key = ingest_key
        self.max_buffer = max_buffer
        self.batch_size = batch_size
        self.interval = interval
        self.linger = linger
        self._first_at = 0.0  # when the oldest sample now in the buffer was queued
        self.senders = senders
        self.compress = compress
        self.rejected = 0
        self.sent = 0
        self.requests = 0
        self.last_error: str | None = None
        self._drops = drop_counts.Drops(max_buffer)
        self._buffer: collections.deque = collections.deque()
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._idle = threading.Condition(self._lock)
        self._in_flight = 0
        self._closed = False
        self._threads: list[threading.Thread] = []
        self._clients: dict[int, Client] = {}
        self._failures = 0
        self._paused_until = 0.0
        self._encoder = wire.Encoder()

    # --- caller side ------------------------------------------------------------------

    def emit(self, name, value, *, service=None, labels=None, ts=None) -> None:
        service = service or self.service
        if not service and not self.ingest_key:
            raise ValueError(
                "no service: pass service=..., set HMS_SERVICE, or ops.register(...) first"
            )
        sample = (service, name, value, time.time() if ts is None else ts, labels or None)
        with self._lock:
            if self._closed:
                raise RuntimeError("the emitter is closed")
            buffer = self._buffer
            if len(buffer) >= self.max_buffer:
                self._drop(buffer.popleft())
            buffer.append(sample)
            if not self._threads:
                self._start()
            if len(buffer) == 1:  # the first sample: a sender starts its linger
                self._first_at = time.monotonic()
                self._wake.notify()
            elif len(buffer) == self.batch_size:
                self._wake.notify()

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._buffer) + self._in_flight

    def stats(self) -> dict:
        """Counts so far: ``sent``, ``dropped`` (and ``dropped_unreported`` by service, not yet
        told to the server), ``rejected``, ``pending``, ``requests``, ``last_error``."""
        with self._lock:
            return {
                "sent": self.sent,
                "dropped": self.dropped,
                "dropped_unreported": dict(self._drops.untold),
                "rejected": self.rejected,
                "pending": len(self._buffer) + self._in_flight,
                "requests": self.requests,
                "last_error": self.last_error,
            }

    def flush(self, timeout: float = 10.0) -> bool:
        """Send everything buffered now; True when it was all sent (or refused) in time."""
        deadline = time.monotonic() + timeout
        with self._lock:
            self._wake.notify_all()
            while self._buffer or self._in_flight:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not any(t.is_alive() for t in self._threads):
                    return False
                self._idle.wait(min(remaining, 0.1))
                self._wake.notify_all()
        return True

    def close(self, timeout: float = 5.0) -> None:
        self.flush(timeout)
        with self._lock:
            self._closed = True
            self._wake.notify_all()

    # --- drops ------------------------------------------------------------------------

    @property
    def dropped(self) -> int:
        """Samples dropped so far (the buffer was full)."""
        return self._drops.total

    def _drop(self, sample: tuple) -> None:
        self._drops.count(sample[0])  # the lock is held

    def _take_drops(self) -> dict:
        with self._lock:
            return self._drops.take()

    def _return_drops(self, taken: dict) -> None:
        with self._lock:
            self._drops.give_back(taken)

    # --- sender side ------------------------------------------------------------------

    def _start(self) -> None:
        for index in range(self.senders):
            thread = threading.Thread(
                target=self._run, args=(index,), name=f"ops-sdk-sender-{index}", daemon=True
            )
            self._threads.append(thread)
            thread.start()
        atexit.register(self.close)

    def _client_for(self, index: int) -> Client:
        """Each sender has a client (a session: one keep-alive connection) of its own."""
        client = self._clients.get(index)
        if client is None:
            base = self._client
            if base is None:
                if self.ingest_key and not os.environ.get("HMS_TOKEN"):
                    base = Client(token=self.ingest_key)
                else:
                    base = default_client()
            client = base if index == 0 else base.copy()
            self._clients[index] = client
        return client

    def _take(self) -> list | None:
        """Up to ``batch_size`` samples, waiting for a full batch at most ``linger`` after the
        first queued sample (idle: up to ``interval`` for one); None when closed and empty
        (the thread ends)."""
        with self._lock:
            if not self._buffer and not self._closed:
                self._wake.wait(self.interval)
            deadline = self._first_at + min(self.linger, self.interval)
            while (
                self._buffer
                and len(self._buffer) < self.batch_size
                and not self._closed
                and (left := deadline - time.monotonic()) > 0
            ):
                self._wake.wait(left)
            if not self._closed and self._paused_until > time.monotonic():
                return []  # another sender failed meanwhile: wait out its pause first
            if not self._buffer:
                return None if self._closed else []
            take = self._buffer.popleft
            batch = [take() for _ in range(min(self.batch_size, len(self._buffer)))]
            self._first_at = time.monotonic()  # what is left lingers from now
            self._in_flight += len(batch)
            return batch

    def _put_back(self, batch: list) -> None:
        with self._lock:
            room = self.max_buffer - len(self._buffer)
            keep = batch[-room:] if room > 0 else []
            for sample in batch[: len(batch) - len(keep)]:
                self._drop(sample)
            self._buffer.extendleft(reversed(keep))

    def _abandon(self) -> None:
        with self._lock:
            while self._buffer:
                self._drop(self._buffer.popleft())
            self._idle.notify_all()

    def _done(self, batch: list) -> None:
        with self._lock:
            self._in_flight -= len(batch)
            self._idle.notify_all()

    def _run(self, index: int) -> None:
        while True:
            self._wait_out_pause()
            batch = self._take()
            if batch is None:
                return
            if batch and not self._send(index, batch) and self._closed:
                self._abandon()  # closed (at exit): no more retries, what is left is dropped
                return

    def _wait_out_pause(self) -> None:
        """After a failure every sender waits (one server, one back-off), unless closing."""
        with self._lock:
            while not self._closed and (left := self._paused_until - time.monotonic()) > 0:
                self._wake.wait(left)

    def _send(self, index: int, batch: list) -> bool:
        """Post one batch; True when done with it (sent, or refused for good), False when it
        was put back to be retried after the pause."""
        drops = self._take_drops()
        try:
            body = wire.body(self._encoder, batch, compress=self.compress)
            headers = wire.headers(self.ingest_key, compress=self.compress, drops=drops)
            self._client_for(index).post("metrics/", data=body, headers=headers)
        except HmsApiError as exc:
            self._return_drops(drops)
            if exc.status >= 500 or exc.status == 429:
                return self._fail(batch, str(exc), parse_retry_after(exc.retry_after))
            with self._lock:
                self.rejected += len(batch)  # the server refused the data itself
                self.last_error = str(exc)
        except (requests.RequestException, ValueError) as exc:
            self._return_drops(drops)
            return self._fail(batch, f"{type(exc).__name__}: {exc}", None)
        else:
            with self._lock:
                self.sent += len(batch)
                self.requests += 1
                self._failures = 0
        self._done(batch)
        return True

    def _fail(self, batch: list, message: str, retry_after: float | None) -> bool:
        """Pause every sender by the back-off (never less than ``retry_after``), then put
        the batch back in front of the buffer."""
        with self._lock:
            self.last_error = message
            self._failures += 1
            delay = backoff(self._failures, BACKOFF_BASE, MAX_BACKOFF, retry_after)
            self._paused_until = max(self._paused_until, time.monotonic() + delay)
        self._put_back(batch)
        self._done(batch)
        return False
