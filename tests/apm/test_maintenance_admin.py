"""Maintenance windows in the admin: saved through apm.maintenance (audited), scoped, and
a form error (never a 500) for a window with no scope or one ending before it starts."""

from datetime import timedelta

import pytest
from django.test import Client

from apm.models import MaintenanceWindow
from ops.models import AuditEntry
from tests import factories as f

pytestmark = pytest.mark.django_db
ADD = "/admin/apm/maintenancewindow/add/"


def form(**fields):
    data = {
        "starts_at_0": "2027-01-10",
        "starts_at_1": "02:00:00",
        "ends_at_0": "2027-01-10",
        "ends_at_1": "04:00:00",
        "recurrence": "",
        "reason": "ledger migration",
    }
    data.update({k: v for k, v in fields.items() if v is not None})
    return data


@pytest.fixture
def alice(staff_alice):
    client = Client()
    client.force_login(staff_alice)
    return client


def test_staff_add_a_window_on_their_program_and_it_is_audited(alice, staff_alice):
    housing = f.program(owner_group=staff_alice.groups.get())
    answer = alice.post(ADD, form(program=housing.pk))
    assert answer.status_code == 302, answer.content.decode()[:2000]
    window = MaintenanceWindow.objects.get()
    assert (window.program, window.created_by) == (housing, staff_alice)
    entry = AuditEntry.objects.get(topic="apm.maintenance")
    assert entry.payload["change"] == "created" and entry.actor == "staff_alice"


@pytest.mark.parametrize(
    "extra",
    [
        {},  # no scope
        {"ends_at_1": "01:00:00"},  # ends before it starts
        {"recurrence": "weekly", "ends_at_0": "2027-01-20"},  # a "weekly" window of 10 days
    ],
)
def test_bad_windows_are_form_errors_and_nothing_is_written(alice, staff_alice, extra):
    housing = f.program(owner_group=staff_alice.groups.get())
    data = form(**extra)
    if extra:
        data["program"] = housing.pk
    answer = alice.post(ADD, data)
    assert answer.status_code == 200 and "errornote" in answer.content.decode()
    assert not MaintenanceWindow.objects.exists()
    assert not AuditEntry.objects.filter(topic="apm.maintenance").exists()


def test_another_programs_staff_cannot_pick_it_nor_change_its_windows(staff_dave, staff_alice):
    from django.utils import timezone

    from apm import maintenance

    housing = f.program(owner_group=staff_alice.groups.get())
    dave = Client()
    dave.force_login(staff_dave)
    answer = dave.post(ADD, form(program=housing.pk))
    assert answer.status_code == 200 and "program" in answer.context["adminform"].form.errors
    now = timezone.now()
    window = maintenance.create_window(
        program=housing, starts_at=now, ends_at=now + timedelta(hours=1), reason="x",
        actor="t",
    )  # fmt: skip
    url = f"/admin/apm/maintenancewindow/{window.pk}/change/"
    assert dave.get(url).status_code in (302, 404)
    assert dave.post(f"/admin/apm/maintenancewindow/{window.pk}/delete/", {"post": "yes"})
    assert MaintenanceWindow.objects.filter(pk=window.pk).exists()
