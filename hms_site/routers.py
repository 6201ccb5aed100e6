"""Database routing: the ``sql_probe`` alias (``HMS_SQL_PROBE_DATABASE_URL``) holds no
models. The ORM never reads, writes or migrates there; only SQL probes connect to it."""

from hms_site.probe_database import ALIAS


class SqlProbeRouter:
    def db_for_read(self, model, **hints):
        return None

    def db_for_write(self, model, **hints):
        return None

    def allow_relation(self, obj1, obj2, **hints):
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return False if db == ALIAS else None
