"""A tick that stays a tick: the pass commits state changes; the hand-off audits and opens
incidents per service afterwards, once, in order, and a lost hand-off is sent again."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from ops import services, slo_handoff
from ops.models import SLO, ActionRun, AuditEntry, Incident, Sensor, Service, SLOStateChange
from ops.playbook import incidents
from ops.slo import evaluate_all
from tests.factories import readings, service_yaml

PLAYBOOK = (
    "playbook:\n  - if: slo_breach\n    then: scale_up compute=+2\n"
    "  - always:\n    log_to: HMS-DTA\n"
)
MASS = 1_000


def yaml_of(service_id: str) -> str:
    return service_yaml(service_id) + PLAYBOOK


def register(service_id: str = "DCA_Luggage_Scanner") -> str:
    services.register_service(yaml_of(service_id))
    return service_id


def mass_services(count: int) -> list[str]:
    """``count`` services with one SLO each (rows written in bulk), every one breaching."""
    template = Service.objects.get(pk=register("Mass_00000"))
    ids = [f"Mass_{i:05d}" for i in range(1, count)]
    Service.objects.bulk_create(
        [
            Service(id=s, owner="TSA", document={**template.document, "id": s}, source=yaml_of(s))
            for s in ids
        ]
    )
    Sensor.objects.bulk_create([Sensor(service_id=s, name="queue_time_seconds") for s in ids])
    slo = SLO.objects.get(service=template)
    SLO.objects.bulk_create(
        [
            SLO(
                service_id=s,
                target=slo.target,
                threshold=slo.threshold,
                window_seconds=slo.window_seconds,
                percentile=slo.percentile,
                min_samples=slo.min_samples,
            )
            for s in ids
        ]
    )
    ids.insert(0, template.pk)
    now = timezone.now()
    from ops.metrics import ingest

    samples = [
        {"service": s, "name": "queue_time_seconds", "value": 38.0, "ts": now.isoformat()}
        for s in ids
    ]
    ingest({"samples": samples}, now=now)
    return ids


@pytest.mark.django_db
def test_a_thousand_changes_commit_in_a_bounded_pass_and_every_hand_off_follows(
    django_assert_max_num_queries,
):
    ids = mass_services(MASS)
    at = timezone.now()
    # claim, the maintenance question, move (set-based), the change rows in batches, values:
    # not one statement per SLO
    with django_assert_max_num_queries(13 if connection.vendor == "postgresql" else 29):
        result = evaluate_all(at)
    assert len(result.changes) == MASS
    assert SLO.objects.filter(state="breached").count() == MASS
    # the pass itself opened nothing and audited nothing: that is the hand-off's work
    assert not Incident.objects.exists()
    assert not AuditEntry.objects.filter(topic="ops.slo").exists()
    assert SLOStateChange.objects.filter(handled_at__isnull=True).count() == MASS

    assert slo_handoff.run_pending() == MASS
    assert not SLOStateChange.objects.filter(handled_at__isnull=True).exists()
    assert set(Incident.objects.values_list("service_id", flat=True)) == set(ids)
    assert Incident.objects.count() == MASS
    slo_entries = AuditEntry.objects.filter(topic="ops.slo")
    assert sorted(e.payload["service"] for e in slo_entries) == sorted(ids)
    opened = AuditEntry.objects.filter(topic="ops.incident", payload__event="opened")
    assert opened.count() == MASS
    assert ActionRun.objects.filter(action="scale_up", status="pending").count() == MASS
    assert ActionRun.objects.filter(action="log_to", status="pending").count() == MASS
    assert slo_handoff.run_pending() == 0  # nothing twice
    assert Incident.objects.count() == MASS


@pytest.mark.django_db(transaction=True)
def test_the_evaluators_lock_is_free_while_incidents_are_opened(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("a second pass at the same time needs PostgreSQL's row locks")
    for i in range(3):
        register(f"Svc_{i}")
        readings(f"Svc_{i}", [38.0] * 5)
    at = timezone.now()
    monkeypatch.setattr(slo_handoff, "send", lambda ids: None)  # no broker: run it here
    assert len(evaluate_all(at).changes) == 3
    seen = []
    real = incidents.on_slo_change

    def during_the_hand_off(*args, **kwargs):
        if not seen:  # the next tick, from another connection, while this one is open

            def next_tick():
                try:
                    seen.append(evaluate_all(at + timedelta(seconds=5)))
                finally:
                    connections.close_all()

            thread = threading.Thread(target=next_tick)
            thread.start()
            thread.join(timeout=30)
            assert not thread.is_alive(), "the next pass waited for the hand-off"
        return real(*args, **kwargs)

    monkeypatch.setattr(incidents, "on_slo_change", during_the_hand_off)
    assert slo_handoff.run_pending() == 3
    [next_pass] = seen
    assert next_pass.stale is False and next_pass.evaluated == 3  # it claimed and wrote
    assert Incident.objects.count() == 3


@pytest.mark.django_db
def test_double_delivery_opens_one_incident_with_one_audit_entry():
    service = register()
    readings(service, [38.0] * 5)
    evaluate_all(timezone.now())
    assert slo_handoff.hand_off(service) == 1
    assert slo_handoff.hand_off(service) == 0  # the same task delivered again
    assert Incident.objects.count() == 1
    assert AuditEntry.objects.filter(topic="ops.slo").count() == 1
    assert AuditEntry.objects.filter(topic="ops.incident", payload__event="opened").count() == 1
    assert ActionRun.objects.filter(action="scale_up").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_delivery_while_another_worker_hands_off_returns_at_once(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("SKIP LOCKED between two connections needs PostgreSQL")
    service = register()
    readings(service, [38.0] * 5)
    monkeypatch.setattr(slo_handoff, "send", lambda ids: None)
    evaluate_all(timezone.now())
    second = []
    real = incidents.on_slo_change

    def with_a_second_delivery(*args, **kwargs):
        def deliver():
            try:
                second.append(slo_handoff.hand_off(service))
            finally:
                connections.close_all()

        thread = threading.Thread(target=deliver)
        thread.start()
        thread.join(timeout=30)
        assert not thread.is_alive(), "the second delivery waited for the first"
        return real(*args, **kwargs)

    monkeypatch.setattr(incidents, "on_slo_change", with_a_second_delivery)
    assert slo_handoff.hand_off(service) == 1
    assert second == [0]  # the service was taken: it did nothing
    assert Incident.objects.count() == 1
    assert AuditEntry.objects.filter(topic="ops.slo").count() == 1


@pytest.mark.django_db
def test_breached_then_healthy_are_handed_off_in_order():
    service = register()
    t0 = timezone.now() - timedelta(minutes=10)
    readings(service, [38.0] * 5, end=t0)
    evaluate_all(t0)
    t1 = t0 + timedelta(minutes=5)
    readings(service, [12.0] * 60, end=t1, step=5)
    evaluate_all(t1)  # both changes are committed before either is handed off
    assert not Incident.objects.exists()
    assert slo_handoff.hand_off(service) == 2
    incident = Incident.objects.get()
    assert (incident.state, incident.opened_at, incident.resolved_at) == ("resolved", t0, t1)
    assert incident.value == pytest.approx(38.0)  # the breaching pass's value, not the later one
    moves = [
        (e.payload["from"], e.payload["to"])
        for e in AuditEntry.objects.filter(topic="ops.slo").order_by("id")
    ]
    assert moves == [("no_data", "breached"), ("breached", "healthy")]
    events = [
        e.payload["event"] for e in AuditEntry.objects.filter(topic="ops.incident").order_by("id")
    ]
    assert events == ["opened", "resolved"]


@pytest.mark.django_db
def test_a_failed_hand_off_is_recorded_and_holds_the_later_change_behind_it(monkeypatch, settings):
    settings.HMS_PLAYBOOK_RETRY_SECONDS = 60
    service = register()
    t0 = timezone.now() - timedelta(minutes=10)
    readings(service, [38.0] * 5, end=t0)
    evaluate_all(t0)
    t1 = t0 + timedelta(minutes=5)
    readings(service, [12.0] * 60, end=t1, step=5)
    evaluate_all(t1)
    real = incidents.open_incident
    failures = iter([RuntimeError("database hiccup")])

    def flaky(*args, **kwargs):
        error = next(failures, None)
        if error:
            raise error
        return real(*args, **kwargs)

    monkeypatch.setattr(incidents, "open_incident", flaky)
    assert slo_handoff.hand_off(service) == 0
    first, second = SLOStateChange.objects.order_by("id")
    assert (first.handled_at, first.handoff_attempts) == (None, 1)
    assert first.handoff_error == "RuntimeError: database hiccup"
    assert first.handoff_due_at > timezone.now() + timedelta(seconds=50)  # the back-off
    assert second.handled_at is None  # the healthy waits behind the breach it follows
    assert not Incident.objects.exists()
    assert not AuditEntry.objects.filter(topic="ops.slo").exists()  # rolled back with it
    assert slo_handoff.sweep() == 0  # not sent again before its back-off

    assert slo_handoff.sweep(first.handoff_due_at) == 1
    assert slo_handoff.hand_off(service) == 2
    first.refresh_from_db()
    assert first.handoff_attempts == 1  # the failed attempt stays on the row
    incident = Incident.objects.get()
    assert (incident.state, incident.opened_at, incident.resolved_at) == ("resolved", t0, t1)


@pytest.mark.django_db
def test_a_hand_off_that_keeps_failing_stops_after_the_attempt_limit(monkeypatch, settings):
    settings.HMS_PLAYBOOK_RETRY_SECONDS = 0
    settings.HMS_SLO_HANDOFF_MAX_ATTEMPTS = 3
    service = register()
    readings(service, [38.0] * 5)
    evaluate_all(timezone.now())

    def broken(*args, **kwargs):
        raise RuntimeError("no such playbook")

    monkeypatch.setattr(incidents, "open_incident", broken)
    for attempt in (1, 2):  # each try stops the queue; the sweep sends it again when due
        assert slo_handoff.hand_off(service) == 0
        change = SLOStateChange.objects.get()
        assert (change.handled_at, change.handoff_attempts) == (None, attempt)
        assert slo_handoff.sweep(change.handoff_due_at) == 1
    slo_handoff.hand_off(service)
    change = SLOStateChange.objects.get()
    assert change.handled_at is not None and change.handoff_attempts == 3
    [failed] = AuditEntry.objects.filter(topic="ops.slo", payload__event="handoff_failed")
    assert failed.payload["attempts"] == 3
    assert failed.payload["error"] == "RuntimeError: no such playbook"
    assert slo_handoff.sweep() == 0  # closed: never sent again


@pytest.mark.django_db
def test_the_pass_sends_the_changed_services_after_its_commit(
    monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr(
        slo_handoff.current_app, "send_task", lambda name, args, **kw: sent.append((name, args))
    )
    for service in ("Svc_a", "Svc_b", "Svc_quiet"):
        register(service)
    readings("Svc_a", [38.0] * 5)
    readings("Svc_b", [38.0] * 5)
    with django_capture_on_commit_callbacks() as callbacks:
        evaluate_all(timezone.now())
        assert sent == []  # nothing leaves before the commit
    for callback in callbacks:
        callback()
    assert sent == [(slo_handoff.HANDOFF_TASK, (["Svc_a", "Svc_b"],))]  # the changed ones


@pytest.mark.django_db
def test_the_beats_sweep_resends_an_unhandled_change_once_per_grace_period(
    monkeypatch, settings, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr(
        slo_handoff.current_app, "send_task", lambda name, args, **kw: sent.append((name, args))
    )
    service = register()
    readings(service, [38.0] * 5)
    at = timezone.now()
    evaluate_all(at)  # in this test its after-commit message is never sent: lost
    change = SLOStateChange.objects.get()
    grace = timedelta(seconds=settings.HMS_SLO_HANDOFF_GRACE_SECONDS)
    assert change.handoff_due_at >= at + grace
    assert slo_handoff.sweep() == 0  # not before its grace period
    later = change.handoff_due_at + timedelta(seconds=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert slo_handoff.sweep(later) == 1
        assert slo_handoff.sweep(later) == 0  # its due time moved on: not at every pass
    assert sent == [(slo_handoff.HANDOFF_TASK, ([service],))]
    change.refresh_from_db()
    assert change.handoff_due_at == later + grace
    assert slo_handoff.hand_off(service) == 1
    assert services.tick(at + timedelta(seconds=5))["handoffs_resent"] == 0  # handled now
