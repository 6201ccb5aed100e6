"""The README's commands and code blocks, run as written.

- Every ``python manage.py ...`` line of the Commands table runs in a plain shell
  (no DEBUG, no SECRET_KEY, the system's ``python``) against the var/ that
  ``make run`` prepares, and exits 0.
- The README's Python blocks run unchanged, in a fresh interpreter, against a live
  server with the demo loaded (``HMS_URL`` / ``HMS_TOKEN`` as the README says).
"""

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from rest_framework.authtoken.models import Token

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
# The Commands table's placeholders, and what a new user would type for them.
PLACEHOLDERS = {"FILE.ops.yaml": "fixtures/scanner.ops.yaml", "USER": "admin"}


def readme_commands() -> list[str]:
    section = README.split("## Commands", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"^\| `(python manage\.py [^`]+)` \|", section, re.M)
    cleaned = []
    for command in commands:
        command = re.sub(r"\s*\[[^\]]*\]", "", command)  # optional arguments left out
        cleaned.append(" ".join(PLACEHOLDERS.get(word, word) for word in command.split()))
    return cleaned


def readme_python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README, re.S)


def plain_shell(var_dir: Path) -> dict:
    """A new terminal: nothing of make run's environment but where its var/ is."""
    keep = {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYENV_ROOT", "PYENV_VERSION"}
    env = {k: v for k, v in os.environ.items() if k in keep}
    env["HMS_VAR_DIR"] = str(var_dir)
    return env


@pytest.fixture(scope="module")
def made_run(tmp_path_factory):
    """The var/ ``make run`` leaves: its secret key, demo ledger, database, demo and admin."""
    var = tmp_path_factory.mktemp("var")
    generate = "import secrets; print(secrets.token_urlsafe(64))"
    (var / "secret-key").write_text(
        subprocess.run([sys.executable, "-c", generate], capture_output=True, text=True).stdout
    )
    ledger = [sys.executable, "-m", "apm.demo_ledger", str(var / "demo-ledger.sqlite3")]
    subprocess.run(ledger, cwd=ROOT, check=True, capture_output=True)
    env = {**plain_shell(var), "DEBUG": "1"}  # run.sh's own environment
    for step in (
        ["migrate", "--noinput", "-v0"],
        ["hms_demo"],
        ["hms_admin", "--password-file", str(var / "admin-password")],
    ):
        done = subprocess.run(
            [sys.executable, "manage.py", *step], cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr[-3000:]
    return var


def test_the_commands_table_is_found():
    assert len(readme_commands()) >= 6
    assert "python manage.py hms_token admin" in readme_commands()


@pytest.mark.parametrize("command", readme_commands())
def test_each_readme_command_works_in_a_plain_shell_after_make_run(command, made_run):
    env = plain_shell(made_run)
    python = shutil.which("python", path=env["PATH"]) or sys.executable
    argv = shlex.split(command)
    result = subprocess.run(
        [python, *argv[1:]], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, f"{command}:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    assert "Traceback" not in result.stderr, result.stderr[-3000:]


@pytest.fixture
def demo_server(live_server, transactional_db):
    """A live server with the demo loaded and evaluated once, as make run's beat would."""
    from django.contrib.auth.models import User

    from ops.slo import evaluate_all

    call_command("hms_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    evaluate_all()
    admin = User.objects.create_superuser("admin", "admin@example.org", "pw")
    return live_server.url, Token.objects.create(user=admin).key


def test_the_readmes_python_blocks_run_unchanged_against_the_demo(demo_server):
    from apm.models import Baseline, Deviation

    url, token = demo_server
    blocks = readme_python_blocks()
    assert len(blocks) >= 2
    env = {k: v for k, v in os.environ.items() if not k.startswith("HMS_")}
    env.update(HMS_URL=url, HMS_TOKEN=token)
    outputs = []
    for block in blocks:
        result = subprocess.run(
            [sys.executable, "-c", block], cwd=ROOT, env=env, capture_output=True, text=True,
            timeout=120,
        )  # fmt: skip
        assert result.returncode == 0, f"{block}\n---\n{result.stderr[-3000:]}"
        outputs.append(result.stdout)

    assert outputs[0].splitlines()[0] == "breached"  # the demo's scanner is slow
    assert re.fullmatch(r"\d+ audit entries", outputs[0].splitlines()[1])
    assert re.search(r"^Deviation: -?\d", outputs[1], re.M)
    created = Baseline.objects.get(program__code="fast-track-housing", name__contains="portal")
    assert created.probe_kind == "metric"
    assert Deviation.objects.get(baseline=created).status == "ok"  # a true reading, not an error
