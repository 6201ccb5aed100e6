"""The review page and the trail export cost the same statements for 3 baselines as for 200
(with their data quality, sign-offs and stale-data checks)."""

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apm import signoff
from apm.models import Deviation
from tests import factories as f

pytestmark = pytest.mark.django_db


def add(program, n, alice):
    now = timezone.now()
    runs = []
    for i in range(n):
        b = f.baseline(program, name=f"b{program.baselines.count()}", target_value=30, clean=False)
        runs += [
            Deviation(
                baseline=b,
                evaluated_at=now - timedelta(hours=hours),
                actual=25 + i % 10,
                deviation_pct=b.deviation_pct(25 + i % 10),
                status="ok",
                trigger="schedule",
                sample_count=12 if hours == 1 else None,
                completeness=0.9 if hours == 1 else None,
                newest_sample_at=now if hours == 1 else None,
                source="promql" if hours == 1 else "",
            )
            for hours in (3, 2, 1)
        ]
        if i % 10 == 1:
            signoff.renew(b, actor=alice)
    Deviation.objects.bulk_create(runs)


def statements(call) -> int:
    with CaptureQueriesContext(connection) as captured:
        call()
    return len(captured)


def test_the_review_page_and_the_trail_do_not_grow_with_baselines(client):
    program = f.program(code="big")
    alice = f.staff_user("staff_alice", program.owner_group)
    client.force_login(alice)
    api = f.api_client(alice)

    def page():
        html = client.get("/dashboard/review/").content.decode()
        assert "12 samples · 90 % complete" in html

    def trail():
        body = b"".join(api.get(f"/api/v1/programs/{program.pk}/trail/").streaming_content)
        assert json.loads(body)["rows"]

    add(program, 3, alice)
    few = (statements(page), statements(trail))
    add(program, 197, alice)
    assert program.baselines.count() == 200
    many = (statements(page), statements(trail))
    assert many == few
    assert few[0] <= 10 and few[1] <= 12
