"""Runs that could hurt the web server: several baselines go to the worker (admin "Run
now", ``POST baselines/run/``); a single API run is throttled per user (HMS_RUN_RATE)."""

import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.urls import reverse

from apm import services
from apm.models import Deviation
from tests import factories as f


def wait_for(condition, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def worker_later(redis_url, transactional_db):
    """``worker_later()`` starts a real worker (solo pool, this run's Redis queue) only when
    called, so a test can first show that its request ran no probe."""
    from celery.signals import task_postrun
    from django.db import connections

    from hms_site.celery import app

    def close_connections(**kwargs):
        connections.close_all()

    task_postrun.connect(close_connections, weak=False)
    started = []

    def start():
        context = start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10)
        context.__enter__()
        started.append(context)

    yield start
    for context in started:
        context.__exit__(None, None, None)
    task_postrun.disconnect(close_connections)


@pytest.mark.services
def test_admin_run_now_on_several_baselines_queues_them_to_the_worker(
    client, staff_alice, worker_later
):
    program = f.program()
    baselines = [f.baseline(program, probe_query=q) for q in ("SELECT 37.2", "SELECT 25")]
    client.force_login(staff_alice)
    response = client.post(
        reverse("admin:apm_baseline_changelist"),
        {"action": "run_now", "_selected_action": [b.pk for b in baselines]},
        follow=True,
    )
    assert "2 baseline(s) queued to the worker" in response.content.decode()
    assert not Deviation.objects.exists()  # no probe ran inside the request

    worker_later()
    assert wait_for(lambda: Deviation.objects.count() == 2)
    rows = Deviation.objects.order_by("baseline_id")
    assert [(d.baseline_id, d.status, d.trigger) for d in rows] == [
        (baselines[0].pk, "breach", "admin"),
        (baselines[1].pk, "ok", "admin"),
    ]


@pytest.mark.services
def test_api_run_of_several_baselines_answers_202_and_the_worker_records_each(
    api, staff_alice, worker_later
):
    program = f.program()
    first, second = f.baseline(program), f.baseline(program, probe_query="SELECT 25")
    response = api(staff_alice).post(
        "/api/v1/baselines/run/", {"baselines": [first.pk, second.pk, first.pk]}, format="json"
    )
    assert response.status_code == 202
    assert response.json() == {"queued": [first.pk, second.pk]}
    assert not Deviation.objects.exists()

    worker_later()
    assert wait_for(lambda: Deviation.objects.count() == 2)
    assert set(Deviation.objects.values_list("trigger", flat=True)) == {"api"}


def test_a_redelivered_queued_run_records_nothing_twice(db):
    baseline = f.baseline()
    requested = "2026-12-01T10:15:30.123456+00:00"
    first = services.run_queued(baseline.pk, "admin", requested)
    again = services.run_queued(baseline.pk, "admin", requested)
    assert again.pk == first.pk
    assert Deviation.objects.count() == 1
    assert services.run_queued(10**9, "admin", requested) is None


def test_a_bulk_run_naming_a_baseline_you_cannot_see_or_edit_queues_nothing(
    api, staff_alice, staff_dave, viewer_bob, monkeypatch
):
    sent = []
    monkeypatch.setattr(services.current_app, "send_task", lambda *a, **k: sent.append(a))
    mine = f.baseline()
    theirs = f.baseline(f.program(owner_group=f.group("Transit staff")))

    unseen = api(staff_alice).post(
        "/api/v1/baselines/run/", {"baselines": [mine.pk, theirs.pk, 10**9]}, format="json"
    )
    assert unseen.status_code == 400
    assert unseen.json()["baselines"] == [
        f"no baseline with id {theirs.pk}",
        f"no baseline with id {10**9}",
    ]
    read_only = api(viewer_bob).post("/api/v1/baselines/run/", {"baselines": [mine.pk]})
    assert read_only.status_code == 403
    for body in ({}, {"baselines": []}, {"baselines": ["x"]}, {"baselines": [0]}):
        assert api(staff_alice).post("/api/v1/baselines/run/", body).status_code == 400
    too_many = {"baselines": list(range(1, 502))}
    assert api(staff_alice).post("/api/v1/baselines/run/", too_many).status_code == 400
    assert sent == []
    assert not Deviation.objects.exists()


def test_a_broker_that_refuses_is_a_503_and_an_admin_error_not_a_lost_run(
    api, client, staff_alice, monkeypatch
):
    from kombu.exceptions import OperationalError

    def refuse(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:1. Connection refused.")

    monkeypatch.setattr(services.current_app, "send_task", refuse)
    program = f.program()
    pair = [f.baseline(program), f.baseline(program)]
    response = api(staff_alice).post(
        "/api/v1/baselines/run/", {"baselines": [b.pk for b in pair]}, format="json"
    )
    assert response.status_code == 503
    assert "task queue is unavailable (0 of 2 runs queued)" in response.json()["detail"]
    client.force_login(staff_alice)
    page = client.post(
        reverse("admin:apm_baseline_changelist"),
        {"action": "run_now", "_selected_action": [b.pk for b in pair]},
        follow=True,
    )
    assert "Runs not queued: the task queue is unavailable (0 of 2 runs queued)" in (
        page.content.decode()
    )


def test_a_single_api_run_is_throttled_per_user(api, staff_alice, settings, django_user_model):
    settings.HMS_RUN_RATE = "2/min"
    baseline = f.baseline()
    alice = api(staff_alice)
    statuses = [alice.post(f"/api/v1/baselines/{baseline.pk}/run/").status_code for _ in range(3)]
    assert statuses == [201, 201, 429]
    assert Deviation.objects.count() == 2
    # Another user of the same program has a counter of their own.
    colleague = f.staff_user("staff_erin", f.group("Housing staff"))
    assert api(colleague).post(f"/api/v1/baselines/{baseline.pk}/run/").status_code == 201
    # Reads are not throttled.
    assert alice.get(f"/api/v1/baselines/{baseline.pk}/").status_code == 200


def test_a_malformed_run_rate_stops_start_up():
    import os
    import subprocess
    import sys

    env = {**os.environ, "HMS_RUN_RATE": "lots", "DJANGO_SETTINGS_MODULE": "hms_site.settings"}
    env.setdefault("SECRET_KEY", "x" * 60)
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "HMS_RUN_RATE='lots'" in result.stderr
