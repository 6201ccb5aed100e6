"""The public scorecard: reachable logged out, only public programs, nothing internal."""

import pytest

from tests import factories as f

pytestmark = pytest.mark.django_db


def test_root_sends_anonymous_visitors_to_the_public_scorecard_and_users_to_the_dashboard(
    client, django_user_model
):
    assert client.get("/").url == "/public/"
    client.force_login(django_user_model.objects.create_user("viewer_bob", password="pw"))
    assert client.get("/").url == "/dashboard/"


def test_logged_out_visitors_see_public_programs_with_targets_status_and_trend(client):
    housing_staff = f.group("Housing staff")
    public = f.program(name="Fast-Track Housing Voucher", owner_group=housing_staff, public=True)
    wait = f.ledger_baseline(public, name="housing_wait_days", target_value=14)
    f.deviation(wait, 12, days_ago=3)
    f.deviation(wait, 21)  # latest: 50 % over the target, a breach
    f.program(name="Internal Audit Backlog", owner_group=housing_staff, public=False)

    answer = client.get("/public/")

    assert answer.status_code == 200
    html = answer.content.decode()
    assert "Fast-Track Housing Voucher" in html and public.authority in html
    assert "housing_wait_days" in html and "≤ 14" in html
    assert 'class="state state-breach"' in html and ">Breach<" in html
    assert '"line": 14.0' in html and "21.0" in html  # the trend chart's data and target line
    assert "Internal Audit Backlog" not in html


def test_the_scorecard_shows_no_owner_group_query_or_evidence(client):
    housing_staff = f.group("Housing staff secret team")
    public = f.program(owner_group=housing_staff, public=True)
    wait = f.ledger_baseline(public, name="housing_wait_days")
    f.deviation(wait, None, error="connection refused by prometheus.internal:9090")

    html = client.get("/public/").content.decode()

    assert "housing_wait_days" in html and ">No data<" in html
    for secret in (
        housing_staff.name,
        f.SECRET_QUERY,
        "housing_private_ledger",
        "prometheus.internal",
        "formula",
        "raw_result",
        "/admin/apm/",
        "/dashboard/baselines/",
    ):
        assert secret not in html, secret


def test_inactive_baselines_are_not_published(client):
    public = f.program(public=True, owner_group=None)
    f.ledger_baseline(public, name="retired_promise", active=False)
    assert "retired_promise" not in client.get("/public/").content.decode()


def test_query_count_of_the_scorecard_does_not_grow_with_programs(
    client, django_assert_num_queries
):
    def add(n):
        for _ in range(n):
            b = f.ledger_baseline(f.program(public=True, owner_group=None))
            f.deviation(b, 10)

    add(3)
    # count, programs, baselines with latest status, trend, explanations
    with django_assert_num_queries(6):  # + the maintenance windows (one statement)
        assert client.get("/public/").status_code == 200
    add(15)
    with django_assert_num_queries(6):  # + the maintenance windows (one statement)
        assert client.get("/public/").status_code == 200


def test_a_promise_the_monitor_cannot_measure_is_not_shown_as_broken(client, settings):
    """The README's SDK example on the embedded default: a promql baseline, no Prometheus."""
    from apm import services
    from apm.models import Baseline

    settings.PROMETHEUS_URL = None
    public = f.program(name="Fast-Track Housing Voucher", public=True)
    wait = Baseline(
        program=public,
        name="avg_wait_days",
        target_value=30,
        probe_kind=Baseline.ProbeKind.PROMQL,
        probe_query="rate(housing_wait_days_sum[7d]) / rate(housing_wait_count[7d])",
    )
    wait.full_clean()  # Prometheus unreachable: saved, unverified
    wait.save()
    deviation = services.run_baseline(wait)
    assert deviation.status == "error" and deviation.deviation_pct == 100  # the product's rule

    html = client.get("/public/").content.decode()
    card = html[html.index("<h3>avg_wait_days</h3>") :].split("</div>")[0]
    assert "state-error" not in card and ">Error<" not in card
    assert 'class="state state-measuring">Not measured<' in card
    assert "its data source is not connected yet" in card
    assert "fault of the monitor, not a verdict on the promise" in card
