"""The war room and the dashboard at 1,000 services / 200 programs: no query per row.

Each page runs the same number of statements for 10 services (programs) as for 1,000
(200), with a third of the services breached, each with its open incident and a
four-run action timeline, and a third of the baselines holding an open escalation
with a leadership-review ticket. The timing is bench/pages.py's business, not a test's.
"""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from apm.models import Baseline, Deviation, Escalation, Program, Ticket
from ops.models import SLO, ActionRun, Incident, Sample, Sensor, Series, Service

pytestmark = pytest.mark.django_db

WAR_ROOM, STATE, DASHBOARD = "/war-room/", "/war-room/state.json", "/dashboard/"
# session, user, count, services, SLOs, graph buckets, open incidents, their action runs,
# owners (the page only)
WAR_ROOM_QUERIES = {WAR_ROOM: 9, STATE: 8}
# session, user, every visible program (the strip counts them, the page shows 20), the
# quarter's evaluations with their baselines' fields (the strip), the page's baselines with
# their latest status, trends, maintenance windows, open escalations with the strip's
# counts by age (window counts), leadership tickets. Staff add one: their permissions,
# read in one statement (ModelBackend takes two).
DASHBOARD_QUERIES = {"superuser": 9, "staff": 10}


def _services(first: int, last: int, now) -> None:
    ids = [f"S_{i:05d}" for i in range(first, last)]
    Service.objects.bulk_create(
        [Service(id=s, owner=f"owner-{i % 7}", document={}) for i, s in enumerate(ids)]
    )
    Sensor.objects.bulk_create([Sensor(service_id=s, name="m") for s in ids])
    breached = {s for i, s in enumerate(ids) if i % 3 == 0}
    slos = SLO.objects.bulk_create(
        [
            SLO(
                service_id=s,
                target="m",
                threshold=50,
                window_seconds=300,
                state="breached" if s in breached else "healthy",
                value=70.0 if s in breached else 10.0,
                evaluated_at=now,
                since=now - timedelta(minutes=10),
            )
            for s in ids
        ]
    )
    series = Series.objects.bulk_create([Series(service_id=s, name="m") for s in ids])
    Sample.objects.bulk_create(
        [
            Sample(series=se, ts=now - timedelta(minutes=k), value=float(k))
            for se in series
            for k in range(3)
        ]
    )
    incidents = Incident.objects.bulk_create(
        [
            Incident(service_id=slo.service_id, slo=slo, opened_at=now - timedelta(minutes=10))
            for slo in slos
            if slo.service_id in breached
        ]
    )
    ActionRun.objects.bulk_create(
        [
            ActionRun(
                incident=incident,
                step=step,
                trigger="slo_breach",
                action="scale_up",
                status=("succeeded", "failed", "running", "pending")[step],
                due_at=now - timedelta(minutes=9 - step),
                finished_at=now - timedelta(minutes=8 - step) if step < 2 else None,
            )
            for incident in incidents
            for step in range(4)
        ]
    )


def _programs(first: int, last: int, now, group=None) -> None:
    programs = Program.objects.bulk_create(
        [
            Program(code=f"p-{i:04d}", name=f"Program {i}", authority="Act 1", owner_group=group)
            for i in range(first, last)
        ]
    )
    baselines = Baseline.objects.bulk_create(
        [
            Baseline(program=p, name=f"promise_{k}", target_value=14, probe_query="SELECT 1")
            for p in programs
            for k in range(2)
        ]
    )
    Deviation.objects.bulk_create(
        [
            Deviation(
                baseline=b,
                evaluated_at=now - timedelta(days=day),
                actual=10.0 + day % 10,
                deviation_pct=float(day % 30),
                status="ok" if day % 3 else "breach",
                evidence={},
                trigger="schedule",
            )
            for b in baselines
            for day in range(5)
        ]
    )
    escalations = Escalation.objects.bulk_create(
        [
            Escalation(
                baseline=b,
                level="critical",
                message="broken",
                source="watchdog",
                opened_at=now - timedelta(days=2),
                red_since=now - timedelta(days=3),
            )
            for b in baselines[::3]
        ]
    )
    Ticket.objects.bulk_create(
        [
            Ticket(
                kind=Ticket.Kind.LEADERSHIP_REVIEW,
                title=f"review {e.baseline.name}",
                baseline=e.baseline,
                escalation=e,
                dedupe_key=f"test-{e.pk}",
                created_at=now,
            )
            for e in escalations
        ]
    )


@pytest.fixture
def admin_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root_ann", password="pw"))
    return client


@pytest.mark.parametrize("url", [WAR_ROOM, STATE])
def test_the_war_room_runs_as_many_queries_for_1000_services_with_incidents_as_for_10(
    admin_client, url, django_assert_num_queries
):
    now = timezone.now()
    _services(0, 10, now)
    with django_assert_num_queries(WAR_ROOM_QUERIES[url]):
        small = admin_client.get(url)
    assert small.status_code == 200
    _services(10, 1000, now)
    with django_assert_num_queries(WAR_ROOM_QUERIES[url]):
        large = admin_client.get(url)
    assert large.status_code == 200
    # The first page really shows the incidents and their timelines (not an empty page).
    text = large.content.decode()
    assert "S_00000" in text and "S_00029" in text and "S_00030" not in text
    assert text.count("scale_up") >= 10 * 4  # 10 breached tiles on the page, 4 runs each


@pytest.fixture(params=["superuser", "staff"])
def dashboard_user(request, client, django_user_model):
    """A superuser (no permission look-ups), or staff of the group owning every program."""
    from tests import factories as f

    if request.param == "superuser":
        user, group = django_user_model.objects.create_superuser("root_ann", password="pw"), None
    else:
        group = f.group("Housing staff")
        user = f.staff_user("staff_alice", group)
    client.force_login(user)
    return client, group, DASHBOARD_QUERIES[request.param]


def test_the_dashboard_runs_as_many_queries_for_200_programs_with_escalations_as_for_10(
    dashboard_user, django_assert_num_queries
):
    client, group, queries = dashboard_user
    now = timezone.now()
    _programs(0, 10, now, group)
    with django_assert_num_queries(queries):
        assert client.get(DASHBOARD).status_code == 200
    _programs(10, 200, now, group)
    with django_assert_num_queries(queries):
        page = client.get(DASHBOARD)
    assert page.status_code == 200
    text = page.content.decode()
    assert "Program 0" in text and "review promise_0" in text
    # The strip counts every program and every open escalation, not the page's 20 or 50.
    strip = text[text.index('id="summary-title"') : text.index("exec-layout")]
    assert 'Programs <span class="muted">(200)</span>' in strip
    total = Escalation.objects.count()
    assert total > 50
    assert f'Open escalations by age <span class="muted">({total})</span>' in strip
    assert re.search(rf'data-age="week"[^>]*><strong>{total}</strong>', strip)
