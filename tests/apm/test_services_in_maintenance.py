"""``apm.maintenance.services_in_maintenance``: the SLO pass's one question a pass.

A few services are asked with an ``IN`` list; a whole pass's thousands read every
service window once instead. Both answer only among the services asked.
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apm.maintenance import services_in_maintenance
from apm.models import MaintenanceWindow
from tests.factories import make_service

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("asked", [3, 250])
def test_only_the_asked_services_covered_now_are_in_maintenance(asked):
    now = timezone.now()
    for name in ("Quiet_0", "Quiet_1", "Ended_0", "Not_Asked"):
        make_service(name)
    hour = timedelta(hours=1)
    for service in ("Quiet_0", "Not_Asked"):
        MaintenanceWindow.objects.create(
            service_id=service, starts_at=now - hour, ends_at=now + hour, reason="firmware"
        )
    MaintenanceWindow.objects.create(  # a weekly window begun last week, on again now
        service_id="Quiet_1",
        starts_at=now - timedelta(days=7, minutes=5),
        ends_at=now - timedelta(days=7) + hour,
        recurrence=MaintenanceWindow.Recurrence.WEEKLY,
        reason="weekly",
    )
    MaintenanceWindow.objects.create(
        service_id="Ended_0", starts_at=now - 2 * hour, ends_at=now - hour, reason="over"
    )
    ids = ["Quiet_0", "Quiet_1", "Ended_0"] + [f"Other_{i}" for i in range(asked - 3)]
    with CaptureQueriesContext(connection) as captured:
        inside = services_in_maintenance(ids, now)
    assert inside == {"Quiet_0", "Quiet_1"}
    assert len(captured) == 1
