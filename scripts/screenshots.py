"""``make screenshots``: the README's screenshots, taken from the demo as ``make run`` shows it.

Starts ``scripts/run.sh`` (web + worker + beat, embedded default: SQLite and the
filesystem broker) on a temporary var dir and a free 127.0.0.1 port, waits until
the worker has run the scanner's dry-run playbook steps, logs in with the
generated admin password, and saves ``docs/screenshots/{war-room,dashboard,
baseline,public}.png`` with Playwright on Debian's chromium (never
``playwright install``). The demo is stopped and its var dir removed afterwards.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
START_SECONDS = 240
# The scanner's playbook: scale_up and log_to at once, the page after 60 s still breached.
PLAYBOOK_SECONDS = 120
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(what: str, check, seconds: float, every: float = 0.5):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(every)
    raise SystemExit(f"screenshots: gave up waiting for {what} after {seconds:.0f} s")


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=2) as answer:  # noqa: S310 - loopback
            return answer.status == 200
    except OSError:
        return False


@contextmanager
def demo(var: Path, port: int):
    """``scripts/run.sh`` in its own process group, on the embedded default only."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(HMS_VAR_DIR=str(var), HMS_HOST="127.0.0.1", HMS_PORT=str(port))
    log = (var / "run.log").open("wb")
    process = subprocess.Popen(  # noqa: S603 - our own script, fixed arguments
        [str(ROOT / "scripts" / "run.sh")],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def playbook_done(page) -> bool:
    """Whether the scanner's tile shows no step still pending (the worker ran them)."""
    from playwright.sync_api import Error

    try:
        state = page.request.get("/war-room/state.json", timeout=10_000)
    except Error:  # a busy machine: a slow or reset answer; the next poll asks again
        return False
    if not state.ok:
        return False
    tiles = {tile["id"]: tile for tile in state.json()["tiles"]}
    incident = (tiles.get("DCA_Luggage_Scanner") or {}).get("incident") or {}
    steps = incident.get("timeline") or []
    return len(steps) >= 3 and all(step["status"] != "pending" for step in steps)


def shoot(url: str, password: str, out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    saved = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--disable-dev-shm-usage"]
        )
        context = browser.new_context(base_url=url, viewport=DESKTOP, device_scale_factor=1)
        page = context.new_page()
        page.goto("/login/?next=/dashboard/")
        page.fill("#id_username", "admin")
        page.fill("#id_password", password)
        page.click("button[type=submit]")
        page.wait_for_url("**/dashboard/")
        wait_for("the scanner's playbook steps", lambda: playbook_done(page), PLAYBOOK_SECONDS, 2)

        def save(name: str, path: str, settle_ms: int = 300, full_page: bool = True):
            page.goto(path)
            page.wait_for_selector(".uplot")
            page.wait_for_timeout(settle_ms)  # charts size themselves after layout
            target = out / f"{name}.png"
            page.screenshot(path=str(target), full_page=full_page)
            saved.append(target)

        # After at least one refresh (every 2.5 s): what people see while they watch it.
        save("war-room", "/war-room/", settle_ms=3500)
        save("dashboard", "/dashboard/")
        baseline = page.locator("a", has_text="scanner_queue_p95_seconds").first
        page.set_viewport_size({"width": DESKTOP["width"], "height": 1500})
        # The evidence, the 90-day chart and the latest runs (the table goes on for 50 rows).
        save("baseline", baseline.get_attribute("href"), full_page=False)
        public = browser.new_context(base_url=url, viewport=PHONE, device_scale_factor=1)
        page = public.new_page()
        save("public", "/public/")
        browser.close()
    return saved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--keep", action="store_true", help="keep the temporary var dir")
    args = parser.parse_args(argv)
    if not os.access(CHROMIUM, os.X_OK):
        print(f"screenshots: {CHROMIUM} not found (apt-get install chromium)", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    var = Path(tempfile.mkdtemp(prefix="hms-screenshots-"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    try:
        with demo(var, port) as process:
            wait_for(
                "the demo to answer /healthz",
                lambda: healthy(url) or process.poll() is not None,
                START_SECONDS,
            )
            if process.poll() is not None:
                print((var / "run.log").read_text(errors="replace")[-4000:], file=sys.stderr)
                return 1
            password_file = var / "admin-password"
            wait_for("the admin password", password_file.exists, 30)
            for path in shoot(url, password_file.read_text().strip(), args.out):
                print(f"  {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    finally:
        if args.keep:
            print(json.dumps({"var": str(var)}))
        else:
            shutil.rmtree(var, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
