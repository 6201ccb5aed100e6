"""Data quality on every verdict: samples, completeness, the newest sample's age and the source,
on the pages, in the review API and in the trail export."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from apm import quality
from apm.models import Deviation
from apm.review.quarters import Quarter
from tests import factories as f

pytestmark = pytest.mark.django_db

WORDS = "12 samples · 96 % complete · newest 3\xa0minutes ago · Prometheus"


@pytest.fixture
def measured():
    staff = f.group("Housing staff")
    program = f.program(code="fast-track", owner_group=staff)
    wait = f.ledger_baseline(program, name="avg_wait_days", target_value=30)
    now = timezone.now()
    for hours in (3, 2):  # the quarter's evaluations: quality only on the newest
        f.deviation(wait, 25, days_ago=hours / 24)
    newest = f.deviation(wait, 26, days_ago=20 / 86400)
    Deviation.objects.filter(pk=newest.pk).update(
        sample_count=12,
        completeness=0.96,
        newest_sample_at=now - timedelta(minutes=3, seconds=10),
        source="promql",
    )
    return program, wait, f.staff_user("staff_alice", staff)


def test_the_words_leave_out_what_the_probe_did_not_report():
    at = timezone.now()
    assert quality.describe({"sample_count": 1}, at) == "1 sample"
    # A missing completeness is not left out: it says why the probe kind cannot know it.
    assert quality.describe({"source": "sql: reporting.housing_decisions"}, at) == (
        "completeness unknown: SQL rows have no sampling interval · "
        "sql: reporting.housing_decisions"
    )
    assert quality.describe({}, at) == "data quality not recorded"
    assert quality.describe({"newest_sample_at": at - timedelta(hours=2)}, at, suffix="before") == (
        "newest 2\xa0hours before"
    )


def test_the_pages_show_the_verdicts_data_quality(client, measured):
    _, wait, alice = measured
    client.force_login(alice)
    for url in ("/dashboard/", f"/dashboard/baselines/{wait.pk}/", "/dashboard/review/"):
        html = client.get(url).content.decode()
        assert WORDS in html, url
    history = client.get(f"/dashboard/baselines/{wait.pk}/").content.decode()
    assert history.count('<td class="quality">not recorded</td>') == 2  # the two older runs


def test_the_review_api_gives_the_newest_evaluations_figures_and_the_sign_off(measured):
    program, _, alice = measured
    quarter = Quarter.containing(timezone.now())
    answer = f.api_client(alice).get(f"/api/v1/programs/{program.pk}/review/?quarter={quarter}")
    row = answer.json()["baselines"][0]
    assert row["data_quality"]["sample_count"] == 12
    assert row["data_quality"]["completeness"] == pytest.approx(0.96)
    assert row["data_quality"]["source"] == "promql"
    assert (
        row["data_quality"]["newest_sample_at"].endswith("Z")
        or "+" in (row["data_quality"]["newest_sample_at"])
    )
    assert row["data_quality_text"] == WORDS
    assert row["validated_by"] is None and row["source_check"]["signoff"] == "unsigned"


def test_the_trail_rows_carry_each_verdicts_data_quality(measured):
    program, _, alice = measured
    response = f.api_client(alice).get(f"/api/v1/programs/{program.pk}/trail/")
    rows = json.loads(b"".join(response.streaming_content))["rows"]
    deviations = [r for r in rows if r["kind"] == "deviation"]
    assert len(deviations) == 3
    assert deviations[-1]["detail"]["data_quality"]["sample_count"] == 12
    assert deviations[-1]["summary"].endswith(
        "12 samples · 96 % complete · newest 2\xa0minutes before the run · Prometheus"
    )
    assert deviations[0]["summary"].endswith("; data quality not recorded")
    csv_body = b"".join(
        f.api_client(alice)
        .get(f"/api/v1/programs/{program.pk}/trail/?format=csv")
        .streaming_content
    ).decode()
    assert '""sample_count"": 12' in csv_body
