"""Plain factory functions for APM rows (no JSON fixtures)."""

from itertools import count

from django.contrib.auth.models import Group, Permission, User

from apm.models import Baseline, Program

_seq = count(1)

VALID_HOUSING_QUERY = "rate(housing_wait_days_sum[7d]) / rate(housing_wait_count[7d])"
SEED_INVALID_HOUSING_QUERY = "rate(housing_wait_days_sum / housing_wait_count [7d])"
VOUCHER_APPROVAL_QUERY = "rate(voucher_approved_total[7d]) / rate(voucher_applications_total[7d])"
ERROR_RATE_QUERY = "rate(api_errors_total[24h]) / rate(api_requests_total[24h]) * 100"


def group(name: str, *codenames: str) -> Group:
    found = Group.objects.get_or_create(name=name)[0]
    found.permissions.add(*Permission.objects.filter(codename__in=codenames))
    return found


def staff_user(username: str, *groups: Group) -> User:
    user = User.objects.create_user(username, f"{username}@example.org", "pw", is_staff=True)
    user.groups.add(*groups)
    return user


def viewer_user(username: str) -> User:
    viewers = group("Viewers")
    viewers.permissions.add(Permission.objects.get(codename="view_program"))
    user = User.objects.create_user(username, f"{username}@example.org", "pw")
    user.groups.add(viewers)
    return user


def plain_user(username: str) -> User:
    return User.objects.create_user(username, f"{username}@example.org", "pw")


def program(**fields) -> Program:
    n = next(_seq)
    fields.setdefault("code", f"program-{n}")
    fields.setdefault("name", f"Program {n}")
    fields.setdefault("authority", "Fast-Track Housing Voucher Act §4(b)")
    if "owner_group" not in fields:
        fields["owner_group"] = group("Housing staff")
    return Program.objects.create(**fields)


def baseline(program_=None, *, clean=True, **fields) -> Baseline:
    """A saved baseline; ``clean=True`` runs ``full_clean()`` first as the admin and API do."""
    n = next(_seq)
    fields.setdefault("name", f"baseline_{n}")
    fields.setdefault("target_value", 30)
    fields.setdefault("compare_op", Baseline.CompareOp.LE)
    fields.setdefault("probe_kind", Baseline.ProbeKind.SQL)
    fields.setdefault("probe_query", "SELECT 37.2")
    b = Baseline(program=program_ or program(), **fields)
    if clean:
        b.full_clean()
    b.save()
    return b
