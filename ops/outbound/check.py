"""Checking a URL before anything is sent: its form, every address its name resolves to,
and the app's own database and Redis endpoints (refused whatever the allow list says)."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.module_loading import import_string
from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

from ops.outbound.rules import (
    DEFAULT_PORTS,
    IP,
    LOCALHOST_NAME,
    OutboundRefused,
    address_refusal,
    literal_address,
    plain_address,
)


def system_resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (``socket.gaierror`` when it does not)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def resolve(host: str, port: int) -> list[str]:
    return import_string(settings.HMS_OUTBOUND_RESOLVER)(host, port)


def own_endpoints() -> dict[tuple[IP, int], str]:
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
            found[(plain_address(address), port)] = name
    return found


def split_url(url: str) -> tuple[str, str, int]:
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
        and LOCALHOST_NAME.search(host)
        and host.rstrip(".").lower() not in (settings.HMS_OUTBOUND_ALLOW[1])
    ):
        raise OutboundRefused(f"{host} is a loopback name")
    if literal is not None:
        addresses = [literal]
    else:
        addresses = [ipaddress.ip_address(a) for a in resolve(host, port)]
        if not addresses:
            raise socket.gaierror(socket.EAI_NONAME, f"{host} has no address")
    own = own_endpoints()
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
    _scheme, host, port = split_url(url)
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
