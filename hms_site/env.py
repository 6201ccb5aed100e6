"""Typed access to the environment.

Every helper rejects a value it cannot parse with an ``ImproperlyConfigured``
that names the variable, so a typo stops start-up instead of being silently
replaced by a default. Secrets may come from ``NAME_FILE`` (a path whose
contents are the value), as with Docker/Kubernetes secrets.
"""

import ipaddress
import os
import re
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_UNSET = object()


def _raw(name: str) -> str | None:
    file_var = f"{name}_FILE"
    if os.environ.get(file_var):
        path = os.environ[file_var]
        try:
            with open(path, encoding="utf-8") as fh:
                return fh.read().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{file_var}: cannot read {path!r}: {exc}") from exc
    return os.environ.get(name)


def env_str(name: str, default=_UNSET) -> str:
    value = _raw(name)
    if value is None:
        if default is _UNSET:
            raise ImproperlyConfigured(f"{name} must be set")
        return default
    return value


def env_bool(name: str, default: bool) -> bool:
    value = _raw(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name}={value!r} is not a boolean; use one of 1/0, true/false, yes/no, on/off"
    )


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    value = _raw(name)
    if value is None:
        return default
    try:
        number = int(value.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not an integer") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}={number} must be at least {minimum}")
    return number


def env_float(name: str, default: float, *, minimum: float | None = None) -> float:
    value = _raw(name)
    if value is None:
        return default
    try:
        number = float(value.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a number") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise ImproperlyConfigured(f"{name}={value!r} must be a finite number")
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}={number} must be at least {minimum}")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    value = _raw(name)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def env_url(name: str, default: str | None, *, schemes: tuple[str, ...]) -> str | None:
    """A URL whose scheme is one of ``schemes`` and which has a host when it needs one."""
    value = _raw(name)
    if value is None or value.strip() == "":
        return default
    value = value.strip()
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={value!r} is not a valid URL: {exc}") from None
    if parts.scheme not in schemes:
        raise ImproperlyConfigured(f"{name}={value!r}: scheme must be one of {', '.join(schemes)}")
    if parts.scheme not in {"sqlite", "filesystem", "memory"} and not parts.hostname:
        raise ImproperlyConfigured(f"{name}={value!r} has no host")
    return value


_HOST_NAME_RE = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\.?)+$")


def env_networks(name: str, default: str = "") -> tuple[tuple, frozenset[str]]:
    """Comma-separated CIDRs, addresses and host names -> (networks, lower-case names).

    ``10.0.0.0/8``, ``127.0.0.1``, ``fd12::/16`` and ``hooks.internal`` are fine;
    a network with host bits set (``10.0.0.1/8``) or anything else stops start-up.
    """
    value = _raw(name)
    value = default if value is None else value
    networks, hosts = [], set()
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item.strip("[]"), strict=True))
            continue
        except ValueError as exc:
            if "/" in item or ":" in item or item.replace(".", "").isdigit():
                raise ImproperlyConfigured(f"{name}: {item!r} is not a network: {exc}") from None
        if not _HOST_NAME_RE.match(item):
            raise ImproperlyConfigured(
                f"{name}: {item!r} is neither an address, a CIDR network nor a host name"
            )
        hosts.add(item.rstrip(".").lower())
    return tuple(networks), frozenset(hosts)
