"""Channel kinds by name. Other apps add theirs (APM registers ``ticket``)::

    from ops.channels import registry
    registry.register(TicketChannel)

``ops`` itself never imports the apps that register kinds.
"""

from ops.channels.base import ChannelKind

_KINDS: dict[str, type[ChannelKind]] = {}


def register(kind_class: type[ChannelKind]) -> type[ChannelKind]:
    """Register ``kind_class`` under ``kind_class.kind``; usable as a class decorator."""
    if not kind_class.kind:
        raise ValueError(f"{kind_class.__name__} has no kind")
    existing = _KINDS.get(kind_class.kind)
    if existing is not None and existing is not kind_class:
        raise ValueError(f"channel kind {kind_class.kind!r} is already {existing.__name__}")
    _KINDS[kind_class.kind] = kind_class
    return kind_class


def get(kind: str) -> type[ChannelKind] | None:
    return _KINDS.get(kind)


def kinds() -> list[str]:
    return sorted(_KINDS)


def choices() -> list[tuple[str, str]]:
    return [(name, _KINDS[name].label or name) for name in kinds()]
