"""Bad settings stop start-up with a message that names the variable."""

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from hms_site.env import env_bool, env_float, env_int, env_str, env_url

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("raw,expected", [("1", True), ("true", True), ("off", False), ("", False)])
def test_env_bool_accepts_the_usual_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("HMS_FLAG", raw)
    assert env_bool("HMS_FLAG", not expected) is expected


def test_env_bool_refuses_maybe_naming_the_variable(monkeypatch):
    monkeypatch.setenv("DEBUG", "maybe")
    with pytest.raises(ImproperlyConfigured, match=r"DEBUG='maybe' is not a boolean"):
        env_bool("DEBUG", False)


def test_env_int_and_float_refuse_garbage(monkeypatch):
    monkeypatch.setenv("HMS_N", "ten")
    with pytest.raises(ImproperlyConfigured, match="HMS_N='ten' is not an integer"):
        env_int("HMS_N", 1)
    monkeypatch.setenv("HMS_X", "nan")
    with pytest.raises(ImproperlyConfigured, match="HMS_X='nan' must be a finite number"):
        env_float("HMS_X", 1.0)


def test_env_url_refuses_wrong_scheme_and_bad_port(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "mysql://db/x")
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL=.*scheme must be one of"):
        env_url("DATABASE_URL", None, schemes=("postgres", "sqlite"))
    monkeypatch.setenv("DATABASE_URL", "postgres://u@host:port/db")
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL=.*not a valid URL"):
        env_url("DATABASE_URL", None, schemes=("postgres",))


def test_secret_may_come_from_a_file(monkeypatch, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("s3cret\n")
    monkeypatch.setenv("SLACK_BOT_TOKEN_FILE", str(secret))
    assert env_str("SLACK_BOT_TOKEN") == "s3cret"


def _manage_check(**env):
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "DEBUG", "SECRET_KEY"}
    }
    clean.pop("DJANGO_SETTINGS_MODULE", None)
    # A var/ of its own: the checkout's may hold make run's generated secret-key.
    clean["HMS_VAR_DIR"] = tempfile.mkdtemp(prefix="hms-settings-")
    clean.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "env,named",
    [
        ({"DEBUG": "maybe"}, "DEBUG='maybe'"),
        ({"DEBUG": "1", "DATABASE_URL": "postgres://u@db:notaport/x"}, "DATABASE_URL="),
        ({"DEBUG": "1", "REDIS_URL": "http://127.0.0.1:6379"}, "REDIS_URL="),
        ({"DEBUG": "0"}, "SECRET_KEY must be set"),
        ({"DEBUG": "1", "HMS_KUBE_TIMEOUT_SECONDS": "soon"}, "HMS_KUBE_TIMEOUT_SECONDS='soon'"),
        ({"DEBUG": "1", "HMS_KUBE_TIMEOUT_SECONDS": "0"}, "HMS_KUBE_TIMEOUT_SECONDS=0.0"),
        ({"DEBUG": "1", "HMS_VALIDATION_MAX_AGE_DAYS": "a year"}, "HMS_VALIDATION_MAX_AGE_DAYS="),
        ({"DEBUG": "1", "HMS_VALIDATION_MAX_AGE_DAYS": "0"}, "HMS_VALIDATION_MAX_AGE_DAYS=0"),
        ({"DEBUG": "1", "HMS_METRICS_STORE": "influx"}, "HMS_METRICS_STORE='influx'"),
        ({"DEBUG": "1", "HMS_METRIC_PARTITIONS_AHEAD": "0"}, "HMS_METRIC_PARTITIONS_AHEAD=0"),
        (
            {"DEBUG": "1", "HMS_SLO_HANDOFF_GRACE_SECONDS": "0.5"},
            "HMS_SLO_HANDOFF_GRACE_SECONDS=0.5",
        ),
        ({"DEBUG": "1", "HMS_SLO_HANDOFF_MAX_ATTEMPTS": "0"}, "HMS_SLO_HANDOFF_MAX_ATTEMPTS=0"),
        ({"DEBUG": "1", "HMS_SLO_HANDOFF_MAX_ATTEMPTS": "many"}, "HMS_SLO_HANDOFF_MAX_ATTEMPTS="),
        ({"DEBUG": "1", "HMS_FISCAL_YEAR_START_MONTH": "13"}, "HMS_FISCAL_YEAR_START_MONTH=13"),
        ({"DEBUG": "1", "HMS_FISCAL_YEAR_START_MONTH": "0"}, "HMS_FISCAL_YEAR_START_MONTH=0"),
        ({"DEBUG": "1", "HMS_FISCAL_YEAR_START_MONTH": "oct"}, "HMS_FISCAL_YEAR_START_MONTH='oct'"),
    ],
)
def test_bad_settings_stop_start_up_naming_the_variable(env, named):
    result = _manage_check(**env)
    assert result.returncode != 0
    assert named in result.stderr


