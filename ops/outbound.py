"""The one outbound guard: every HTTP request built from user data goes through here.

Two calls, for every kind that sends to a URL a user typed (scrape targets,
webhooks, chat incoming-webhooks such as Teams or Mattermost)::

    from ops.outbound import OutboundError, check_outbound_url, guarded_session

    # at save: a field error for the form / API / .ops.yaml line
    problem = outbound_problem(url, "webhook")      # None, or the reason in words

    # at send: the check runs again inside the connection, on the address it connects to
    with guarded_session("webhook") as session:
        response = session.post(url, data=body, timeout=5)   # may raise OutboundError

``check_outbound_url(url, purpose)`` raises ``OutboundRefused`` (an
``OutboundError``) naming what is wrong; ``outbound_problem`` is the same check
returning the message. ``purpose`` is a key of ``PURPOSES``: ``scrape`` may
reach private ranges (scraping internal services is its job), ``webhook``
may not. For every purpose these are refused:

- loopback, link-local (169.254.0.0/16 and fe80::/10, so the cloud metadata
  endpoints 169.254.169.254, fd00:ec2::254 and 100.100.100.200 too), multicast,
  the unspecified / "this network" range (0.0.0.0/8, ::) and 240.0.0.0/4;
- an IPv4 address hidden in an IPv6 one (::ffff:127.0.0.1, 6to4, NAT64, the
  deprecated IPv4-compatible form) is judged as that IPv4 address;
- the host:port of the app's own database(s) and Redis (``DATABASE_URL``,
  ``REDIS_URL``, ``HMS_SQL_PROBE_DATABASE_URL`` and every ``DATABASES`` entry),
  even when ``HMS_OUTBOUND_ALLOW`` covers the address: no HTTP request has any
  business there, and an allow entry for a sidecar must not open them.

``HMS_OUTBOUND_ALLOW`` (CIDRs and host names) lifts the other refusals for the
addresses or names it lists. Numeric host forms that the C library accepts
(``2130706433``, ``0177.0.0.1``, ``0x7f.1``) are read as the address they are.

At send, ``guarded_session`` resolves the name inside the connection, checks
every address it got and connects to the checked one (TLS still verifies the
name), so a DNS answer that changes between save and send (rebinding) is
caught. It never follows redirects: a 3xx raises ``OutboundError`` ("redirects
are not followed"). Proxy variables and ``.netrc`` are ignored.

Names are resolved by ``settings.HMS_OUTBOUND_RESOLVER`` (dotted path; the
system resolver by default; the test suite maps names in memory so no test
ever sends a DNS query).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from functools import cache
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.utils.module_loading import import_string
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

IP = ipaddress.IPv4Address | ipaddress.IPv6Address

# Refused for every purpose, unless HMS_OUTBOUND_ALLOW lists the address.
ALWAYS_REFUSED: tuple[tuple[str, str], ...] = (
    ("127.0.0.0/8", "a loopback address"),
    ("::1/128", "a loopback address"),
    ("0.0.0.0/8", "the unspecified address"),
    ("::/128", "the unspecified address"),
    ("169.254.0.0/16", "a link-local address (cloud metadata lives there)"),
    ("fe80::/10", "a link-local address"),
    ("fd00:ec2::254/128", "the cloud metadata address"),
    ("100.100.100.200/32", "the cloud metadata address"),
    ("224.0.0.0/4", "a multicast address"),
    ("ff00::/8", "a multicast address"),
    ("240.0.0.0/4", "a reserved address"),
)
_ALWAYS = tuple((ipaddress.ip_network(net), why) for net, why in ALWAYS_REFUSED)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_LOCALHOST_RE = re.compile(r"(^|\.)localhost\.?$", re.IGNORECASE)
_NUMERIC_RE = re.compile(r"^[0-9a-fA-FxX.]+$")
DEFAULT_PORTS = {"http": 80, "https": 443}
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True)
class Purpose:
    name: str
    allow_private: bool


PURPOSES: dict[str, Purpose] = {
    "scrape": Purpose("scrape", allow_private=True),
    "webhook": Purpose("webhook", allow_private=False),
}


class OutboundError(Exception):
    """An outbound request that was not made or not completed by the guard's rules."""


class OutboundRefused(OutboundError):
    """The target is refused (address, scheme or form); nothing was sent."""


def _purpose(purpose: str) -> Purpose:
    try:
        return PURPOSES[purpose]
    except KeyError:
        raise ValueError(f"unknown outbound purpose {purpose!r}") from None


def system_resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (``socket.gaierror`` when it does not)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def resolve(host: str, port: int) -> list[str]:
    return import_string(settings.HMS_OUTBOUND_RESOLVER)(host, port)


def literal_address(host: str) -> IP | None:
    """The address ``host`` denotes by itself, in any form the C library accepts; else None."""
    host = host.strip("[]")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _NUMERIC_RE.match(host):
        try:  # inet_aton: 2130706433, 0177.0.0.1, 0x7f.1, 127.1
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def _embedded_ipv4(ip: IP) -> list[ipaddress.IPv4Address]:
    if ip.version == 4:
        return []
    found = []
    if ip.ipv4_mapped:
        found.append(ip.ipv4_mapped)
    if ip.sixtofour:
        found.append(ip.sixtofour)
    if ip in _NAT64:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    if int(ip) >> 32 == 0 and int(ip) > 1:  # ::a.b.c.d, the deprecated IPv4-compatible form
        found.append(ipaddress.IPv4Address(int(ip)))
    return found


