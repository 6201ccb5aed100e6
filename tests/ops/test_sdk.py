"""ops_sdk against a live server: the seed's register, heartbeat and status snippets, unchanged."""

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
from ops_sdk.emitter import Emitter
from tests.factories import SCANNER_YAML, staff_alice
from tests.support.http_server import LoopbackServer, Reply
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
    body = server.requests[0].json()
    assert body["samples"][0]["service"] == "svc"
    assert emitter.sent + emitter.dropped == 1000


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


def test_emit_refuses_bad_values_and_a_missing_service_at_the_call():
    emitter = Emitter(client=Client(f"http://127.0.0.1:{free_port()}", "t"))
    with pytest.raises(ValueError, match="no service"):
        emitter.emit("queue_time_seconds", 1.0)
    with pytest.raises(ValueError, match="finite"):
        ops_sdk.emit("queue_time_seconds", float("nan"), service="svc")
