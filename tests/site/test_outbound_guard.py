"""The outbound guard (ops/outbound/), attacked as an SSRF attacker would.

Every request here goes to 127.0.0.1 or to nowhere: names resolve from
``tests.support.dns`` (no DNS query), and ``no_foreign_connects`` fails the
test the moment anything tries to open a socket to another address, so a
"refused" target that the guard let through would fail loudly instead of
reaching the network.
"""

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.exceptions import ImproperlyConfigured

from hms_site.env import env_networks
from ops.outbound import (
    OutboundError,
    OutboundRefused,
    check_outbound_url,
    guarded_session,
    outbound_problem,
)
from tests.support import dns

NOTHING_ALLOWED = ((), frozenset())
LOOPBACK_ALLOWED = env_networks("HMS_TEST_UNSET_VARIABLE", "127.0.0.1")


class CountingServer:
    """Answers 200 "ok" on 127.0.0.1; counts TCP connections accepted, before any request."""

    def __init__(self, status=200, headers=None):
        outer = self
        self.connections = 0
        self.hosts: list[str] = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                outer.hosts.append(self.headers.get("Host", ""))
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            do_POST = do_GET

            def log_message(self, *args):
                return

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def get_request(self):
                accepted = super().get_request()
                outer.connections += 1
                return accepted

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(autouse=True)
def no_foreign_connects(monkeypatch):
    """Any socket connect to an address other than 127.0.0.1 fails the test before it happens."""
    real_connect = socket.socket.connect
    attempts = []

    def connect(sock, address):
        if not (isinstance(address, tuple) and address[0] == "127.0.0.1"):
            attempts.append(address)
            raise AssertionError(f"the test tried to connect to {address!r}")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    yield attempts
    assert attempts == []


@pytest.fixture
def nothing_allowed(settings):
    settings.HMS_OUTBOUND_ALLOW = NOTHING_ALLOWED


@pytest.fixture
def server():
    with CountingServer() as counting:
        yield counting


def _loopback_disguises(port: int) -> list[str]:
    return [
        f"http://127.0.0.1:{port}/metrics",
        f"http://127.9.9.9:{port}/",
        f"http://localhost:{port}/",
        f"http://LocalHost.:{port}/",
        f"http://app.localhost:{port}/",
        f"http://[::1]:{port}/",
        f"http://[::ffff:127.0.0.1]:{port}/",
        f"http://[::1%25lo]:{port}/",
        f"http://127.0.0.1\\@8.8.8.8:{port}/",
        f"http://[::ffff:7f00:1]:{port}/",
        f"http://[::127.0.0.1]:{port}/",
        f"http://[64:ff9b::7f00:1]:{port}/",
        f"http://[2002:7f00:1::]:{port}/",
        f"http://2130706433:{port}/",
        f"http://0177.0.0.1:{port}/",
        f"http://0x7f.1:{port}/",
        f"http://0x7f000001:{port}/",
        f"http://127.1:{port}/",
        f"http://a@127.0.0.1:{port}/",
        f"http://user:secret@127.0.0.1:{port}/",
        f"http://0.0.0.0:{port}/",
        f"http://0:{port}/",
        f"http://[::]:{port}/",
        f"http://loopback-name.test:{port}/",
        f"https://loopback-name.test:{port}/",
        f"http://two-faced.test:{port}/",
    ]


@pytest.fixture
def attacker_names(monkeypatch):
    monkeypatch.setitem(dns.NAMES, "loopback-name.test", ["127.0.0.1"])
    # one public answer and one loopback answer: every answer must pass
    monkeypatch.setitem(dns.NAMES, "two-faced.test", ["8.8.8.8", "127.0.0.1"])


@pytest.mark.parametrize("purpose", ["scrape", "webhook"])
@pytest.mark.parametrize("index", range(len(_loopback_disguises(1))))
def test_loopback_in_every_disguise_is_refused_before_a_connection(
    nothing_allowed, attacker_names, server, purpose, index
):
    url = _loopback_disguises(server.port)[index]
    with pytest.raises(OutboundRefused):
        check_outbound_url(url, purpose)
    with pytest.raises(OutboundRefused), guarded_session(purpose) as session:
        session.get(url, timeout=2)
    assert server.connections == 0


@pytest.mark.parametrize("purpose", ["scrape", "webhook"])
@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[fd00:ec2::254]/latest/meta-data/", "metadata"),
        ("http://100.100.100.200/latest/meta-data/", "metadata"),
        ("http://2852039166/latest/meta-data/", "link-local"),  # 169.254.169.254 as a number
        ("http://0xa9.0xfe.0xa9.0xfe/", "link-local"),
        ("http://[::ffff:169.254.169.254]/", "link-local"),
        ("http://[fe80::1]/", "link-local"),
        ("http://224.0.0.251/", "multicast"),
        ("http://[ff02::1]/", "multicast"),
        ("http://255.255.255.255/", "reserved"),
        ("http://metadata.test/computeMetadata/v1/", "link-local"),
    ],
)
def test_metadata_link_local_and_multicast_are_refused_without_any_connect(
    monkeypatch, nothing_allowed, purpose, url, why
):
    monkeypatch.setitem(dns.NAMES, "metadata.test", ["169.254.169.254"])
    with pytest.raises(OutboundRefused, match=why):
        check_outbound_url(url, purpose)
    with pytest.raises(OutboundRefused, match=why), guarded_session(purpose) as session:
        session.get(url, timeout=2)  # no_foreign_connects fails the test if it tried


