"""Completeness: the fraction of the evaluated window the samples cover (docs/VERDICTS.md),
exact for ``metric`` probes, flagged on the pages below HMS_COMPLETENESS_MIN, in the API."""

from datetime import UTC, datetime, timedelta

import pytest

from apm import quality, services
from apm.models import Deviation
from apm.review.quarters import Quarter
from ops.models import Sensor
from tests import factories as f
from tests.factories import make_service, readings

pytestmark = pytest.mark.django_db

AT = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SERVICE = "DCA_Luggage_Scanner"


def run(window: str, **fields):
    query = f'avg(queue_time_seconds{{service="{SERVICE}"}}[{window}])'
    baseline = f.baseline(probe_kind="metric", probe_query=query, target_value=30, **fields)
    return services.run_baseline(baseline, at=AT)


@pytest.fixture
def pushed():
    make_service()  # no scrape_url: a pushed sensor, spaced by its samples' median spacing


def test_a_full_window_is_complete(pushed):
    readings(SERVICE, [1.0] * 100, end=AT)  # one a second: (AT - 100 s, AT] holds 100
    deviation = run("100s")
    assert (deviation.sample_count, deviation.completeness) == (100, 1.0)
    assert "100 % complete" in quality.describe(deviation, AT)


def test_half_a_window_is_half_complete(pushed):
    readings(SERVICE, [1.0] * 50, end=AT)  # the last 50 s of 100
    assert run("100s").completeness == 0.5


def test_a_gap_leaves_out_its_samples_and_not_the_interval(pushed):
    # Every 10 s over 10 minutes, but nothing for the 200 s in the middle: 40 of 60.
    readings(SERVICE, [1.0] * 20, end=AT, step=10)
    readings(SERVICE, [1.0] * 20, end=AT - timedelta(seconds=400), step=10)
    deviation = run("10m")
    assert deviation.sample_count == 40
    assert deviation.completeness == pytest.approx(40 / 60, abs=1e-4)


def test_a_scraped_sensor_is_expected_every_scrape_interval(pushed, settings):
    Sensor.objects.filter(service_id=SERVICE).update(scrape_url="http://127.0.0.1:9/metrics")
    settings.HMS_SCRAPE_SECONDS = 15
    readings(SERVICE, [1.0] * 10, end=AT, step=30)  # every 30 s: half the scrapes answered
    assert run("5m").completeness == 0.5


def test_a_period_baseline_covers_its_period_to_the_run(pushed):
    # Hourly for the last 10 days of November 1 .. November 23 12:00 (22.5 days): 240 of 540.
    readings(SERVICE, [1.0] * 240, end=AT, step=3600)
    deviation = run("period", period="month", period_tz="UTC")
    assert deviation.completeness == pytest.approx(240 / 540, abs=1e-4)


def test_an_empty_window_is_nothing_and_one_sample_cannot_tell(pushed):
    readings(SERVICE, [1.0], end=AT - timedelta(hours=1))
    empty = run("5m")
    assert (empty.status, empty.completeness) == (Deviation.Status.NO_DATA, 0.0)
    lone = run("2h")
    assert (lone.sample_count, lone.completeness) == (1, None)
    assert "completeness unknown: too few samples to tell their interval" in quality.describe(
        lone, AT
    )


def test_other_kinds_say_why_they_cannot_know(client, django_user_model):
    sql = f.baseline(probe_query="SELECT 1", target_value=1)
    deviation = services.run_baseline(sql, at=AT)
    assert deviation.completeness is None
    assert "completeness unknown: SQL rows have no sampling interval" in quality.describe(
        deviation, AT
    )
    client.force_login(django_user_model.objects.create_superuser("root_ann", password="pw"))
    page = client.get(f"/dashboard/baselines/{sql.pk}/").content.decode()
    data = page[page.index('data-role="data-quality"') :]
    data = data[: data.index("</dd>")]
    assert "1 sample (this baseline needs 1), completeness unknown: SQL rows have no" in data
    words = quality.describe({"source": "promql", "sample_count": 3}, AT)
    assert words == (
        "3 samples · completeness unknown: Prometheus does not tell HMS its scrape interval"
        " · Prometheus"
    )


@pytest.fixture
def incomplete():
    staff = f.group("Housing staff")
    program = f.program(code="fast-track", owner_group=staff)
    wait = f.ledger_baseline(program, name="avg_wait_days", target_value=30)
    sure = f.ledger_baseline(program, name="permits_issued", target_value=30)
    for baseline, complete in ((wait, 0.45), (sure, 0.95)):
        run_row = f.deviation(baseline, 25, days_ago=1 / 24)
        Deviation.objects.filter(pk=run_row.pk).update(
            sample_count=9, completeness=complete, source="metric"
        )
    return program, wait, sure, f.staff_user("staff_alice", staff)


FLAG = "Incomplete data: the newest value rests on 45 % of the samples its window should hold"


def test_low_completeness_is_flagged_on_the_baseline_and_review_pages(client, incomplete):
    _, wait, sure, alice = incomplete
    client.force_login(alice)
    page = client.get(f"/dashboard/baselines/{wait.pk}/").content.decode()
    assert FLAG in page and "(below 80 %)" in page
    assert "Incomplete data" not in client.get(f"/dashboard/baselines/{sure.pk}/").content.decode()
    review = client.get("/dashboard/review/").content.decode()
    assert review.count("Incomplete data: 45 % of the samples") == 1
    dashboard = client.get("/dashboard/").content.decode()
    assert dashboard.count("Incomplete data: 45 % of the samples") == 1


def test_the_threshold_is_a_setting(client, incomplete, settings):
    _, _, sure, alice = incomplete
    settings.HMS_COMPLETENESS_MIN = 0.99
    client.force_login(alice)
    page = client.get(f"/dashboard/baselines/{sure.pk}/").content.decode()
    assert "rests on 95 % of the samples its window should hold (below 99 %)" in page


def test_the_api_gives_completeness_and_its_flag(incomplete):
    program, wait, _, alice = incomplete
    api = f.api_client(alice)
    quarter = Quarter.containing(datetime.now(UTC))
    rows = api.get(f"/api/v1/programs/{program.pk}/review/?quarter={quarter}").json()["baselines"]
    by_name = {row["name"]: row for row in rows}
    assert by_name["avg_wait_days"]["source_check"]["low_completeness"] is True
    assert by_name["permits_issued"]["source_check"]["low_completeness"] is False
    assert by_name["avg_wait_days"]["data_quality"]["completeness"] == pytest.approx(0.45)
    results = api.get(f"/api/v1/deviations/?baseline={wait.pk}").json()["results"]
    assert [row["completeness"] for row in results] == [pytest.approx(0.45)]


def test_the_openapi_schema_says_what_completeness_is():
    api = f.api_client(f.staff_user("staff_bob", f.group("Housing staff")))
    schema = api.get("/api/schema/?format=json").json()
    field = schema["components"]["schemas"]["Deviation"]["properties"]["completeness"]
    assert field["readOnly"] is True and field.get("nullable") is True
    assert field["description"].startswith("Fraction of the evaluated window the samples cover")
    assert "cannot know" in field["description"]
