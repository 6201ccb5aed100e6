"""Event-driven SLO evaluation (ops.slo_trigger) and the guard that keeps the newest verdict."""

import socket
import threading
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from hms_site.celery import app, route_task
from ops import slo, slo_handoff, slo_trigger
from ops.models import SLO, Incident, Sample, SLOStateChange
from ops.slo import evaluate_all, evaluate_services
from tests.factories import readings
from tests.ops.test_slo_handoff import register

needs_redis = pytest.mark.skipif(not settings.REDIS_URL, reason="the trigger needs Redis")


@pytest.mark.django_db
def test_an_older_pass_that_writes_after_a_newer_one_does_not_move_the_slo_back():
    service = register("Race_svc")
    t = timezone.now()
    readings(service, [10.0] * 5, end=t - timedelta(seconds=60))
    evaluate_all(t - timedelta(seconds=30))
    assert SLO.objects.get(service_id=service).state == "healthy"
    readings(service, [38.0] * 30, end=t, step=0.5)
    evaluate_services([service], t)  # the triggered pass read the breaching batch
    assert SLO.objects.get(service_id=service).state == "breached"
    # a beat pass that read its window before that batch (at t - 10 s) writes only now
    late = evaluate_all(t - timedelta(seconds=10))
    assert not late.stale  # newer than the last beat pass: it does write ...
    row = SLO.objects.get(service_id=service)
    assert (row.state, row.evaluated_at) == ("breached", t)  # ... but not over a newer verdict
    assert list(SLOStateChange.objects.values_list("to_state", flat=True).order_by("id")) == [
        "healthy",
        "breached",
    ]


@pytest.mark.django_db
def test_a_triggered_pass_does_not_make_the_next_beat_pass_stale():
    service = register("Fence_svc")
    t = timezone.now()
    readings(service, [10.0] * 5, end=t)
    evaluate_services([service], t + timedelta(seconds=1))
    assert not evaluate_all(t).stale  # the beat's fencing token is the beat's alone


def test_hand_offs_and_playbook_runs_go_to_the_actions_queue():
    actions = {"queue": settings.HMS_CELERY_ACTIONS_QUEUE}
    assert route_task(slo_handoff.HANDOFF_TASK, (), {}, {}) == actions
    assert route_task("ops.tasks.run_playbook_action", (), {}, {}) == actions
    assert route_task(slo_trigger.TRIGGER_TASK, (), {}, {}) is None  # the default queue
    assert settings.HMS_CELERY_ACTIONS_QUEUE != settings.CELERY_TASK_DEFAULT_QUEUE
    consumed = {q.name for q in app.amqp.queues.values()}  # a worker without -Q takes all
    assert {settings.CELERY_TASK_DEFAULT_QUEUE, settings.HMS_CELERY_ACTIONS_QUEUE} <= consumed


@pytest.fixture
def trigger(monkeypatch, settings):
    """The trigger on this run's Redis keys, with the task's sends recorded, not sent."""
    if not settings.REDIS_URL:
        pytest.skip("the trigger needs Redis")
    settings.HMS_SLO_TRIGGER_SECONDS = 0.5
    client = slo_trigger.client()
    client.delete(*slo_trigger._keys())
    sent = []
    monkeypatch.setattr(
        slo_trigger.current_app, "send_task", lambda name, *a, **kw: sent.append((name, kw))
    )
    yield sent
    client.delete(*slo_trigger._keys())


def ingest(service, values, capture):
    with capture(execute=True):
        readings(service, values)


@needs_redis
@pytest.mark.django_db
def test_a_breaching_batch_opens_its_incident_without_the_beat(
    trigger, monkeypatch, django_capture_on_commit_callbacks
):
    service = register("Trig_svc")
    handed = []
    monkeypatch.setattr(slo_handoff, "send", handed.append)
    monkeypatch.setattr(
        slo, "evaluate_all", lambda *a, **kw: pytest.fail("the beat's pass is not needed")
    )
    ingest(service, [38.0] * 5, django_capture_on_commit_callbacks)
    assert trigger == [(slo_trigger.TRIGGER_TASK, {})]  # sent after the ingest commit
    with django_capture_on_commit_callbacks(execute=True):
        done = slo_trigger.run(slo.evaluate_services)  # what the worker runs
    assert done["services"] == 1 and done["changes"] == 1 and not done["again"]
    assert SLO.objects.get(service_id=service).state == "breached"
    assert handed == [[service]]
    slo_handoff.run_pending()
    assert Incident.objects.filter(service_id=service, resolved_at__isnull=True).exists()


@needs_redis
@pytest.mark.django_db
def test_many_ingests_coalesce_into_one_triggered_pass(
    trigger, monkeypatch, django_capture_on_commit_callbacks
):
    names = [register(f"Coal_{i}") for i in range(3)]
    for name in names:
        ingest(name, [10.0] * 5, django_capture_on_commit_callbacks)
        ingest(name, [12.0] * 5, django_capture_on_commit_callbacks)
    assert trigger == [(slo_trigger.TRIGGER_TASK, {})]  # six requests, one task
    passes = []
    real = slo.evaluate_services
    monkeypatch.setattr(slo, "evaluate_services", lambda ids: passes.append(ids) or real(ids))
    assert slo_trigger.run(slo.evaluate_services)["services"] == 3
    assert passes == [names]  # only these services' SLOs, in one pass
    assert slo_trigger.client().get(slo_trigger._keys()[1]) is None  # token released
    ingest(names[0], [11.0] * 5, django_capture_on_commit_callbacks)
    assert len(trigger) == 2  # the next ingest triggers again


