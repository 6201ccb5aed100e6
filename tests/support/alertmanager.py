"""A private Alertmanager (Debian's ``prometheus-alertmanager``) on a free loopback port,
with gossip off, sending every notification to one webhook at once."""

import shutil
import subprocess
from pathlib import Path

from tests.support.services import free_port, wait_ready

BINARY = "prometheus-alertmanager"


def binary_available() -> bool:
    return shutil.which(BINARY) is not None


class AlertmanagerServer:
    def __init__(self, workdir: Path, *, webhook_url: str, bearer: str):
        self.workdir = workdir
        self.webhook_url = webhook_url
        self.bearer = bearer
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.address}"
        self.process: subprocess.Popen | None = None

    def _config(self) -> str:
        return (
            "route: {receiver: hms, group_by: [alertname, service], group_wait: 1s,"
            " group_interval: 1s, repeat_interval: 1h}\n"
            "receivers:\n"
            "  - name: hms\n"
            "    webhook_configs:\n"
            f"      - url: {self.webhook_url}\n"
            "        send_resolved: true\n"
            "        http_config:\n"
            f"          authorization: {{type: Bearer, credentials: {self.bearer}}}\n"
        )

    def start(self) -> "AlertmanagerServer":
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "am.yml"
        config.write_text(self._config())
        self.log = open(self.workdir / "alertmanager.log", "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                BINARY,
                f"--config.file={config}",
                f"--storage.path={self.workdir / 'data'}",
                f"--web.listen-address={self.address}",
                "--cluster.listen-address=",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_ready(self.process, f"{self.url}/-/ready", self.read_log, "alertmanager")
        return self

    def read_log(self) -> str:
        return (self.workdir / "alertmanager.log").read_text(errors="replace")

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
