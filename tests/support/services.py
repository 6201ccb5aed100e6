"""Finding the real services the tests need, and what to do when one is missing."""

import os
import socket

import pytest


def require(service: str, reason: str):
    """Skip, or fail when ``HMS_REQUIRE_SERVICES=1`` (CI): a missing service is a failure there."""
    message = f"{service} unavailable: {reason}"
    if os.environ.get("HMS_REQUIRE_SERVICES") == "1":
        pytest.fail(message + " (HMS_REQUIRE_SERVICES=1)", pytrace=False)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, *, timeout: float, interval: float = 0.1, what: str = "condition"):
    """Poll ``predicate`` until it returns a truthy value; return that value."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def wait_ready(process, url: str, read_log, what: str, timeout: float = 30.0) -> None:
    """Wait until ``url`` answers 200 (a Prometheus-style ``/-/ready``), or raise with the
    end of the process's log when it exits or never gets ready."""
    import time

    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited: {read_log()[-2000:]}")
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{what} not ready after {timeout:g}s: {read_log()[-2000:]}")
