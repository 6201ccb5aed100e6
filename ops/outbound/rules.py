"""The outbound guard's rules: which addresses a purpose may reach, judged one address at
a time (``address_refusal``), and the forms a host may take (``literal_address``)."""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass

from django.conf import settings

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
LOCALHOST_NAME = re.compile(r"(^|\.)localhost\.?$", re.IGNORECASE)
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


def purpose_of(purpose: str) -> Purpose:
    """The ``Purpose`` named ``purpose``; ``ValueError`` for an unknown one."""
    try:
        return PURPOSES[purpose]
    except KeyError:
        raise ValueError(f"unknown outbound purpose {purpose!r}") from None


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


def plain_address(ip: IP) -> IP:
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


def address_refusal(
    host: str, ip: IP, port: int, purpose: str, own: dict[tuple[IP, int], str]
) -> str | None:
    """Why ``purpose`` may not connect to ``ip``:``port`` (reached as ``host``); None if it may.

    ``own``: the app's own endpoints (``check.own_endpoints()``), refused whatever is allowed.
    """
    spec = purpose_of(purpose)
    ip = plain_address(ip)
    mine = own.get((ip, port))
    if mine:
        return f"{ip} port {port} is the app's own {mine}"
    if _allowed(host, ip):
        return None
    for candidate in (ip, *_embedded_ipv4(ip)):
        for network, why in _ALWAYS:
            if candidate.version == network.version and candidate in network:
                return f"{candidate} is {why}"
        if not spec.allow_private and not candidate.is_global:
            return f"{candidate} is a private or reserved address ({purpose} targets are public)"
    return None
