"""``HMS_SQL_PROBE_DATABASE_URL``: its own role or file, refused at start when it is not."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import connection, connections

from hms_site.probe_database import probe_database
from hms_site.routers import SqlProbeRouter

APP_POSTGRES = {
    "ENGINE": "django.db.backends.postgresql",
    "NAME": "hms",
    "USER": "hms_app",
    "PASSWORD": "pw",
    "HOST": "db.internal",
    "PORT": 5432,
}
APP_SQLITE = {"ENGINE": "django.db.backends.sqlite3", "NAME": "/srv/hms/var/hms.sqlite3"}


@pytest.mark.parametrize(
    ("url", "app", "message"),
    [
        ("postgres://hms_app:pw@db.internal:5432/hms", APP_POSTGRES, "DATABASE_URL's role"),
        ("postgres://hms_app:other@db.internal/reporting", APP_POSTGRES, "DATABASE_URL's role"),
        ("sqlite:////srv/hms/var/hms.sqlite3", APP_SQLITE, "the app's own database file"),
        ("sqlite://:memory:", APP_SQLITE, "must name an SQLite file"),
        ("postgres://hms_probe@db.internal:5432/", APP_POSTGRES, "must name a database"),
    ],
)
def test_the_apps_own_role_or_file_is_refused_at_start(url, app, message):
    with pytest.raises(ImproperlyConfigured, match="HMS_SQL_PROBE_DATABASE_URL") as refused:
        probe_database(url, app)
    assert message in str(refused.value)


@pytest.mark.parametrize(
    ("url", "app", "engine"),
    [
        ("postgres://hms_probe:pw@db.internal:5432/hms", APP_POSTGRES, "postgresql"),
        ("postgres://hms_app:pw@reporting.internal:5432/hms", APP_POSTGRES, "postgresql"),
        ("sqlite:////srv/hms/var/demo-ledger.sqlite3", APP_SQLITE, "sqlite3"),
        ("sqlite:////srv/hms/var/demo-ledger.sqlite3", APP_POSTGRES, "sqlite3"),
    ],
)
def test_a_role_or_file_of_its_own_is_accepted(url, app, engine):
    db = probe_database(url, app)
    assert db["ENGINE"].endswith(engine)
    assert db["CONN_MAX_AGE"] == 0


def test_the_probe_alias_is_never_migrated_nor_used_by_the_orm():
    router = SqlProbeRouter()
    assert router.allow_migrate("sql_probe", "apm") is False
    assert router.allow_migrate("default", "apm") is None
    assert router.db_for_read(object) is None and router.db_for_write(object) is None


def test_settings_put_the_probe_database_under_its_alias(monkeypatch, tmp_path):
    """settings.py, loaded afresh with the variable set, as a process starts."""
    import importlib

    import hms_site.settings as site_settings

    ledger = tmp_path / "ledger.sqlite3"
    monkeypatch.setenv("HMS_SQL_PROBE_DATABASE_URL", f"sqlite:///{ledger}")
    monkeypatch.setenv("SECRET_KEY", "x" * 60)
    try:
        fresh = importlib.reload(site_settings)
        assert fresh.DATABASES["sql_probe"]["NAME"] == str(ledger)
        assert fresh.HMS_SQL_PROBE_DATABASE is fresh.DATABASES["sql_probe"]
        assert "hms_site.routers.SqlProbeRouter" in fresh.DATABASE_ROUTERS
    finally:
        monkeypatch.delenv("HMS_SQL_PROBE_DATABASE_URL")
        importlib.reload(site_settings)
    assert "sql_probe" not in connections.settings  # the running process is unchanged


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="roles are PostgreSQL's")
def test_manage_py_check_refuses_to_start_with_a_superuser_probe_role(settings):
    call_command("check")  # the session's reporting role passes
    app = connection.settings_dict
    settings.HMS_SQL_PROBE_DATABASE = {
        k: app[k] for k in ("ENGINE", "NAME", "USER", "HOST", "PORT")
    }
    with pytest.raises(SystemCheckError, match="hms.E101") as refused:
        call_command("check")
    assert "which is a superuser" in str(refused.value)


def test_manage_py_check_warns_when_the_probe_database_is_unreachable(settings, tmp_path):
    settings.HMS_SQL_PROBE_DATABASE = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(tmp_path / "missing.sqlite3"),
    }
    call_command("check")  # a warning does not stop the start
    from hms_site.probe_checks import sql_probe_database

    [warning] = sql_probe_database()
    assert warning.id == "hms.W101" and "no SQLite file" in warning.msg
