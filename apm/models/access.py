"""Who sees and who edits APM rows: the one place the API and the admin ask.

- superusers: everything;
- users with ``apm.view_program`` (e.g. a "Viewers" group): read everything;
- staff users: read and edit the programs owned by one of their groups, and
  those programs' baselines and deviations;
- everybody else: nothing (lists are empty, objects are 404, writes are 403).

``sql`` probes read the monitor's own database (every table it can see), so
writing one takes a superuser or the ``apm.use_sql_probe`` permission.
"""

from django.db import models


def _usable(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


def reads_everything(user) -> bool:
    return _usable(user) and (user.is_superuser or user.has_perm("apm.view_program"))


def may_write(user) -> bool:
    """Whether ``user`` may write anything at all (before looking at a program)."""
    return _usable(user) and (user.is_superuser or user.is_staff)


def owns_group(user, group_id) -> bool:
    """Whether ``user`` may edit what belongs to the group ``group_id``."""
    if not may_write(user):
        return False
    if user.is_superuser:
        return True
    return group_id is not None and user.groups.filter(pk=group_id).exists()


class ScopedQuerySet(models.QuerySet):
    """A queryset whose rows belong to a program reached through ``program_path``."""

    program_path = ""  # "" for Program itself, "program__" for Baseline, ...

    def _owned_by(self, user):
        return self.filter(**{f"{self.program_path}owner_group__in": user.groups.all()})

    def visible_to(self, user):
        if reads_everything(user):
            return self
        if may_write(user):
            return self._owned_by(user)
        return self.none()

    def editable_by(self, user):
        if not may_write(user):
            return self.none()
        if user.is_superuser:
            return self
        return self._owned_by(user)


SQL_PROBE_REFUSED = (
    "SQL probes read the monitor's database: saving one needs the 'apm.use_sql_probe' permission."
)


def may_write_probe(user, baseline) -> bool:
    """Whether ``user`` may save ``baseline``'s probe as it now stands."""
    if baseline.probe_kind != "sql" or user.is_superuser or user.has_perm("apm.use_sql_probe"):
        return True
    # Leaving an existing SQL probe untouched (e.g. editing the schedule) is fine.
    return getattr(baseline, "_loaded_probe", None) == ("sql", baseline.probe_query)
