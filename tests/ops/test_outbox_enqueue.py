"""Enqueuing: one row per event, written with the caller's change, dispatched after commit."""

import pytest
from django.db import transaction

from ops import outbox
from ops.models import Notification
from tests.factories import make_channel


def test_enqueue_writes_a_pending_row_and_dispatches_only_on_commit(
    db, django_capture_on_commit_callbacks
):
    channel = make_channel()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        notification = outbox.enqueue(
            channel,
            "Queue still high",
            dedupe_key="incident:7:page",
            subject="scanner",
            payload={"incident": 7},
            source_topic="ops.incident",
            source_id=7,
        )
    assert len(callbacks) == 1
    notification.refresh_from_db()
    assert notification.status == Notification.Status.PENDING
    assert notification.attempts == 0
    assert (notification.source_topic, notification.source_id) == ("ops.incident", "7")


def test_the_same_event_twice_makes_one_row_and_one_dispatch(
    db, django_capture_on_commit_callbacks
):
    channel = make_channel()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = outbox.enqueue(channel, "Queue still high", dedupe_key="incident:7:page")
        second = outbox.enqueue("tsa_ops", "Queue still high (again)", dedupe_key="incident:7:page")
    assert first.pk == second.pk
    assert second.message == "Queue still high"
    assert Notification.objects.count() == 1
    assert len(callbacks) == 1


def test_a_rolled_back_change_leaves_no_notification(db, django_capture_on_commit_callbacks):
    channel = make_channel()
    with (
        django_capture_on_commit_callbacks(execute=False) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        outbox.enqueue(channel, "Queue still high", dedupe_key="incident:8:page")
        raise RuntimeError("the state change failed")
    assert callbacks == []
    assert not Notification.objects.exists()


def test_bad_arguments_are_refused_with_a_clear_message(db):
    make_channel()
    with pytest.raises(ValueError, match="no notification channel named 'nope'"):
        outbox.enqueue("nope", "x", dedupe_key="k")
    with pytest.raises(ValueError, match="dedupe_key"):
        outbox.enqueue("tsa_ops", "x", dedupe_key="  ")
    with pytest.raises(ValueError, match="needs a message"):
        outbox.enqueue("tsa_ops", "", dedupe_key="k")


def test_deliver_refuses_to_run_inside_a_transaction(transactional_db):
    notification = Notification.objects.create(channel=make_channel(), message="x", dedupe_key="k")
    with pytest.raises(RuntimeError, match="outside a transaction"), transaction.atomic():
        outbox.deliver(notification.pk)
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == (Notification.Status.PENDING, 0)
