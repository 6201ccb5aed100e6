"""A private ``redis-server`` on a free loopback port, for fault tests that stop it.

It keeps nothing on disk (like the machine's own Redis), so a restart empties
every queue: exactly the failure the outbox must survive.
"""

import shutil
import subprocess
import time
from pathlib import Path

import redis

from tests.support.services import free_port, require


class PrivateRedis:
    def __init__(self, workdir: Path):
        if shutil.which("redis-server") is None:
            require("redis-server", "not installed (apt-get install redis-server)")
        self.workdir = workdir
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> "PrivateRedis":
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(self.url, socket_connect_timeout=0.5).ping()
                return self
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def restart(self) -> None:
        self.kill()
        self.start()

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.kill()