@needs_redis
@pytest.mark.django_db
def test_services_noted_during_a_pass_get_the_next_one_after_the_spacing(
    trigger, monkeypatch, django_capture_on_commit_callbacks
):
    first, late = register("Space_a"), register("Space_b")
    ingest(first, [10.0] * 5, django_capture_on_commit_callbacks)
    real = slo.evaluate_services

    def pass_while_another_batch_lands(ids):
        ingest(late, [10.0] * 5, django_capture_on_commit_callbacks)
        return real(ids)

    monkeypatch.setattr(slo, "evaluate_services", pass_while_another_batch_lands)
    done = slo_trigger.run(slo.evaluate_services)
    assert done["again"]
    name, options = trigger[-1]
    assert len(trigger) == 2 and name == slo_trigger.TRIGGER_TASK
    assert 0 < options["countdown"] <= 0.5  # not sooner than HMS_SLO_TRIGGER_SECONDS
    assert slo_trigger.client().get(slo_trigger._keys()[1]) is not None  # held for it
    monkeypatch.setattr(slo, "evaluate_services", real)
    assert slo_trigger.run(slo.evaluate_services)["services"] == 1  # the late service, not lost


@needs_redis
@pytest.mark.django_db
def test_a_lost_trigger_task_loses_nothing(
    trigger, monkeypatch, settings, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(slo_trigger, "MIN_TOKEN_TTL", 0.3)
    settings.HMS_SLO_TRIGGER_SECONDS = 0.01
    service = register("Lost_svc")
    ingest(service, [38.0] * 5, django_capture_on_commit_callbacks)
    assert len(trigger) == 1  # ... and this task is never run
    evaluate_all(timezone.now())  # the beat still decides every SLO
    assert SLO.objects.get(service_id=service).state == "breached"
    time.sleep(0.4)  # the lost task's token expires
    other = register("Lost_other")
    ingest(other, [10.0] * 5, django_capture_on_commit_callbacks)
    assert len(trigger) == 2  # a new task
    assert slo_trigger.run(slo.evaluate_services)["services"] == 2  # the lost one too


@pytest.mark.django_db
def test_the_trigger_is_off_at_zero_seconds(
    monkeypatch, settings, django_capture_on_commit_callbacks
):
    settings.HMS_SLO_TRIGGER_SECONDS = 0
    monkeypatch.setattr(slo_trigger, "note", lambda ids: pytest.fail("trigger is off"))
    service = register("Off_svc")
    ingest(service, [38.0] * 5, django_capture_on_commit_callbacks)
    assert SLO.objects.get(service_id=service).state != "breached"  # the beat decides


@pytest.mark.services
def test_on_a_real_worker_a_breaching_push_opens_the_incident_before_any_beat_pass(
    celery_worker, settings, monkeypatch
):
    from tests.factories import SCANNER_YAML, api_client, staff_alice
    from tests.ops.test_slo_with_celery_worker import push

    settings.HMS_SLO_TRIGGER_SECONDS = 0.2
    slo_trigger.client().delete(*slo_trigger._keys())
    monkeypatch.setattr(slo, "evaluate_all", lambda *a, **kw: pytest.fail("no beat pass"))
    created = api_client(staff_alice()).post(
        "/api/v1/services/", data=SCANNER_YAML.encode(), content_type="application/yaml"
    )
    push(api_client(), created.json()["ingest_key"], [45.0] * 10, end=timezone.now(), step=1)
    deadline = time.monotonic() + 30
    while not Incident.objects.filter(service_id="DCA_Luggage_Scanner").exists():
        assert time.monotonic() < deadline, "no incident from the triggered pass"
        time.sleep(0.1)
    assert SLO.objects.get(service_id="DCA_Luggage_Scanner").state == "breached"


class HungRedis:
    """A loopback peer that accepts connections and reads, but never answers (a hung Redis)."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._held = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            self._held.append(conn)

    def close(self):
        self.sock.close()
        for conn in self._held:
            conn.close()


@pytest.mark.django_db
def test_a_hung_redis_costs_one_ingest_its_timeout_then_the_beat_decides(
    monkeypatch, settings, caplog, django_capture_on_commit_callbacks
):
    hung = HungRedis()
    settings.REDIS_URL = f"redis://127.0.0.1:{hung.port}/0"
    settings.HMS_SLO_TRIGGER_SECONDS = 0.5
    monkeypatch.setattr(slo_trigger, "REDIS_TIMEOUT", 0.3)
    monkeypatch.setattr(slo_trigger, "_down_until", 0.0)
    monkeypatch.setattr(
        slo_trigger.current_app, "send_task", lambda *a, **kw: pytest.fail("Redis never answered")
    )
    try:
        service = register("Hung_svc")
        ingest(service, [38.0] * 5, django_capture_on_commit_callbacks)
        assert hung.connections == 1  # the first ingest tried, and waited its timeout
        assert "SLO trigger off" in caplog.text
        for _ in range(3):
            ingest(service, [38.0] * 5, django_capture_on_commit_callbacks)
        assert hung.connections == 1  # the next ones did not try at all
        assert Sample.objects.filter(series__service_id=service).count() == 20  # all stored
        evaluate_all(timezone.now())
        assert SLO.objects.get(service_id=service).state == "breached"  # the beat decided
        monkeypatch.setattr(slo_trigger, "_down_until", 0.0)  # DOWN_SECONDS later
        ingest(service, [38.0] * 5, django_capture_on_commit_callbacks)
        assert hung.connections == 2  # it tries again
    finally:
        hung.close()
