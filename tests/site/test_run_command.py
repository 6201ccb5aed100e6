"""The README's run command on the embedded default (SQLite + filesystem broker).

Starts ``scripts/run.sh`` in a scratch ``HMS_VAR_DIR`` on a free port and checks
what a new user sees: the admin login page, the API docs, ``/healthz`` ok, and a
beat tick that reaches the worker through the filesystem broker.
"""

import contextlib
import os
import re
import signal
import subprocess
from pathlib import Path

import pytest
import requests

from tests.support.services import free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def running_product(tmp_path):
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "SECRET_KEY", "DEBUG"}
    }
    env.update(HMS_VAR_DIR=str(tmp_path / "var"), HMS_PORT=str(port), HMS_HEARTBEAT_SECONDS="1")
    log = open(tmp_path / "run.log", "w+")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        ["scripts/run.sh"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )

    def output():
        log.flush()
        return (tmp_path / "run.log").read_text(errors="replace")

    try:
        wait_until(
            lambda: "HMS Monitor is running" in output() or process.poll() is not None,
            timeout=180,
            what="the run command to print its banner",
        )
        assert process.poll() is None, output()[-3000:]
        yield f"http://127.0.0.1:{port}", output, tmp_path / "var"
    finally:
        _stop_group(process)
        log.close()


def _stop_group(process):
    """Stop run.sh as Ctrl-C would; it stops web, worker and beat. Kill leftovers."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=30)
    try:
        os.killpg(process.pid, 0)
    except ProcessLookupError:
        return  # the whole group is gone: a clean stop
    os.killpg(process.pid, signal.SIGKILL)
    raise AssertionError("run.sh left processes running after Ctrl-C")


def test_run_command_serves_the_product_and_beat_reaches_the_worker(running_product):
    url, output, var = running_product
    banner = output()
    assert f"URL:    {url}/admin/" in banner
    password = re.search(r"Login:  admin / (\S+)", banner).group(1)
    assert (var / "hms.sqlite3").exists()
    assert (var / "broker" / "queue").is_dir()

    session = requests.Session()
    login = session.get(f"{url}/admin/login/", timeout=5)
    assert login.status_code == 200
    assert "HMS Monitor" in login.text
    answer = session.post(
        f"{url}/admin/login/",
        data={
            "username": "admin",
            "password": password,
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
            "next": "/admin/",
        },
        timeout=5,
    )
    assert answer.url.endswith("/admin/"), "the printed login did not work"
    assert session.get(f"{url}/api/docs/", timeout=5).status_code == 200
    assert (
        session.get(
            f"{url}/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css", timeout=5
        ).status_code
        == 200
    )

    health = requests.get(f"{url}/healthz", timeout=5).json()
    assert health["status"] == "ok"
    assert health["checks"]["broker"]["transport"] == "filesystem"

    def worker_ok():
        return requests.get(f"{url}/healthz", timeout=5).json()["checks"]["worker"]["ok"]

    # beat (DatabaseScheduler) → filesystem broker → worker → database → /healthz
    wait_until(worker_ok, timeout=60, interval=0.5, what="a beat-scheduled heartbeat")
