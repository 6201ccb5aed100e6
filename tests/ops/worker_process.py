"""A real ``celery -A hms_site worker --pool=solo`` subprocess, for the tests that SIGKILL one.

    worker = WorkerProcess(tmp_path, "doomed", SLACK_API_URL=slack.api_url, ...)
    ... worker.kill() ... worker.stop() (in ``finally``) ... worker.output() ...

It consumes this run's queue on Redis and opens this run's test database
(PostgreSQL: the SQLite test database of pytest-django is not shared this way);
``env`` adds what the test points it at (peers' URLs, short leases).
"""

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

from django.conf import settings

from tests.support.worker import subprocess_database_url

ROOT = Path(__file__).resolve().parents[2]


class WorkerProcess:
    def __init__(self, tmp_path: Path, name: str, **env: str):
        self.log_path = tmp_path / f"{name}.log"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "hms_site.settings",
            "SECRET_KEY": "worker-lost-test-" + "k" * 50,
            "DEBUG": "0",
            "DATABASE_URL": subprocess_database_url(),
            "REDIS_URL": settings.REDIS_URL,
            "HMS_CELERY_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
            "HMS_VAR_DIR": str(tmp_path / "var"),
            **env,
        }
        self.log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "hms_site", "worker",
                "--pool=solo", "--loglevel=INFO", "--without-mingle", "--without-gossip",
                "--hostname", f"{name}-{uuid.uuid4().hex[:6]}@%h",
            ],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.log.close()

    def output(self) -> str:
        return self.log_path.read_text()
