"""A private Prometheus (Debian's ``prometheus`` package) with backfilled history.

History is written as OpenMetrics and turned into TSDB blocks with
``promtool tsdb create-blocks-from openmetrics`` *before* the server starts,
so queries at a fixed ``time`` give deterministic answers.
"""

import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.support.services import free_port, wait_ready


@dataclass(frozen=True)
class Series:
    """One series: ``name{labels}`` with ``(unix_seconds, value)`` points in time order."""

    name: str
    points: list[tuple[int, float]]
    labels: tuple[tuple[str, str], ...] = ()

    def openmetrics_lines(self) -> Iterable[str]:
        label_text = ",".join(f'{k}="{v}"' for k, v in self.labels)
        selector = f"{self.name}{{{label_text}}}" if label_text else self.name
        for ts, value in self.points:
            yield f"{selector} {value!r} {int(ts)}"


def counter(name: str, *, start: int, end: int, step: int, per_step: float, labels=()) -> Series:
    """A counter rising by ``per_step`` every ``step`` seconds from ``start`` to ``end``."""
    points = [(ts, round(i * per_step, 6)) for i, ts in enumerate(range(start, end + 1, step))]
    return Series(name, points, tuple(labels))


def gauge(name: str, value: float, *, start: int, end: int, step: int, labels=()) -> Series:
    return Series(name, [(ts, value) for ts in range(start, end + 1, step)], tuple(labels))


def openmetrics(series: Iterable[Series]) -> str:
    lines: list[str] = []
    typed: set[str] = set()
    for s in series:
        if s.name not in typed:
            # "unknown" keeps the name exactly as written (no _total suffix games).
            lines.append(f"# TYPE {s.name} unknown")
            typed.add(s.name)
        lines.extend(s.openmetrics_lines())
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


def binaries_available() -> str | None:
    """``None`` when prometheus and promtool are installed, else what is missing."""
    missing = [b for b in ("prometheus", "promtool") if shutil.which(b) is None]
    return ", ".join(missing) or None


class PrometheusServer:
    def __init__(
        self,
        workdir: Path,
        series: Iterable[Series],
        *,
        scrape: str | None = None,
        rules: str | None = None,
        alertmanager: str | None = None,
        block_hours: int | None = None,
    ):
        """``scrape``: a loopback ``host:port`` whose ``/metrics`` is scraped every second;
        ``rules``: the text of a rule file, evaluated every second; ``alertmanager``: the
        loopback ``host:port`` its alerts are sent to."""
        self.workdir = workdir
        self.series = list(series)
        self.scrape = scrape
        self.rules = rules
        self.alertmanager = alertmanager
        # Months of history: a few large blocks instead of promtool's default 2 h ones.
        self.block_hours = block_hours
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> "PrometheusServer":
        tsdb = self.workdir / "tsdb"
        tsdb.mkdir(parents=True, exist_ok=True)
        data = self.workdir / "history.om"
        data.write_text(openmetrics(self.series), encoding="utf-8")
        size = [f"--max-block-duration={self.block_hours}h"] if self.block_hours else []
        subprocess.run(
            ["promtool", "tsdb", "create-blocks-from", "openmetrics", *size, str(data), str(tsdb)],
            check=True,
            capture_output=True,
            timeout=120,
        )
        config = self.workdir / "prometheus.yml"
        config.write_text(self._config())
        self.log = open(self.workdir / "prometheus.log", "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                "prometheus",
                f"--config.file={config}",
                f"--storage.tsdb.path={tsdb}",
                "--storage.tsdb.retention.time=3650d",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_ready(self.process, f"{self.url}/-/ready", self.read_log, "prometheus")
        return self

    def _config(self) -> str:
        lines = ["global:", "  scrape_interval: 1s", "  scrape_timeout: 1s"]
        lines.append("  evaluation_interval: 1s")
        if self.rules:
            rule_file = self.workdir / "rules.yml"
            rule_file.write_text(self.rules)
            lines += ["rule_files:", f"  - {rule_file}"]
        if self.alertmanager:
            lines += [
                "alerting:",
                "  alertmanagers:",
                f"    - static_configs: [{{targets: ['{self.alertmanager}']}}]",
            ]
        if not self.scrape:
            return "\n".join([*lines, "scrape_configs: []", ""])
        return "\n".join(
            [
                *lines,
                "scrape_configs:",
                "  - job_name: hms",
                "    metrics_path: /metrics",
                f"    static_configs: [{{targets: ['{self.scrape}']}}]",
                "",
            ]
        )

    def read_log(self) -> str:
        return (self.workdir / "prometheus.log").read_text(errors="replace")

    def query(self, promql: str, at: int) -> requests.Response:
        return requests.get(
            f"{self.url}/api/v1/query", params={"query": promql, "time": at}, timeout=10
        )

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
