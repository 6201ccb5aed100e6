"""``guarded_session``: a ``requests.Session`` whose connections check the address they
connect to (``check_addresses``, at connect time), never follow redirects, and ignore
proxy variables and ``.netrc``."""

from __future__ import annotations

import socket
from functools import cache

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from ops.outbound.check import check_addresses, split_url
from ops.outbound.rules import REDIRECT_STATUSES, OutboundError, purpose_of


class _GuardedConnectionMixin:
    hms_purpose = ""

    def _new_conn(self):
        name = self._dns_host
        try:
            addresses = check_addresses(name, self.port, self.hms_purpose)
        except socket.gaierror as exc:
            from urllib3.exceptions import NameResolutionError

            raise NameResolutionError(self.host, self, exc) from exc
        # Connect to the checked address, not to whatever a second lookup returns.
        self._dns_host = str(addresses[0])
        try:
            return super()._new_conn()
        finally:
            self._dns_host = name


@cache
def _pool_classes(purpose: str) -> dict[str, type]:
    http_conn = type(
        f"Guarded{purpose.title()}HTTPConnection",
        (_GuardedConnectionMixin, HTTPConnection),
        {"hms_purpose": purpose},
    )
    https_conn = type(
        f"Guarded{purpose.title()}HTTPSConnection",
        (_GuardedConnectionMixin, HTTPSConnection),
        {"hms_purpose": purpose},
    )
    return {
        "http": type(
            "GuardedHTTPConnectionPool", (HTTPConnectionPool,), {"ConnectionCls": http_conn}
        ),
        "https": type(
            "GuardedHTTPSConnectionPool", (HTTPSConnectionPool,), {"ConnectionCls": https_conn}
        ),
    }


class _GuardedAdapter(HTTPAdapter):
    def __init__(self, purpose: str):
        self.hms_purpose = purpose
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _pool_classes(self.hms_purpose)


class GuardedSession(requests.Session):
    """A ``requests.Session`` whose every connection goes through the outbound guard."""

    def __init__(self, purpose: str):
        purpose_of(purpose)
        super().__init__()
        self.hms_purpose = purpose
        self.trust_env = False  # no proxy from the environment, no .netrc credentials
        self.max_redirects = 0
        adapter = _GuardedAdapter(purpose)
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def request(self, method, url, *args, **kwargs):
        split_url(url)  # scheme and form first: nothing else gets as far as a connection
        kwargs["allow_redirects"] = False
        response = super().request(method, url, *args, **kwargs)
        if response.status_code in REDIRECT_STATUSES:
            response.close()
            raise OutboundError(f"answered HTTP {response.status_code}: redirects are not followed")
        return response

    def get_redirect_target(self, response):
        return None


def guarded_session(purpose: str) -> GuardedSession:
    """A session for ``purpose`` (a key of ``PURPOSES``); use it as a context manager."""
    return GuardedSession(purpose)