@pytest.mark.parametrize(
    "url",
    [
        "http://10.1.2.3/metrics",
        "http://172.16.0.9:9100/metrics",
        "http://192.168.1.20/metrics",
        "http://100.64.0.5/metrics",
        "http://[fc00::5]/metrics",
        "http://[::ffff:10.0.0.1]/metrics",
        "http://scanner.local/metrics",  # tests.support.dns: 10.20.0.7
    ],
)
def test_private_ranges_may_be_scraped_but_not_posted_to(settings, url):
    assert outbound_problem(url, "scrape") is None
    assert "private or reserved" in outbound_problem(url, "webhook")
    settings.HMS_OUTBOUND_ALLOW = env_networks(
        "HMS_TEST_UNSET_VARIABLE",
        "10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10, fc00::/7, scanner.local",
    )
    assert outbound_problem(url, "webhook") is None


def test_public_addresses_pass_for_both_purposes():
    for url in (
        "https://hooks.example.test.invalid/x",
        "http://8.8.8.8/",
        "http://[2001:4860::8888]/",
    ):
        for purpose in ("scrape", "webhook"):
            assert outbound_problem(url, purpose) is None  # unresolvable names pass at save


@pytest.mark.parametrize(
    "url", ["ftp://127.0.0.1/", "file:///etc/passwd", "gopher://127.0.0.1:6379/_INFO", "http://"]
)
def test_other_schemes_and_broken_urls_are_refused(url):
    with pytest.raises(OutboundRefused):
        check_outbound_url(url, "scrape")


@pytest.mark.parametrize("setting", ["REDIS_URL", "DATABASE_URL", "HMS_SQL_PROBE_DATABASE_URL"])
def test_the_apps_own_database_and_redis_are_refused_even_when_loopback_is_allowed(
    settings, server, setting
):
    assert settings.HMS_OUTBOUND_ALLOW == LOOPBACK_ALLOWED
    scheme = "redis" if setting == "REDIS_URL" else "postgres"
    setattr(settings, setting, f"{scheme}://app@127.0.0.1:{server.port}/0")
    for purpose in ("scrape", "webhook"):
        with pytest.raises(OutboundRefused, match=f"app's own {setting}"):
            check_outbound_url(f"http://127.0.0.1:{server.port}/", purpose)
        with pytest.raises(OutboundRefused), guarded_session(purpose) as session:
            session.post(f"http://localhost.:{server.port}/", data=b"FLUSHALL\r\n", timeout=2)
    assert server.connections == 0
    # another port on the same host is just a loopback peer the allow list covers
    assert outbound_problem(f"http://127.0.0.1:{server.port + 1}/", "scrape") is None


def test_the_real_test_database_and_redis_ports_are_refused(settings):
    for name in ("DATABASE_URL", "REDIS_URL"):
        url = getattr(settings, name, None)
        if not url or url.startswith("sqlite"):
            continue
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        with pytest.raises(OutboundRefused, match="app's own"):
            check_outbound_url(f"http://{parts.hostname}:{parts.port}/", "scrape")


def test_dns_rebinding_is_caught_on_the_address_the_connection_gets(
    monkeypatch, nothing_allowed, server
):
    answers = iter([["8.8.8.8"], ["127.0.0.1"]])
    monkeypatch.setitem(dns.NAMES, "rebind.test", lambda: next(answers))
    url = f"http://rebind.test:{server.port}/"
    assert outbound_problem(url, "webhook") is None  # at save: a public address
    with (
        pytest.raises(OutboundRefused, match="rebind.test: 127.0.0.1 is a loopback"),
        guarded_session("webhook") as session,
    ):
        session.post(url, data=b"{}", timeout=2)
    assert server.connections == 0


def test_the_connection_goes_to_the_address_that_was_checked(monkeypatch, server):
    """Resolved once, checked, connected to: a second, different answer is never used."""
    answers = iter([["127.0.0.1"], ["169.254.169.254"], ["169.254.169.254"]])
    monkeypatch.setitem(dns.NAMES, "pinned.test", lambda: next(answers))
    with guarded_session("scrape") as session:
        response = session.get(f"http://pinned.test:{server.port}/metrics", timeout=2)
    assert response.status_code == 200
    assert server.connections == 1
    assert server.hosts == [f"pinned.test:{server.port}"]  # Host header: the name


def test_a_redirect_is_not_followed():
    with CountingServer() as second:
        with CountingServer(302, {"Location": f"{second.url}/next"}) as first:
            with (
                pytest.raises(OutboundError, match="redirects are not followed"),
                guarded_session("webhook") as session,
            ):
                session.get(f"{first.url}/", timeout=2, allow_redirects=True)
            assert first.connections == 1
        assert second.connections == 0


def test_an_unknown_purpose_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown outbound purpose"):
        check_outbound_url("http://8.8.8.8/", "carrier-pigeon")


@pytest.mark.parametrize(
    "value", ["10.0.0.1/8", "300.1.1.1", "10.0.0.0/33", "::1/129", "not a host!", "a..b"]
)
def test_the_allow_list_refuses_bad_entries_at_start_up(monkeypatch, value):
    monkeypatch.setenv("HMS_OUTBOUND_ALLOW", f"127.0.0.1, {value}")
    with pytest.raises(ImproperlyConfigured, match="HMS_OUTBOUND_ALLOW"):
        env_networks("HMS_OUTBOUND_ALLOW")


def test_the_allow_list_reads_networks_addresses_and_names(monkeypatch):
    monkeypatch.setenv("HMS_OUTBOUND_ALLOW", " 10.0.0.0/8, 127.0.0.1 ,fd12::/16,Hooks.Internal., ")
    networks, hosts = env_networks("HMS_OUTBOUND_ALLOW")
    assert [str(n) for n in networks] == ["10.0.0.0/8", "127.0.0.1/32", "fd12::/16"]
    assert hosts == {"hooks.internal"}
