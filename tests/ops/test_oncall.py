"""On-call schedules: who is on call, overrides, and the ``oncall`` channel on a real worker.

Done-when of issue 16: a schedule of three people with 8-hour shifts; pages at
03:00 and 11:00 (the clock pinned with ``HMS_TEST_CLOCK``) reach the two right
people; an override for 03:00 reaches the override. The seed's
``page channel=tsa_ops`` works unchanged when ``tsa_ops`` is an ``oncall`` channel.
"""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ops import outbox
from ops.models import ActionRun, AuditEntry, Incident, Notification, ScheduleOverride
from ops.oncall import services
from ops.services import register_service
from tests.factories import SCANNER_YAML, make_channel, readings
from tests.ops.oncall_factories import person, three_shifts
from tests.support.handoff import evaluate
from tests.support.services import wait_until
from tests.support.slack import TOKEN, FakeSlack
from tests.support.smtp_server import SmtpServer

NY = ZoneInfo("America/New_York")
DMS = {"oncall_alice": "U0ALICE01", "oncall_bob": "U0BOBBY01"}


def ny(day, hour, minute=0):
    return datetime(2026, 12, day, hour, minute, tzinfo=NY)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("at", "who"),
    [
        (ny(1, 7), "oncall_alice"),
        (ny(1, 11), "oncall_alice"),
        (ny(1, 14, 59), "oncall_alice"),
        (ny(1, 15), "oncall_bob"),
        (ny(1, 23), "oncall_carol"),
        (ny(2, 3), "oncall_carol"),
        (ny(2, 11), "oncall_alice"),
        (ny(1, 3), "oncall_carol"),  # before the first handoff: the rotation runs backwards too
        (datetime(2027, 3, 15, 11, 0, tzinfo=NY), "oncall_alice"),  # after the DST change
    ],
)
def test_the_rotation_follows_the_local_handoffs(at, who):
    schedule, _people = three_shifts()
    assert schedule.on_call(at)["user"].username == who


@pytest.mark.django_db
def test_the_latest_override_wins_while_it_lasts():
    schedule, (_alice, bob, carol) = three_shifts()
    dave = person("oncall_dave", slack="U0DAVID01")
    services.save_override(
        ScheduleOverride(schedule=schedule, user=bob, starts_at=ny(2, 0), ends_at=ny(2, 6)),
        actor="test",
    )
    services.save_override(
        ScheduleOverride(schedule=schedule, user=dave, starts_at=ny(2, 2), ends_at=ny(2, 4)),
        actor="test",
    )
    assert schedule.on_call(ny(2, 1))["user"] == bob
    shift = schedule.on_call(ny(2, 3))
    assert (shift["user"], shift["source"]) == (dave, "override")
    assert schedule.on_call(ny(2, 6))["user"] == carol
    changes = AuditEntry.objects.filter(topic="ops.schedule").values_list(
        "payload__change", flat=True
    )
    assert list(changes) == ["created", "override added", "override added"]


@pytest.mark.django_db
def test_bad_schedules_and_overrides_name_the_field():
    from ops.models import Schedule

    with pytest.raises(ValidationError) as error:
        Schedule(name="x", timezone="Mars/Olympus", shift_hours=0).full_clean()
    assert {"timezone", "shift_hours"} <= set(error.value.message_dict)
    schedule, (alice, *_rest) = three_shifts()
    with pytest.raises(ValidationError) as error:
        services.save_override(
            ScheduleOverride(schedule=schedule, user=alice, starts_at=ny(2, 5), ends_at=ny(2, 4))
        )
    assert "ends_at" in error.value.message_dict


@pytest.mark.django_db
def test_a_schedule_an_oncall_channel_pages_cannot_be_deleted():
    schedule, _people = three_shifts()
    make_channel("tsa_ops", "oncall", "tsa-primary")
    with pytest.raises(ValidationError, match="tsa_ops"):
        services.delete_schedule(schedule)


@pytest.fixture
def peers(settings):
    with FakeSlack(channels={"tsa_ops": "C0TSAOPS1", **DMS}) as slack, SmtpServer() as smtp:
        settings.SLACK_BOT_TOKEN, settings.SLACK_API_URL = TOKEN, slack.api_url
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp.port
        yield slack, smtp


def _page(settings, at, key):
    settings.HMS_TEST_CLOCK = at.astimezone(UTC)
    with transaction.atomic():
        notification = outbox.enqueue(
            "tsa_ops", "[critical] DCA_Luggage_Scanner: queue 38 s > 30 s", dedupe_key=key
        )
    return notification


def _settled(notification):
    def done():
        notification.refresh_from_db()
        return notification.status in {"sent", "failed"}

    wait_until(done, timeout=30, what=f"notification {notification.pk} to settle")
    return notification.attempt_log.last()


@pytest.mark.services
def test_pages_at_03_and_11_reach_the_people_on_call_then_and_an_override_wins(
    celery_worker, settings, peers
):
    slack, smtp = peers
    schedule, _people = three_shifts()
    make_channel("tsa_ops", "oncall", "tsa-primary")

    night = _settled(_page(settings, ny(2, 3), "page:03:00"))
    morning = _settled(_page(settings, ny(2, 11), "page:11:00"))
    assert (night.outcome, morning.outcome) == ("sent", "sent")
    assert night.detail["on_call"] == "oncall_carol" and night.detail["via"] == "email"
    assert morning.detail["on_call"] == "oncall_alice" and morning.detail["via"] == "slack"
    assert [envelope[1] for envelope in smtp.envelopes] == [["carol@example.org"]]
    assert [m["channel"] for m in slack.messages] == ["U0ALICE01"]

    dave = person("oncall_dave", slack="U0DAVID01")
    slack.channels["oncall_dave"] = "U0DAVID01"
    services.save_override(
        ScheduleOverride(schedule=schedule, user=dave, starts_at=ny(3, 2), ends_at=ny(3, 4)),
        actor="test",
    )
    covered = _settled(_page(settings, ny(3, 3), "page:override"))
    assert (covered.detail["on_call"], covered.detail["source"]) == ("oncall_dave", "override")
    assert [m["channel"] for m in slack.messages] == ["U0ALICE01", "U0DAVID01"]
    assert len(smtp.envelopes) == 1


@pytest.mark.services
def test_the_seeds_page_to_tsa_ops_reaches_the_person_on_call(celery_worker, settings, peers):
    from ops.playbook import runner

    slack, _smtp = peers
    three_shifts()
    make_channel("tsa_ops", "oncall", "tsa-primary")  # the seed's channel name, now a rotation
    settings.HMS_TEST_CLOCK = ny(2, 16).astimezone(UTC)  # bob's shift
    settings.KUBE_DRY_RUN = True
    at = timezone.now()
    register_service(SCANNER_YAML)
    readings("DCA_Luggage_Scanner", [38.0] * 10, end=at)
    evaluate(at)
    incident = Incident.objects.get(state=Incident.State.OPEN)
    page = ActionRun.objects.get(incident=incident, action="page")
    ActionRun.objects.filter(pk=page.pk).update(due_at=timezone.now() - timedelta(seconds=1))
    assert runner.execute(page.pk) == "succeeded"

    notification = Notification.objects.get(channel__name="tsa_ops")
    attempt = _settled(notification)
    assert attempt.detail["on_call"] == "oncall_bob"
    [dm] = slack.messages
    assert dm["channel"] == "U0BOBBY01" and "DCA_Luggage_Scanner" in dm["text"]