def test_good_settings_start():
    result = _manage_check(DEBUG="1")
    assert result.returncode == 0, result.stderr


def test_the_embedded_sqlite_database_runs_in_write_ahead_log_mode(tmp_path):
    """Web, worker and beat share the file: readers go on while one writes."""
    clean = {
        k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE"}
    }
    clean.update(DEBUG="1", HMS_VAR_DIR=str(tmp_path))
    script = (
        "from django.db import connection\n"
        "with connection.cursor() as c:\n"
        "    c.execute('PRAGMA journal_mode')\n"
        "    print(connection.vendor, c.fetchone()[0])\n"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-v", "0", "-c", script],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["sqlite", "wal"]
    assert (tmp_path / "hms.sqlite3").exists()


def test_a_lease_not_above_the_kubernetes_timeout_is_refused_naming_both():
    """The lease takes a run from a dead worker; a live one waiting on a call must not lose it."""
    result = _manage_check(
        DEBUG="1", HMS_PLAYBOOK_LEASE_SECONDS="10", HMS_KUBE_TIMEOUT_SECONDS="10"
    )
    assert result.returncode != 0
    assert "HMS_PLAYBOOK_LEASE_SECONDS=10.0" in result.stderr
    assert "HMS_KUBE_TIMEOUT_SECONDS=10.0" in result.stderr
    shorter = _manage_check(
        DEBUG="1", HMS_PLAYBOOK_LEASE_SECONDS="10", HMS_KUBE_TIMEOUT_SECONDS="2"
    )
    assert shorter.returncode == 0, shorter.stderr


def _settings_value(var_dir, name, **env):
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "DEBUG", "SECRET_KEY", "DJANGO_SETTINGS_MODULE"}
    }
    clean.update(HMS_VAR_DIR=str(var_dir), **env)
    script = f"from django.conf import settings; print(settings.{name})"
    return subprocess.run(
        [sys.executable, "manage.py", "shell", "-v", "0", "-c", script],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_manage_py_in_a_plain_shell_reads_the_key_make_run_generated(tmp_path):
    key = "generated-by-make-run-" + "q" * 50
    (tmp_path / "secret-key").write_text(key + "\n")
    plain = _settings_value(tmp_path, "SECRET_KEY")  # no DEBUG, no SECRET_KEY set
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.strip() == key
    assert _settings_value(tmp_path, "SECRET_KEY", DEBUG="1").stdout.strip() == key
    explicit = "from-the-environment-" + "e" * 50
    assert _settings_value(tmp_path, "SECRET_KEY", SECRET_KEY=explicit).stdout.strip() == explicit


def test_a_short_generated_key_is_refused_like_any_other(tmp_path):
    (tmp_path / "secret-key").write_text("short")
    result = _settings_value(tmp_path, "SECRET_KEY")
    assert result.returncode != 0
    assert "SECRET_KEY must be at least 50 random characters" in result.stderr


def _names_read_by_the_settings_and_scripts() -> set[str]:
    names = set()
    settings_modules = sorted((ROOT / "hms_site").glob("settings*.py"))  # settings + its groups
    assert ROOT / "hms_site" / "settings.py" in settings_modules
    for module in settings_modules:
        names |= set(re.findall(r"env_[a-z]+\(\s*\"([A-Z][A-Z0-9_]*)\"", module.read_text()))
    for source in [
        *settings_modules,
        ROOT / "deploy" / "gunicorn.conf.py",
        *(ROOT / "sdk").rglob("*.py"),
    ]:
        text = source.read_text()
        names |= set(re.findall(r"os\.environ(?:\.get)?\(\s*\"([A-Z][A-Z0-9_]*)\"", text))
        names |= set(re.findall(r"os\.environ\[\"([A-Z][A-Z0-9_]*)\"\]", text))
        names |= set(re.findall(r"os\.getenv\(\s*\"([A-Z][A-Z0-9_]*)\"", text))
    for script in (ROOT / "scripts").glob("*.sh"):
        names |= set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", script.read_text()))
    return names - {"DJANGO_SETTINGS_MODULE"}


def _configuration_table() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    return "\n".join(line for line in section.splitlines() if line.startswith("|"))


def test_every_setting_read_is_in_the_readme_configuration_table():
    names = _names_read_by_the_settings_and_scripts()
    # the parser finds what it must (a regression in it would make this test pass vacuously)
    assert {"DATABASE_URL", "CONTENT_SECURITY_POLICY", "HMS_PORT", "HMS_URL"} <= names
    table = _configuration_table()
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]*)`", table))
    missing = sorted(names - documented)
    assert not missing, f"read but not in README's Configuration table: {missing}"
