"""The README's run command on the embedded default (SQLite + filesystem broker).

Starts ``scripts/run.sh`` in a scratch ``HMS_VAR_DIR`` on a free port and checks
what a new user sees: the banner the README shows, the admin login page, the API
docs, ``/healthz`` ok, a beat tick that reaches the worker through the filesystem
broker, and a Ctrl-C that stops everything at once without a traceback. A busy
port is refused before anything starts.
"""

import contextlib
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

from tests.support.services import free_port, require, wait_until

ROOT = Path(__file__).resolve().parents[2]
# What a clean Ctrl-C may take: web, worker and beat each stop in about a second.
STOP_SECONDS = 5


def _product_env(tmp_path, port):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "SECRET_KEY", "DEBUG"}
    }
    env.update(HMS_VAR_DIR=str(tmp_path / "var"), HMS_PORT=str(port), HMS_HEARTBEAT_SECONDS="1")
    return env


@pytest.fixture
def running_product(tmp_path):
    port = free_port()
    env = _product_env(tmp_path, port)
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
        yield f"http://127.0.0.1:{port}", output, tmp_path / "var", process
    finally:
        _stop_group(process)
        log.close()


def _stop_group(process) -> float:
    """Ctrl-C: SIGINT to the whole process group, as a terminal sends it; the seconds
    until every process of the group is gone. Kills leftovers (and fails) after 30 s."""
    started = time.monotonic()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGINT)
    while time.monotonic() - started < 30:
        process.poll()  # reap run.sh itself
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return time.monotonic() - started  # the whole group is gone: a clean stop
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    raise AssertionError("run.sh left processes running 30 s after Ctrl-C")


def _readme_banner() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```\n(  HMS Monitor is running\.\n.*?)```", readme, re.S).group(1)
    return [line for line in block.splitlines() if line.strip()]


def test_run_command_serves_the_product_and_beat_reaches_the_worker(running_product):
    url, output, var, process = running_product
    banner = output()
    assert f"URL:    {url}/admin/" in banner
    # The banner is the README's, line by line (its <placeholders> are the generated values).
    printed = banner.splitlines()
    for line in _readme_banner():
        parts = re.split(r"<[^>]*>", line.replace("http://127.0.0.1:8000", url))
        pattern = r"\S+".join(re.escape(part) for part in parts)
        assert any(re.fullmatch(pattern, p) for p in printed), f"README banner line {line!r}"
    password = re.search(r"Login:  admin / (\S+)", banner).group(1)
    token = re.search(r"Token:  (\S+)", banner).group(1)
    assert requests.get(f"{url}/api/v1/", headers={"Authorization": f"Token {token}"}, timeout=5).ok
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

    # Ctrl-C: web, worker and beat stop at once, cleanly.
    seconds = _stop_group(process)
    log = output()[len(banner) :]
    assert seconds < STOP_SECONDS, f"Ctrl-C took {seconds:.1f} s:\n{log[-3000:]}"
    assert "Traceback" not in log, log[-5000:]
    assert "SIGKILL" not in log, log[-3000:]
    assert "Worker exiting" in log and "Shutting down: Master" in log  # gunicorn stopped
    assert "Warm shutdown" in log  # the Celery worker finished its tasks first


def test_a_busy_port_is_refused_at_once_naming_it(tmp_path):
    port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        started = time.monotonic()
        result = subprocess.run(
            ["scripts/run.sh"],
            cwd=ROOT,
            env=_product_env(tmp_path, port),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode != 0
    assert f"port {port} on 127.0.0.1 is in use" in result.stderr
    assert "HMS Monitor is running" not in result.stdout
    assert time.monotonic() - started < 10
    assert not (tmp_path / "var").exists(), "nothing may start before the port is checked"


@pytest.fixture
def scratch_postgres():
    """A database of its own on the PostgreSQL of DATABASE_URL, dropped afterwards."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        require("PostgreSQL", "DATABASE_URL is not a postgres:// URL")
    if not os.environ.get("REDIS_URL"):
        require("Redis", "REDIS_URL is not set")
    import psycopg

    base = url.rsplit("/", 1)[0]
    name = f"{url.rsplit('/', 1)[1]}_start_{os.getpid()}"
    with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.services
def test_the_start_script_runs_migrate_web_worker_and_beat_on_postgres_and_redis(
    tmp_path, scratch_postgres
):
    """What systemd and the container run: scripts/start.sh ROLE, production settings."""
    import redis

    port = free_port()
    queue = f"hms_start_test_{os.getpid()}"  # its own queue: nothing left for other tests
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE", "DEBUG"}}
    env.update(
        DATABASE_URL=scratch_postgres,
        SECRET_KEY="start-script-test-" + "k" * 60,
        ALLOWED_HOSTS="127.0.0.1",
        HMS_VAR_DIR=str(tmp_path / "var"),
        HMS_PORT=str(port),
        HMS_HEARTBEAT_SECONDS="1",
        HMS_CELERY_QUEUE=queue,
    )
    migrate = subprocess.run(
        ["scripts/start.sh", "migrate"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    assert (tmp_path / "var" / "static" / "admin").is_dir()  # collectstatic ran

    logs, processes = {}, {}
    try:
        for role in ("worker", "beat", "web"):
            logs[role] = open(tmp_path / f"{role}.log", "w+")  # noqa: SIM115 - closed below
            processes[role] = subprocess.Popen(
                ["scripts/start.sh", role],
                cwd=ROOT,
                env=env,
                stdout=logs[role],
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

        def healthy():
            try:
                body = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).json()
            except requests.RequestException:
                return None
            return body if body["checks"].get("worker", {}).get("ok") else None

        health = wait_until(healthy, timeout=120, interval=0.5, what="web + beat -> worker")
        assert health["status"] == "ok"
        assert health["checks"]["database"]["vendor"] == "postgresql"
        assert health["checks"]["broker"]["transport"] == "redis"

        # SIGTERM, as systemd and docker stop them: each exits cleanly, at once.
        for role, process in processes.items():
            started = time.monotonic()
            process.terminate()
            assert process.wait(timeout=30) == 0, role
            assert time.monotonic() - started < STOP_SECONDS, role
        for role, log in logs.items():
            log.flush()
            text = (tmp_path / f"{role}.log").read_text(errors="replace")
            assert "Traceback" not in text, f"{role}:\n{text[-3000:]}"
            assert "SIGKILL" not in text, f"{role}:\n{text[-3000:]}"
    finally:
        for process in processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        for log in logs.values():
            log.close()
        redis.Redis.from_url(os.environ["REDIS_URL"]).delete(queue)
