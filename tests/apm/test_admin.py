"""The staff's tool: scoped lists with status colours, the PromQL check on save, "Run now"."""

import pytest
from django.urls import reverse

from apm import services
from apm.models import Baseline, Deviation
from tests import factories as f

pytestmark = pytest.mark.django_db


def form_data(program, **changes):
    data = {
        "program": program.pk,
        "name": "avg_wait_days",
        "active": "on",
        "target_value": "30",
        "compare_op": "le",
        "threshold_pct": "20",
        "min_samples": "1",
        "probe_kind": "promql",
        "probe_query": f.VALID_HOUSING_QUERY,
        "schedule": "0 2 * * *",
    }
    data.update(changes)
    return data


@pytest.mark.services
def test_seeds_invalid_promql_is_refused_in_the_admin_form(
    client, staff_alice, prometheus, settings
):
    settings.PROMETHEUS_URL = prometheus.url
    program = f.program()
    client.force_login(staff_alice)
    response = client.post(
        reverse("admin:apm_baseline_add"),
        form_data(program, probe_query=f.SEED_INVALID_HOUSING_QUERY),
    )
    assert response.status_code == 200  # the form again, with the error
    errors = response.context["adminform"].form.errors["probe_query"]
    assert "parse error: binary expression must contain only scalar" in errors[0]
    assert not Baseline.objects.exists()

    response = client.post(reverse("admin:apm_baseline_add"), form_data(program))
    assert response.status_code == 302
    saved = Baseline.objects.get()
    assert saved.probe_verified is True
    assert saved.periodic_task is not None


def test_baseline_change_page_shows_latest_deviations_evidence_and_periodic_task(
    client, staff_alice
):
    baseline = f.baseline(probe_query="SELECT NULL")
    services.run_baseline(baseline)
    client.force_login(staff_alice)
    page = client.get(reverse("admin:apm_baseline_change", args=[baseline.pk])).content.decode()
    assert "the query returned NULL" in page  # the reason, inline
    assert "No data" in page
    assert (
        reverse("admin:django_celery_beat_periodictask_change", args=[baseline.periodic_task_id])
        in page
    )


def test_deviation_page_shows_evidence_read_only(client, staff_alice):
    deviation = services.run_baseline(f.baseline(probe_query="SELECT 37.2"))
    client.force_login(staff_alice)
    page = client.get(reverse("admin:apm_deviation_change", args=[deviation.pk])).content.decode()
    assert "(37.2 - 30) / 30 * 100 = 24" in page
    assert 'name="evidence"' not in page  # no editable field
    assert (
        client.post(reverse("admin:apm_deviation_change", args=[deviation.pk]), {}).status_code
        == 403
    )


def test_run_now_action_runs_only_the_users_own_baselines(client, staff_alice, staff_dave):
    mine = f.baseline(probe_query="SELECT 37.2")
    client.force_login(staff_alice)
    response = client.post(
        reverse("admin:apm_baseline_changelist"),
        {"action": "run_now", "_selected_action": [mine.pk]},
        follow=True,
    )
    assert Deviation.objects.get().trigger == Deviation.Trigger.ADMIN
    assert "Breach, deviation +24.0 %" in response.content.decode()

    # staff of another group do not even see it, so cannot run it
    client.force_login(staff_dave)
    client.post(
        reverse("admin:apm_baseline_changelist"),
        {"action": "run_now", "_selected_action": [mine.pk]},
    )
    assert Deviation.objects.count() == 1


def test_lists_are_scoped_coloured_and_filterable(client, staff_alice, staff_dave):
    program = f.program(code="fast-track-housing")
    red = f.baseline(program, name="avg_wait_days", probe_query="SELECT 37.2")
    green = f.baseline(program, name="approval_rate", probe_query="SELECT 25")
    services.run_baseline(red)
    services.run_baseline(green)
    client.force_login(staff_alice)
    url = reverse("admin:apm_baseline_changelist")
    page = client.get(url).content.decode()
    assert "#cf222e" in page and "#1a7f37" in page  # breach red, ok green
    only_red = client.get(url, {"latest_status": "breach"}).context["cl"].result_list
    assert [b.name for b in only_red] == ["avg_wait_days"]
    found = client.get(url, {"q": "approval"}).context["cl"].result_list
    assert [b.name for b in found] == ["approval_rate"]

    client.force_login(staff_dave)
    assert list(client.get(url).context["cl"].result_list) == []
    response = client.get(reverse("admin:apm_baseline_change", args=[red.pk]))
    assert response.status_code == 302  # "does not exist" → back to the admin index


@pytest.mark.parametrize(
    "page", ["admin:apm_baseline_changelist", "admin:apm_deviation_changelist",
             "admin:apm_program_changelist"],
)  # fmt: skip
def test_changelist_query_count_does_not_grow_with_rows(client, admin_user, page):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries_for_page():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse(page)).status_code == 200
        return len(captured)

    def add_rows():
        program = f.program()
        for _ in range(3):
            services.run_baseline(f.baseline(program))

    client.force_login(admin_user)
    add_rows()
    few = queries_for_page()
    add_rows()
    add_rows()
    assert queries_for_page() == few


def test_sql_probe_needs_permission_in_the_admin_too(client, staff_dave):
    transit = f.program(code="transit", owner_group=staff_dave.groups.get())
    client.force_login(staff_dave)
    response = client.post(
        reverse("admin:apm_baseline_add"),
        form_data(transit, probe_kind="sql", probe_query="SELECT 1"),
    )
    assert response.status_code == 200
    assert "apm.use_sql_probe" in response.context["adminform"].form.errors["probe_kind"][0]
    assert not Baseline.objects.exists()


def test_saving_while_prometheus_is_unreachable_warns_in_the_admin(client, staff_alice, settings):
    from tests.support.services import free_port

    settings.PROMETHEUS_URL = f"http://127.0.0.1:{free_port()}"
    client.force_login(staff_alice)
    response = client.post(reverse("admin:apm_baseline_add"), form_data(f.program()), follow=True)
    assert "Saved, but not verified: Prometheus unreachable" in response.content.decode()
    assert Baseline.objects.get().probe_verified is False
