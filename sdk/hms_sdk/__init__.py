"""The HTTP client shared by the Python SDKs (``ops_sdk``, ``hms_apm``).

Only ``requests``: importable without Django or the project's settings.
Configuration comes from arguments or from ``HMS_URL`` / ``HMS_TOKEN``.
"""

from __future__ import annotations

import os
from typing import Any

import requests

DEFAULT_TIMEOUT = 10.0


class HmsApiError(Exception):
    """The server refused a request; ``status`` and ``body`` say why."""

    def __init__(
        self, status: int, body: Any, method: str, path: str, retry_after: str | None = None
    ):
        self.status = status
        self.body = body
        self.retry_after = retry_after  # the answer's Retry-After header, as sent
        super().__init__(f"{method} {path} -> HTTP {status}: {body}")


class Client:
    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
    ):
        url = url or os.environ.get("HMS_URL")
        token = token or os.environ.get("HMS_TOKEN")
        if not url:
            raise ValueError("no server: pass url=... or set HMS_URL")
        if not token:
            raise ValueError("no API token: pass token=... or set HMS_TOKEN")
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._token = token
        self.session = requests.Session()  # keeps its connection alive between requests
        self.session.headers["Authorization"] = f"Token {token}"

    def copy(self) -> Client:
        """The same server and token on a session (a connection) of its own, e.g. for
        another thread."""
        return Client(self.url, self._token, timeout=self.timeout)

    def request(self, method: str, path: str, **kwargs) -> Any:
        """``path`` is relative to ``/api/v1/``; returns the decoded JSON (or None)."""
        kwargs.setdefault("timeout", self.timeout)
        response = self.session.request(method, f"{self.url}/api/v1/{path.lstrip('/')}", **kwargs)
        try:
            body = response.json() if response.content else None
        except ValueError:
            body = response.text
        if response.status_code >= 400:
            retry_after = response.headers.get("Retry-After")
            raise HmsApiError(response.status_code, body, method, path, retry_after)
        return body

    def get(self, path: str, **kwargs) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs) -> Any:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs) -> Any:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs) -> Any:
        return self.request("PATCH", path, **kwargs)


_default: Client | None = None


def default_client() -> Client:
    """A client built from ``HMS_URL`` / ``HMS_TOKEN`` on first use."""
    global _default
    if _default is None:
        _default = Client()
    return _default


def configure(url: str | None = None, token: str | None = None, **kwargs) -> Client:
    """Replace the default client (e.g. in a script that does not use env vars)."""
    global _default
    _default = Client(url, token, **kwargs)
    return _default
