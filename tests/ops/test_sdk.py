"""ops_sdk against a live server: the seed's register, heartbeat and status snippets, unchanged."""

import gzip
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from rest_framework.authtoken.models import Token

import ops_sdk
from hms_sdk import Client
from ops.models import Sample, Service
from ops.services import register_service
from ops_sdk import drops
from ops_sdk.emitter import Emitter
from tests.factories import SCANNER_YAML, make_user, staff_alice
from tests.support.http_server import LoopbackServer, Reply, Script
from tests.support.services import free_port, wait_until

BASE = Path(settings.BASE_DIR)
SNIPPETS = BASE / "fixtures" / "sdk"


def sdk_env(live_server, token, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HMS_")}
    env.update(HMS_URL=live_server.url, HMS_TOKEN=token, PYTHONPATH=str(BASE), **extra)
    return env


@pytest.fixture
def alice_token(transactional_db):
    return Token.objects.create(user=staff_alice()).key


def run_snippet(name, env, cwd=SNIPPETS.parent):
    return subprocess.run(
        [sys.executable, str(SNIPPETS / name)],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_sdk_imports_without_django():
    code = "import sys, ops_sdk; assert 'django' not in sys.modules, 'django imported'"
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={"PATH": os.environ["PATH"], "PYTHONPATH": str(BASE)},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_seed_register_and_status_snippets_run_against_a_live_server(live_server, alice_token):
    env = sdk_env(live_server, alice_token)
    registered = run_snippet("register.py", env)
    assert registered.returncode == 0, registered.stderr
    assert registered.stdout.strip() == "✅ registered: DCA_Luggage_Scanner"
    assert Service.objects.get().source == SCANNER_YAML
    dashboard = run_snippet("dashboard.py", env)
    assert dashboard.returncode == 0, dashboard.stderr
    assert dashboard.stdout.strip() == "no_data"


def test_seed_heartbeat_loop_runs_unchanged_with_hms_service_configured(live_server, alice_token):
    register_service(SCANNER_YAML)
    env = sdk_env(live_server, alice_token, HMS_SERVICE="DCA_Luggage_Scanner")
    process = subprocess.Popen(
        [sys.executable, str(SNIPPETS / "heartbeat.py")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        wait_until(lambda: Sample.objects.count() >= 2, timeout=20, what="two heartbeats")
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=10)
    values = list(Sample.objects.values_list("value", flat=True))
    assert all(10 <= v <= 40 for v in values), values
    assert b"Traceback" not in stderr


def test_emits_buffered_at_exit_are_flushed(live_server, alice_token):
    register_service(SCANNER_YAML)
    code = (
        "import ops_sdk as ops\n"
        "for v in (11, 12, 13):\n"
        "    ops.emit('queue_time_seconds', v, service='DCA_Luggage_Scanner')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=sdk_env(live_server, alice_token),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert sorted(Sample.objects.values_list("value", flat=True)) == [11, 12, 13]


def test_emit_with_an_ingest_key_and_no_user_token(live_server, transactional_db):
    key = register_service(SCANNER_YAML).ingest_key
    code = "import ops_sdk as ops\nops.emit('queue_time_seconds', 21.5)\n"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HMS_")}
    env.update(HMS_URL=live_server.url, HMS_INGEST_KEY=key, PYTHONPATH=str(BASE))
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert list(Sample.objects.values_list("value", flat=True)) == [21.5]


def test_emit_never_blocks_on_a_slow_server_and_counts_what_it_drops():
    slow = Reply(201, {"accepted": 1}, delay=1.0)
    with LoopbackServer(lambda request: slow) as server:
        client = Client(server.url, "t")
        emitter = Emitter(client=client, service="svc", max_buffer=100, interval=0.05)
        started = time.monotonic()
        for i in range(1000):
            emitter.emit("queue_time_seconds", float(i))
        assert time.monotonic() - started < 0.5
        assert emitter.dropped >= 800
        assert emitter.pending <= 100 + emitter.batch_size
        assert emitter.flush(timeout=10)
    first = server.requests[0]
    assert first.headers["content-encoding"] == "gzip"
    body = json.loads(gzip.decompress(first.body))
    assert body["samples"][0]["service"] == "svc"
    assert emitter.sent + emitter.dropped == 1000
    told = [r.headers.get("x-hms-dropped") for r in server.requests]
    assert sum(int(t.removeprefix("svc=")) for t in told if t) == emitter.dropped


def test_a_lone_sample_leaves_within_the_linger_not_the_interval():
    """A breaching reading must not wait the idle interval: it leaves ~50 ms after emit()."""
    with LoopbackServer(lambda request: Reply(201, {"accepted": 1})) as server:
        emitter = Emitter(client=Client(server.url, "t"), service="svc", interval=30.0)
        emitter.emit("m", 1.0)  # starts the senders: they find the sample at once
        wait_until(lambda: emitter.sent == 1, timeout=5)
        time.sleep(0.2)  # the senders are idle now, waiting up to the interval for a sample
        started = time.monotonic()
        emitter.emit("m", 2.0)
        emitter.emit("m", 3.0)
        wait_until(lambda: emitter.sent == 3, timeout=5)
        assert time.monotonic() - started < 2.0  # not the 30 s interval
        assert len(server.requests) == 2  # the two lingered into one request
        emitter.close()


def test_failed_sends_are_retried_and_refused_batches_are_counted():
    replies = iter([Reply(503, {"detail": "busy"}), Reply(201, {"accepted": 2})])
    with LoopbackServer(lambda request: next(replies, Reply(400, {"samples": ["bad"]}))) as server:
        emitter = Emitter(client=Client(server.url, "t"), service="svc", interval=0.05)
        emitter.emit("m", 1.0)
        emitter.emit("m", 2.0)
        assert emitter.flush(timeout=10)
        assert (emitter.sent, emitter.rejected) == (2, 0)
        emitter.emit("m", 3.0)
        assert emitter.flush(timeout=10)
    assert (emitter.sent, emitter.rejected) == (2, 1)
    assert "HTTP 400" in emitter.last_error
    assert len(server.requests) == 3


def test_a_burst_is_delivered_whole_to_a_live_server(live_server, transactional_db):
    """30,000 samples emitted at once: every one stored, none dropped, gzip batches of 10,000."""
    key = register_service(SCANNER_YAML).ingest_key
    emitter = Emitter(client=Client(live_server.url, key), ingest_key=key, interval=0.05)
    for i in range(30_000):
        emitter.emit("queue_time_seconds", float(i % 40), ts=time.time() - 60 + i * 1e-3)
    assert emitter.flush(timeout=120), emitter.stats()
    stats = emitter.stats()
    assert (stats["sent"], stats["dropped"], stats["rejected"]) == (30_000, 0, 0)
    assert stats["requests"] <= 6  # full batches, not a request per interval
    assert Sample.objects.count() == 30_000
    assert Service.objects.get().sdk_dropped_samples == 0


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.records = []

    def emit(self, record):
        self.records.append(record)


def test_drops_while_the_server_is_down_are_counted_then_told_to_the_server(
    live_server, transactional_db, monkeypatch
):
    # On the SDK's own logger: an in-process Celery worker of an earlier test may have
    # taken the root logger's handlers (caplog's among them) or disabled this one.
    seen = _Records()
    sdk_log = logging.Logger("ops_sdk test")  # whatever earlier tests did to logging
    sdk_log.addHandler(seen)
    monkeypatch.setattr(drops, "log", sdk_log)
    key = register_service(SCANNER_YAML).ingest_key
    client = Client(f"http://127.0.0.1:{free_port()}", key)  # nothing listens: down
    emitter = Emitter(client=client, ingest_key=key, max_buffer=100, interval=0.05, senders=1)
    start = time.time() - 60
    for i in range(250):  # each at its own millisecond: a (series, ts) pair is one reading
        emitter.emit("queue_time_seconds", float(i % 40), ts=start + i / 1000)
    assert not emitter.flush(timeout=0.5)
    stats = emitter.stats()
    assert stats["sent"] == 0 and stats["dropped"] >= 150
    assert stats["dropped"] + stats["pending"] == 250
    assert stats["dropped_unreported"] == {"": stats["dropped"]}  # the key's own service
    assert "ConnectionError" in stats["last_error"]
    assert any("buffer full" in r.getMessage() for r in seen.records)

    client.url = live_server.url  # the server comes back
    assert emitter.flush(timeout=60), emitter.stats()
    after = emitter.stats()
    assert after["sent"] + after["dropped"] == 250 and after["dropped_unreported"] == {}
    assert Sample.objects.count() == after["sent"]
    assert Service.objects.get().sdk_dropped_samples == after["dropped"]
    scraped = Client(live_server.url, "unused").session.get(f"{live_server.url}/metrics").text
    line = f'hms_sdk_dropped_samples_total{{service="DCA_Luggage_Scanner"}} {after["dropped"]}.0'
    assert line in scraped.splitlines()


def test_a_429_is_waited_out_for_its_retry_after_then_sent():
    script = Script(
        Reply(429, {"detail": "slow down"}, headers={"Retry-After": "2"}),
        Reply(201, {"accepted": 1}),
    )
    arrivals = []

    def answer(request):
        arrivals.append(time.monotonic())
        return script(request)

    with LoopbackServer(answer) as server:
        emitter = Emitter(client=Client(server.url, "t"), service="svc", interval=0.05)
        emitter.emit("m", 1.0)
        assert emitter.flush(timeout=10)
    assert emitter.sent == 1 and len(arrivals) == 2
    assert arrivals[1] - arrivals[0] >= 2.0  # the back-off's 1 s would be sooner


def test_emit_refuses_bad_values_and_a_missing_service_at_the_call():
    emitter = Emitter(client=Client(f"http://127.0.0.1:{free_port()}", "t"))
    with pytest.raises(ValueError, match="no service"):
        emitter.emit("queue_time_seconds", 1.0)
    with pytest.raises(ValueError, match="finite"):
        ops_sdk.emit("queue_time_seconds", float("nan"), service="svc")


def test_register_makes_the_registered_service_the_default_for_emit(live_server, alice_token):
    code = (
        "import ops_sdk as ops\n"
        "svc = ops.register('fixtures/scanner.ops.yaml')\n"
        "ops.emit('queue_time_seconds', 38)\n"
        "assert ops.flush(10), ops.emitter().last_error\n"
        "print(svc.id)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=sdk_env(live_server, alice_token),
        cwd=BASE,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "DCA_Luggage_Scanner"
    sample = Sample.objects.select_related("series").get()
    assert (sample.series.service_id, sample.value) == ("DCA_Luggage_Scanner", 38)


def test_dta_find_reads_the_audit_vault_by_topic(live_server, transactional_db):
    register_service(SCANNER_YAML, actor="hms_demo")
    auditor = Token.objects.create(
        user=make_user("auditor_erin", perms=("ops.view_auditentry",))
    ).key
    client = Client(live_server.url, auditor)
    found = ops_sdk.dta.find(topic="ops.service", client=client)
    assert [e["topic"] for e in found] == ["ops.service"]
    assert found[0]["payload"]["service"] == "DCA_Luggage_Scanner"
    assert ops_sdk.dta.find(topic="ops.incident", client=client) == []
    assert ops_sdk.dta.verify(client=client)["ok"] is True


SEED_CALLS = """
import sys
import ops_sdk as ops
from hms_apm import Baseline, Escalate, HmsAct, Watchdog
from ops_sdk import dta

assert "django" not in sys.modules
svc = ops.register("fixtures/scanner.ops.yaml")
print("registered:", svc.id)
ops.emit("queue_time_seconds", 38)
assert ops.flush(10), ops.emitter().last_error
print(ops.status("DCA_Luggage_Scanner")["slo_state"])

wait_time = Baseline.create(
    program="fast-track-housing",
    name="scanner_queue_p95_seconds",
    target_value=25,  # the demo's readings run 12-38 s: p95 about 37, 48 % worse
    compare_op="le",
    probe_kind="metric",
    probe_query='p95(queue_time_seconds{service="DCA_Luggage_Scanner"}[24h])',
)

@Watchdog.schedule(cron="*/30 * * * *")
def check_queue():
    return Watchdog.compare(baseline_id=wait_time.id)

score = check_queue()
if score > 20:
    Escalate.send(baseline_id=wait_time.id, message=f"off by {score:.1f}%", level="critical")
    HmsAct.open_ticket(wait_time.id, f"off by {score:.1f}%", severity="critical")
print("runs:", len(Watchdog.run_once()))
print("escalations audited:", len(dta.find(topic="apm.escalation")))
"""


@pytest.fixture(scope="module")
def sdk_alone(tmp_path_factory):
    """A fresh virtualenv with nothing but ``pip install ./sdk``."""
    venv = tmp_path_factory.mktemp("sdk") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    installed = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", str(BASE / "sdk")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    return python


def test_the_sdk_distribution_installs_alone_without_django(sdk_alone):
    listed = subprocess.run(
        [str(sdk_alone), "-m", "pip", "list", "--format=freeze"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.lower()
    assert "hms-sdk==" in listed
    assert "django" not in listed and "celery" not in listed and "kubernetes" not in listed
    no_django = subprocess.run([str(sdk_alone), "-c", "import django"], capture_output=True)
    assert no_django.returncode != 0


def test_the_seeds_sdk_calls_run_from_the_sdk_alone_against_a_demo_server(
    sdk_alone, live_server, transactional_db
):
    from django.contrib.auth.models import User
    from django.core.management import call_command

    from apm.models import Baseline, Deviation, Escalation, Ticket

    call_command("hms_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    admin = User.objects.create_superuser("admin", "admin@example.org", "pw")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HMS_", "PYTHON"))}
    env.update(HMS_URL=live_server.url, HMS_TOKEN=Token.objects.create(user=admin).key)
    result = subprocess.run(
        [str(sdk_alone), "-c", SEED_CALLS],
        cwd=BASE,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert lines[0] == "registered: DCA_Luggage_Scanner"
    baseline = Baseline.objects.get(
        program__code="fast-track-housing", name="scanner_queue_p95_seconds"
    )
    assert baseline.schedule == "*/30 * * * *"  # @Watchdog.schedule set it on the server
    assert Deviation.objects.filter(baseline=baseline, status="breach").exists()
    assert Escalation.objects.get(baseline=baseline).level == "critical"
    assert Ticket.objects.filter(baseline=baseline, kind="escalation").count() == 1
    assert int(lines[-1].rsplit(" ", 1)[1]) >= 1
