"""A private Prometheus (Debian's 2.42) taking remote write, for the ``prometheus`` store.

Started on a free loopback port with ``--web.enable-remote-write-receiver`` and a tsdb
in a temporary directory. ``reset()`` restarts it on an empty tsdb at the same
address (well under a second), so each test starts from no samples while the
session keeps one server and one URL.

``out_of_order`` is the ``out_of_order_time_window`` of its configuration: the
session's server takes samples of any age (tests write history), a strict one
(``None``) refuses late samples as a default Prometheus does.

``requests_served(handler)`` reads the server's own
``prometheus_http_requests_total`` counter: how many requests a loopback peer really
received, to check that a read is one query per group.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import requests

from tests.support.services import free_port, wait_ready

WRITE_PATH = "/api/v1/write"


class RemoteWritePrometheus:
    def __init__(self, workdir: Path, *, out_of_order: str | None = "3650d"):
        self.workdir = workdir
        self.out_of_order = out_of_order
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.write_url = f"{self.url}{WRITE_PATH}"
        self.process: subprocess.Popen | None = None
        self.generation = 0

    def _config(self) -> str:
        lines = ["global:", "  scrape_interval: 15s", "scrape_configs: []"]
        if self.out_of_order:
            lines += ["storage:", "  tsdb:", f"    out_of_order_time_window: {self.out_of_order}"]
        return "\n".join([*lines, ""])

    def start(self) -> RemoteWritePrometheus:
        self.generation += 1
        tsdb = self.workdir / f"tsdb-{self.generation}"
        tsdb.mkdir(parents=True)
        config = self.workdir / "prometheus.yml"
        config.write_text(self._config())
        self.log = open(self.workdir / "prometheus.log", "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                "prometheus",
                f"--config.file={config}",
                f"--storage.tsdb.path={tsdb}",
                "--storage.tsdb.retention.time=3650d",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--web.enable-remote-write-receiver",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_ready(self.process, f"{self.url}/-/ready", self.read_log, "prometheus")
        return self

    def reset(self) -> RemoteWritePrometheus:
        """An empty server at the same address."""
        previous = self.workdir / f"tsdb-{self.generation}"
        self.stop()
        shutil.rmtree(previous, ignore_errors=True)
        return self.start()

    def read_log(self) -> str:
        return (self.workdir / "prometheus.log").read_text(errors="replace")

    def query(self, promql: str, at: float | None = None) -> list:
        params = {"query": promql} if at is None else {"query": promql, "time": at}
        answer = requests.get(f"{self.url}/api/v1/query", params=params, timeout=10)
        answer.raise_for_status()
        return answer.json()["data"]["result"]

    def requests_served(self, handler: str) -> int:
        """Requests this server answered on ``handler`` (e.g. ``/api/v1/query``) so far."""
        text = requests.get(f"{self.url}/metrics", timeout=10).text
        total = 0
        for line in text.splitlines():
            if line.startswith("prometheus_http_requests_total{") and (
                f'handler="{handler}"' in line
            ):
                total += int(float(line.rsplit(" ", 1)[1]))
        return total

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if getattr(self, "log", None):
            self.log.close()
