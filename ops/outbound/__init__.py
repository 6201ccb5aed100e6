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

from ops.outbound.check import (
    check_addresses,
    check_outbound_url,
    outbound_problem,
    own_endpoints,
    resolve,
    split_url,
    system_resolve,
)
from ops.outbound.rules import (
    ALWAYS_REFUSED,
    PURPOSES,
    OutboundError,
    OutboundRefused,
    Purpose,
    address_refusal,
    literal_address,
)
from ops.outbound.session import GuardedSession, guarded_session

__all__ = [
    "ALWAYS_REFUSED",
    "PURPOSES",
    "GuardedSession",
    "OutboundError",
    "OutboundRefused",
    "Purpose",
    "address_refusal",
    "check_addresses",
    "check_outbound_url",
    "guarded_session",
    "literal_address",
    "outbound_problem",
    "own_endpoints",
    "resolve",
    "split_url",
    "system_resolve",
]
