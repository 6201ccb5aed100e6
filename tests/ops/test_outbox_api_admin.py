"""The outbox is visible, read-only, through the API and the admin."""

import pytest
from django.urls import reverse
from django.utils import timezone

from ops.models import Notification, NotificationAttempt
from tests.factories import api_client, make_channel, make_user

Status = Notification.Status


@pytest.fixture
def viewer_bob(db):
    return make_user("viewer_bob", perms=("ops.view_notification",))


@pytest.fixture
def outsider_carol(db):
    return make_user("outsider_carol")


def _notification(channel, key, status=Status.PENDING, attempts=()):
    notification = Notification.objects.create(
        channel=channel, message=f"message {key}", dedupe_key=key, status=status
    )
    for outcome, error in attempts:
        NotificationAttempt.objects.create(
            notification=notification,
            claim_token="00000000-0000-0000-0000-000000000001",
            started_at=timezone.now(),
            finished_at=timezone.now(),
            outcome=outcome,
            error=error,
        )
    return notification


@pytest.fixture
def outbox_rows(db):
    slack = make_channel("tsa_ops", "slack", "#tsa_ops")
    mail = make_channel("kpi-mail", "email", "ops@example.org")
    return {
        "failed": _notification(
            slack,
            "a",
            Status.FAILED,
            [("permanent_error", "Slack answered HTTP 200 channel_not_found")],
        ),
        "sent": _notification(
            slack, "b", Status.SENT, [("transient_error", "HTTP 500"), ("sent", "")]
        ),
        "pending": _notification(mail, "c"),
    }


def test_viewer_filters_notifications_by_status_and_channel(viewer_bob, outbox_rows):
    client = api_client(viewer_bob)
    failed = client.get("/api/v1/notifications/", {"status": "failed"}).json()["results"]
    assert [n["id"] for n in failed] == [outbox_rows["failed"].pk]
    assert failed[0]["channel"] == "tsa_ops"
    assert failed[0]["attempt_log"][0]["outcome"] == "permanent_error"
    assert "channel_not_found" in failed[0]["attempt_log"][0]["error"]

    by_channel = client.get("/api/v1/notifications/", {"channel": "kpi-mail"}).json()["results"]
    assert [n["id"] for n in by_channel] == [outbox_rows["pending"].pk]


def test_bad_status_filter_is_a_400_naming_the_field(viewer_bob, outbox_rows):
    response = api_client(viewer_bob).get("/api/v1/notifications/", {"status": "lost"})
    assert response.status_code == 400
    assert "status" in response.json()


def test_listing_costs_the_same_queries_for_more_rows(
    viewer_bob, outbox_rows, django_assert_num_queries
):
    client = api_client(viewer_bob)
    channel = make_channel("hook-mail", "email", "x@example.org")
    for n in range(15):
        _notification(channel, f"extra-{n}", Status.SENT, [("sent", "")])
    # token, user perms, group perms, count, page with channel, attempts prefetch
    with django_assert_num_queries(6):
        response = client.get("/api/v1/notifications/")
    assert response.json()["count"] == 18


def test_notifications_api_is_read_only_and_permission_scoped(
    admin_client_token, outsider_carol, outbox_rows
):
    pk = outbox_rows["failed"].pk
    assert api_client(outsider_carol).get("/api/v1/notifications/").status_code == 403
    assert admin_client_token.post("/api/v1/notifications/", {}).status_code == 405
    assert admin_client_token.delete(f"/api/v1/notifications/{pk}/").status_code == 405
    assert admin_client_token.get(f"/api/v1/notifications/{pk}/").json()["status"] == "failed"


def test_admin_shows_every_attempt_and_cannot_edit_or_delete(admin_client, outbox_rows):
    sent = outbox_rows["sent"]
    changelist = admin_client.get(
        reverse("admin:ops_notification_changelist"), {"status": "failed"}
    )
    assert changelist.status_code == 200
    assert "Retry the selected failed notifications" in changelist.content.decode()
    page = admin_client.get(reverse("admin:ops_notification_change", args=[sent.pk]))
    assert page.status_code == 200
    body = page.content.decode()
    assert "HTTP 500" in body and "transient error" in body
    assert admin_client.get(reverse("admin:ops_notification_add")).status_code == 403
    delete = admin_client.post(
        reverse("admin:ops_notification_delete", args=[sent.pk]), {"post": "yes"}
    )
    assert delete.status_code == 403
    assert Notification.objects.filter(pk=sent.pk).exists()


def test_admin_retry_only_requeues_failed_rows(
    admin_client, outbox_rows, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = admin_client.post(
            reverse("admin:ops_notification_changelist"),
            {
                "action": "retry_failed",
                "_selected_action": [outbox_rows["failed"].pk, outbox_rows["sent"].pk],
            },
            follow=True,
        )
    body = response.content.decode()
    assert "1 notification(s) queued again." in body
    assert "1 skipped: only failed notifications can be retried." in body
    assert len(callbacks) == 1
    failed = Notification.objects.get(pk=outbox_rows["failed"].pk)
    assert (failed.status, failed.budget_start) == (Status.PENDING, failed.attempts)
    assert Notification.objects.get(pk=outbox_rows["sent"].pk).status == Status.SENT
