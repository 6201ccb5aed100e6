"""The test suite's resolver (``HMS_OUTBOUND_RESOLVER``): names from a table, never DNS.

No test may send a packet anywhere but 127.0.0.1, and a DNS query goes to the
machine's name server. ``NAMES`` maps the few names tests use; a test adds its
own with ``monkeypatch.setitem(dns.NAMES, "rebind.test", ["127.0.0.1"])`` (or a
callable answering differently on each lookup, to play a rebinding server).
An unknown name fails as NXDOMAIN does.
"""

import socket

NAMES: dict = {
    "localhost": ["127.0.0.1", "::1"],
    "scanner.local": ["10.20.0.7"],
}


def resolve(host: str, port: int) -> list[str]:
    answer = NAMES.get(host.lower())
    if answer is None:
        raise socket.gaierror(socket.EAI_NONAME, f"Name or service not known: {host}")
    return list(answer()) if callable(answer) else list(answer)