def _own_endpoints() -> dict[tuple[IP, int], str]:
    """(address, port) of the app's own PostgreSQL/SQLite-less databases and Redis."""
    urls = [
        ("DATABASE_URL", getattr(settings, "DATABASE_URL", None), 5432),
        ("REDIS_URL", getattr(settings, "REDIS_URL", None), 6379),
        ("HMS_SQL_PROBE_DATABASE_URL", getattr(settings, "HMS_SQL_PROBE_DATABASE_URL", None), 5432),
    ]
    endpoints: list[tuple[str, str, int]] = []
    for name, url, default_port in urls:
        if not url:
            continue
        try:
            parts = urlsplit(url)
            port = parts.port or default_port
        except ValueError:
            continue
        if parts.hostname:
            endpoints.append((name, parts.hostname, port))
    for alias, database in settings.DATABASES.items():
        host = database.get("HOST") or ""
        if host and not host.startswith("/"):
            endpoints.append((f"database {alias!r}", host, int(database.get("PORT") or 5432)))
    found: dict[tuple[IP, int], str] = {}
    for name, host, port in endpoints:
        addresses = [literal_address(host)]
        if addresses[0] is None:
            try:
                addresses = [ipaddress.ip_address(a.split("%")[0]) for a in resolve(host, port)]
            except (OSError, ValueError):
                continue
        for address in addresses:
            found[(_plain(address), port)] = name
    return found


def _plain(ip: IP) -> IP:
    """``::ffff:a.b.c.d`` is a.b.c.d (one address, one answer)."""
    if ip.version == 6 and ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip.version == 6 and ip.scope_id:
        return ipaddress.IPv6Address(str(ip).split("%")[0])
    return ip


def _allowed(host: str, ip: IP) -> bool:
    networks, hosts = settings.HMS_OUTBOUND_ALLOW
    if host.rstrip(".").lower() in hosts:
        return True
    return any(ip.version == net.version and ip in net for net in networks)


def address_refusal(host: str, ip: IP, port: int, purpose: str, own_endpoints=None) -> str | None:
    """Why ``purpose`` may not connect to ``ip``:``port`` (reached as ``host``); None if it may."""
    spec = _purpose(purpose)
    ip = _plain(ip)
    own = (_own_endpoints() if own_endpoints is None else own_endpoints).get((ip, port))
    if own:
        return f"{ip} port {port} is the app's own {own}"
    if _allowed(host, ip):
        return None
    for candidate in (ip, *_embedded_ipv4(ip)):
        for network, why in _ALWAYS:
            if candidate.version == network.version and candidate in network:
                return f"{candidate} is {why}"
        if not spec.allow_private and not candidate.is_global:
            return f"{candidate} is a private or reserved address ({purpose} targets are public)"
    return None


def _split(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) as urllib3 (so requests) reads ``url``; else OutboundRefused."""
    try:
        parts = parse_url(url.strip())
    except LocationParseError:
        raise OutboundRefused("not a valid URL") from None
    scheme = (parts.scheme or "").lower()
    if scheme not in DEFAULT_PORTS:
        raise OutboundRefused("only http:// and https:// URLs are allowed")
    host = (parts.host or "").strip("[]")
    if not host:
        raise OutboundRefused("the URL has no host")
    return scheme, host, parts.port or DEFAULT_PORTS[scheme]


def check_addresses(host: str, port: int, purpose: str) -> list[IP]:
    """Resolve ``host`` and check every address; the addresses, or OutboundRefused.

    ``socket.gaierror`` (the name does not resolve) passes through.
    """
    literal = literal_address(host)
    if (
        literal is None
        and _LOCALHOST_RE.search(host)
        and host.rstrip(".").lower() not in (settings.HMS_OUTBOUND_ALLOW[1])
    ):
        raise OutboundRefused(f"{host} is a loopback name")
    if literal is not None:
        addresses = [literal]
    else:
        addresses = [ipaddress.ip_address(a) for a in resolve(host, port)]
        if not addresses:
            raise socket.gaierror(socket.EAI_NONAME, f"{host} has no address")
    own = _own_endpoints()
    for address in addresses:
        refusal = address_refusal(host, address, port, purpose, own)
        if refusal:
            raise OutboundRefused(refusal if literal is not None else f"{host}: {refusal}")
    return addresses


def check_outbound_url(url: str, purpose: str) -> None:
    """Raise ``OutboundRefused`` when ``url`` may not be requested for ``purpose``.

    A name that does not resolve (yet) passes here: the connect-time check in
    ``guarded_session`` refuses it then, against the address it really gets.
    """
    _scheme, host, port = _split(url)
    try:
        check_addresses(host, port, purpose)
    except socket.gaierror:
        return


def outbound_problem(url: str, purpose: str) -> str | None:
    """``check_outbound_url`` as a message for a field error; None when the URL may be used."""
    try:
        check_outbound_url(url, purpose)
    except OutboundRefused as exc:
        return str(exc)
    return None


# --- the connection that checks the address it connects to ----------------------------


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
        _purpose(purpose)
        super().__init__()
        self.hms_purpose = purpose
        self.trust_env = False  # no proxy from the environment, no .netrc credentials
        self.max_redirects = 0
        adapter = _GuardedAdapter(purpose)
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def request(self, method, url, *args, **kwargs):
        _split(url)  # scheme and form first: nothing else gets as far as a connection
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
