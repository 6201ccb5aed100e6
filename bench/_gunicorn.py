"""The real web server for the benchmarks: gunicorn with ``deploy/gunicorn.conf.py`` on 127.0.0.1.

The same config as ``scripts/start.sh web`` (workers, threads, access log), production
settings (``hms_site.settings``, DEBUG off), on the benchmark's scratch database.
"""

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import urllib3

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def gunicorn(workers: int | None = None, threads: int | None = None, **env):
    """Run gunicorn on the scratch database until the block ends; yields its base URL."""
    from django.db import connection

    settings = connection.settings_dict
    url = f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/{settings['NAME']}"
    port = free_port()
    (ROOT / "var" / "bench" / "static").mkdir(parents=True, exist_ok=True)
    environment = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "hms_site.settings",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(60),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "HMS_INGEST_RATE": "1000000/min",
        "HMS_VAR_DIR": str(ROOT / "var" / "bench"),
        "HMS_HOST": "127.0.0.1",
        "HMS_PORT": str(port),
        **({"HMS_WEB_WORKERS": str(workers)} if workers else {}),
        **({"HMS_WEB_THREADS": str(threads)} if threads else {}),
        **env,
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "hms_site.wsgi", "--config", "deploy/gunicorn.conf.py"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,  # the access log: written as in production, not kept
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(server, base)
        yield base
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _wait_ready(server: subprocess.Popen, base: str) -> None:
    pool = urllib3.PoolManager(retries=False)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode}")
        with contextlib.suppress(urllib3.exceptions.HTTPError):
            if pool.request("GET", f"{base}/healthz", timeout=5).status == 200:
                return
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer /healthz within 60 s")
