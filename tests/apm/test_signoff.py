"""Data-source sign-off (renewed by program staff, audited) and stale data, flagged in words."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apm import signoff
from apm.models import Baseline
from ops.models import AuditEntry
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def housing():
    staff = f.group("Housing staff")
    program = f.program(code="fast-track", name="Fast-Track Housing", owner_group=staff)
    wait = f.baseline(
        program,
        name="avg_wait_days",
        clean=False,
        schedule="0 2 * * *",
        data_source="Case system, table housing_decisions, kept by the Housing data office",
    )
    return program, wait, f.staff_user("staff_alice", staff)


def loaded(baseline) -> Baseline:
    return Baseline.objects.with_data_age().select_related("validated_by").get(pk=baseline.pk)


def test_staff_sign_off_through_the_api_and_it_is_audited(housing):
    _, wait, alice = housing
    answer = f.api_client(alice).post(f"/api/v1/baselines/{wait.pk}/sign-off/")
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["validated_by"] == "staff_alice" and body["validated_at"]
    assert body["data_source"].startswith("Case system")
    wait.refresh_from_db()
    assert wait.validated_by == alice
    assert timezone.now() - wait.validated_at < timedelta(minutes=1)
    entry = AuditEntry.objects.filter(topic="apm.config").latest("id")
    assert entry.actor == "staff_alice"
    assert entry.payload["id"] == wait.pk and "validated_at" in entry.payload["fields"]
    assert entry.payload["fields"]["validated_by"] == {"from": None, "to": alice.pk}


def test_only_the_programs_staff_may_sign_off(housing):
    _, wait, alice = housing
    url = f"/api/v1/baselines/{wait.pk}/sign-off/"
    outsider = f.staff_user("outsider_carol", f.group("Transit staff"))
    assert f.api_client(f.viewer_user("viewer_bob")).post(url).status_code == 403
    assert f.api_client(outsider).post(url).status_code == 404
    assert f.api_client().post(url).status_code in (401, 403)
    assert f.api_client(alice).post("/api/v1/baselines/999999/sign-off/").status_code == 404
    wait.refresh_from_db()
    assert wait.validated_at is None
    assert not AuditEntry.objects.filter(topic="apm.config", payload__id=wait.pk).exists()
    with pytest.raises(signoff.NotYours):
        signoff.renew(wait, actor=outsider)


def test_data_source_is_written_through_the_api_and_its_length_is_checked(housing):
    _, wait, alice = housing
    client = f.api_client(alice)
    url = f"/api/v1/baselines/{wait.pk}/"
    assert client.patch(url, {"data_source": "x" * 2001}, format="json").status_code == 400
    answer = client.patch(url, {"data_source": "Weekly report of the office"}, format="json")
    assert answer.status_code == 200
    assert answer.json()["data_source"] == "Weekly report of the office"
    assert (
        client.patch(url, {"validated_at": "2020-01-01T00:00:00Z"}, format="json").json()[
            "validated_at"
        ]
        is None
    )  # read-only: only the sign-off sets it


def test_changing_the_source_or_its_query_clears_the_sign_off_and_other_edits_keep_it(housing):
    _, wait, alice = housing
    signoff.renew(wait, actor=alice)
    wait = Baseline.objects.get(pk=wait.pk)
    wait.schedule = "0 3 * * *"
    wait.save()
    assert Baseline.objects.get(pk=wait.pk).validated_at is not None
    for field, value in [("data_source", "Another system"), ("probe_query", "SELECT 1")]:
        signoff.renew(wait, actor=alice)
        wait = Baseline.objects.get(pk=wait.pk)
        setattr(wait, field, value)
        wait.save()
        fresh = Baseline.objects.get(pk=wait.pk)
        assert (fresh.validated_at, fresh.validated_by) == (None, None), field


def test_the_admin_action_signs_off_only_the_users_programs(client, housing):
    _, wait, alice = housing
    theirs = f.baseline(f.program(owner_group=f.group("Transit staff")), clean=False)
    client.force_login(alice)
    answer = client.post(
        "/admin/apm/baseline/",
        {"action": "sign_off", "_selected_action": [wait.pk, theirs.pk]},
        follow=True,
    )
    assert answer.status_code == 200
    wait.refresh_from_db()
    theirs.refresh_from_db()
    assert wait.validated_by == alice and theirs.validated_at is None


def test_unsigned_and_out_of_date_sign_offs_are_flagged(housing, settings):
    _, wait, alice = housing
    now = timezone.now()
    unsigned = signoff.check(loaded(wait), now)
    assert unsigned.state == "unsigned" and not unsigned.ok
    assert unsigned.flags == [
        "Data source not signed off: program staff have not vouched for it yet."
    ]
    settings.HMS_VALIDATION_MAX_AGE_DAYS = 30
    signoff.renew(wait, actor=alice, at=now - timedelta(days=29))
    fresh = signoff.check(loaded(wait), now)
    assert fresh.ok and fresh.signed == "Signed off by staff_alice 4\xa0weeks, 1\xa0day ago"
    signoff.renew(wait, actor=alice, at=now - timedelta(days=31))
    old = signoff.check(loaded(wait), now)
    assert old.state == "stale_signoff"
    assert old.flags == ["Sign-off out of date: given 1\xa0month ago, renew it every 30 days."]


def test_data_older_than_three_scheduled_runs_is_stale(housing):
    _, wait, alice = housing
    signoff.renew(wait, actor=alice)
    now = timezone.now()
    assert not signoff.check(loaded(wait), now).stale_data  # never measured: not "stale"
    f.deviation(wait, 25, days_ago=1.5)
    assert signoff.check(loaded(wait), now).ok  # a daily schedule: one or two runs missed
    f.deviation(wait, None, days_ago=0.1)  # a run without data brings no data
    f.deviation(wait, 26, days_ago=4)  # older than the newest value: changes nothing
    assert signoff.check(loaded(wait), now).ok
    later = now + timedelta(days=3)
    stale = signoff.check(loaded(wait), later)
    assert stale.stale_data
    assert stale.flags[0].startswith("Stale data: the newest value was measured 4")
    assert "3 or more scheduled runs ago." in stale.flags[0]


def test_the_pages_flag_unsigned_sources_and_stale_data_in_words(client, housing):
    _, wait, alice = housing
    f.deviation(wait, 25, days_ago=10)
    client.force_login(alice)
    for url in ("/dashboard/", "/dashboard/review/"):  # a few words in cards and cells
        html = client.get(url).content.decode()
        assert "⚠ Data source not signed off</li>" in html, url
        assert "⚠ Stale data: newest value 1\xa0week, 3\xa0days ago</li>" in html, url
    page = client.get(f"/dashboard/baselines/{wait.pk}/").content.decode()
    assert "Data source not signed off: program staff have not vouched for it yet." in page
    assert "Stale data: the newest value was measured 1\xa0week, 3\xa0days ago" in page
    assert "Case system, table housing_decisions" in page
    signoff.renew(wait, actor=alice)
    f.deviation(wait, 25)
    for url in ("/dashboard/", "/dashboard/review/", f"/dashboard/baselines/{wait.pk}/"):
        html = client.get(url).content.decode()
        assert "Data source not signed off" not in html and "Stale data" not in html, url
        assert "Signed off by staff_alice just now" in html, url


@pytest.mark.parametrize("schedule", ["*/15 * * * *", "0 6 * * *", "30 2 * * 1", "0 0 1 * *"])
def test_stale_data_is_three_fire_times_after_the_newest_value_to_the_minute(schedule):
    """The one-line-per-schedule rule equals stepping three fire times from each newest value."""
    from datetime import UTC, datetime, timedelta

    from apm import cron

    at = datetime(2026, 12, 2, 13, 37, 20, tzinfo=UTC)
    line = cron.previous(schedule, at)
    for _ in range(2):
        line = cron.previous(schedule, line - timedelta(minutes=1))
    for newest in (line - timedelta(seconds=1), line, line + timedelta(seconds=59)):
        due = newest
        for _ in range(signoff.STALE_RUNS):
            due = cron.next_after(schedule, due)
        assert signoff.data_is_stale(schedule, newest, at) is (due <= at), (schedule, newest)
    assert signoff.data_is_stale(schedule, line - timedelta(seconds=1), at)
    assert not signoff.data_is_stale(schedule, line, at)
