"""``escalations/``, ``escalation-policies/`` and ``tickets/`` as API.md describes them."""

import json

import pytest
from django.utils import timezone

from apm import escalations, services
from apm.models import Escalation, EscalationPolicy, Ticket
from ops.models import AuditEntry
from tests import factories as f

pytestmark = pytest.mark.django_db
SEED_YAML = (
    '- baseline: avg_wait_days\n  after_days_no_fix: 14\n  action: "recommend_leadership_review"\n'
)


@pytest.fixture
def housing(housing_staff):
    program = f.program(code="fast-track-housing", owner_group=housing_staff)
    baseline = f.baseline(program, name="avg_wait_days", probe_query="SELECT 37.2")
    services.run_baseline(baseline)
    return program


def test_staff_list_filter_acknowledge_and_resolve_their_escalations(api, staff_alice, housing):
    client = api(staff_alice)
    baseline = housing.baselines.get()
    [item] = client.get("/api/v1/escalations/", {"baseline": baseline.pk}).json()["results"]
    assert item["level"] == "critical" and item["status"] == "open"
    assert item["program"] == "fast-track-housing" and item["deviation_pct"] == pytest.approx(24.0)
    assert client.get("/api/v1/escalations/", {"status": "resolved"}).json()["results"] == []

    url = f"/api/v1/escalations/{item['id']}/"
    acked = client.post(url + "acknowledge/", {"note": "on it"}, format="json")
    assert acked.status_code == 200 and acked.json()["acknowledged_by"] == "staff_alice"
    resolved = client.post(url + "resolve/", {"note": "more case workers"}, format="json")
    assert resolved.status_code == 200
    assert (
        resolved.json()["status"] == "resolved" and "more case workers" in resolved.json()["note"]
    )
    assert client.post(url + "resolve/", {}, format="json").status_code == 409


def test_viewers_read_but_cannot_act_and_outsiders_see_nothing(
    api, viewer_bob, outsider_carol, staff_dave, housing
):
    escalation = Escalation.objects.get()
    url = f"/api/v1/escalations/{escalation.pk}/"
    assert api(viewer_bob).get(url).status_code == 200
    assert api(viewer_bob).post(url + "resolve/", {}).status_code == 403
    assert api(staff_dave).get("/api/v1/escalations/").json()["results"] == []
    assert api(staff_dave).post(url + "resolve/", {}).status_code == 404
    assert api(outsider_carol).get(url).status_code == 404
    assert Escalation.objects.get().status == "open"


def test_escalate_send_opens_then_updates(api, staff_alice, staff_dave, housing_staff):
    baseline = f.baseline(f.program(owner_group=housing_staff))
    client = api(staff_alice)
    payload = {"baseline": baseline.pk, "message": "Wait-time off by 24.0% (>30 days)",
               "level": "critical"}  # fmt: skip
    first = client.post("/api/v1/escalations/", payload, format="json")
    assert first.status_code == 201 and first.json()["source"] == "manual"
    again = client.post("/api/v1/escalations/", {**payload, "message": "still"}, format="json")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    bad = client.post("/api/v1/escalations/", {**payload, "level": "apocalyptic"}, format="json")
    assert bad.status_code == 400 and "level" in bad.json()
    hidden = api(staff_dave).post("/api/v1/escalations/", payload, format="json")
    assert hidden.status_code == 400 and "does not exist" in hidden.json()["baseline"][0]


def test_policies_accept_the_seeds_yaml_and_name_the_line_of_an_error(api, staff_alice, housing):
    client = api(staff_alice)
    created = client.post(
        "/api/v1/escalation-policies/", SEED_YAML, content_type="application/yaml"
    )
    assert created.status_code == 201, created.content
    [policy] = created.json()["policies"]
    assert policy["baseline_name"] == "avg_wait_days" and policy["after_days_no_fix"] == 14
    bad = client.post(
        "/api/v1/escalation-policies/",
        SEED_YAML.replace("after_days_no_fix", "after_days"),
        content_type="application/yaml",
    )
    assert bad.status_code == 400
    assert bad.json() == {
        "after_days": [
            "line 2: unknown key 'after_days'; known: baseline, program, after_days_no_fix, "
            "action, active"
        ]
    }
    assert EscalationPolicy.objects.count() == 1


def test_policies_json_crud_is_scoped_and_audited(api, staff_alice, viewer_bob, housing):
    client = api(staff_alice)
    created = client.post(
        "/api/v1/escalation-policies/",
        {"baseline": "avg_wait_days", "after_days_no_fix": 14},
        format="json",
    )
    assert created.status_code == 201, created.content
    url = f"/api/v1/escalation-policies/{created.json()['id']}/"
    assert client.patch(url, {"after_days_no_fix": 7}, format="json").status_code == 200
    duplicate = client.post(
        "/api/v1/escalation-policies/",
        {"baseline": housing.baselines.get().pk, "after_days_no_fix": 3},
        format="json",
    )
    assert duplicate.status_code == 400
    assert api(viewer_bob).patch(url, {"after_days_no_fix": 1}, format="json").status_code == 403
    assert client.delete(url).status_code == 204
    changes = [
        (e.payload["change"], e.actor)
        for e in AuditEntry.objects.filter(topic="apm.config", payload__model="escalationpolicy")
    ]
    assert changes == [
        ("created", "staff_alice"),
        ("updated", "staff_alice"),
        ("deleted", "staff_alice"),
    ]


def test_baseline_changes_through_the_api_are_audited_with_fields(api, staff_alice, housing):
    baseline = housing.baselines.get()
    response = api(staff_alice).patch(
        f"/api/v1/baselines/{baseline.pk}/", {"threshold_pct": 10}, format="json"
    )
    assert response.status_code == 200
    entry = AuditEntry.objects.filter(topic="apm.config").last()
    assert entry.actor == "staff_alice"
    assert entry.payload["model"] == "baseline" and entry.payload["change"] == "updated"
    assert entry.payload["fields"] == {"threshold_pct": {"from": 20.0, "to": 10.0}}


def test_tickets_filter_by_kind_and_status(api, viewer_bob, housing):
    escalation = Escalation.objects.get()
    for kind, status in [("escalation", "open"), ("leadership_review", "open"),
                         ("escalation", "closed")]:  # fmt: skip
        Ticket.objects.create(
            kind=kind, status=status, title=kind, baseline=escalation.baseline,
            escalation=escalation, dedupe_key=f"{kind}-{status}", created_at=timezone.now(),
        )  # fmt: skip
    client = api(viewer_bob)
    reviews = client.get("/api/v1/tickets/", {"kind": "leadership_review"}).json()["results"]
    assert [t["title"] for t in reviews] == ["leadership_review"]
    assert len(client.get("/api/v1/tickets/", {"status": "open"}).json()["results"]) == 2


def test_list_query_counts_do_not_grow_with_rows(
    api, staff_alice, housing_staff, django_assert_num_queries
):
    program = f.program(owner_group=housing_staff)
    client = api(staff_alice)

    def add_rows():
        baseline = f.baseline(program, probe_query="SELECT 99")
        services.run_baseline(baseline)
        escalation = Escalation.objects.get(baseline=baseline)
        escalations.acknowledge(escalation, actor=staff_alice)
        EscalationPolicy.objects.create(baseline=baseline, after_days_no_fix=3)
        Ticket.objects.create(
            kind="escalation", title="t", baseline=baseline, escalation=escalation,
            dedupe_key=f"t{baseline.pk}", created_at=timezone.now(), closed_by=staff_alice,
        )  # fmt: skip

    add_rows()
    for url in ["/api/v1/escalations/", "/api/v1/escalation-policies/", "/api/v1/tickets/"]:
        client.get(url)  # warm the user's permission cache
        with django_assert_num_queries(2):
            assert len(client.get(url).json()["results"]) == 1
    for _ in range(3):
        add_rows()
    for url in ["/api/v1/escalations/", "/api/v1/escalation-policies/", "/api/v1/tickets/"]:
        with django_assert_num_queries(2):
            assert len(client.get(url).json()["results"]) == 4


@pytest.mark.parametrize(
    "body",
    [
        {"baseline": "avg\x00wait", "after_days_no_fix": 3},
        {"baseline": 2**70, "after_days_no_fix": 3},
        {"baseline": ["avg_wait_days"], "after_days_no_fix": 3},
        {"baseline": "avg_wait_days", "program": "x\x00", "after_days_no_fix": 3},
        {"baseline": "avg_wait_days", "after_days_no_fix": 10**6},
        {"baseline": True, "after_days_no_fix": 3},
    ],
)
def test_odd_policy_input_is_a_400_naming_the_field(api, staff_alice, housing, body):
    response = api(staff_alice).post("/api/v1/escalation-policies/", body, format="json")
    assert response.status_code == 400
    assert set(response.json()) & {"baseline", "program", "after_days_no_fix"}
    assert not EscalationPolicy.objects.exists()


def test_a_yaml_body_elsewhere_is_a_400_not_a_500(api, staff_alice, housing):
    client = api(staff_alice)
    created = client.post(
        "/api/v1/escalation-policies/", SEED_YAML, content_type="application/yaml"
    ).json()["policies"][0]
    response = client.patch(
        f"/api/v1/escalation-policies/{created['id']}/", SEED_YAML, content_type="application/yaml"
    )
    assert response.status_code == 400


def test_odd_escalate_input_is_a_400(api, staff_alice, housing):
    client = api(staff_alice)
    for body in [
        {"baseline": 2**70, "message": "x"},
        {"baseline": housing.baselines.get().pk, "message": "x\x00y"},
        {"baseline": housing.baselines.get().pk, "message": ""},
    ]:
        assert client.post("/api/v1/escalations/", body, format="json").status_code == 400
    assert client.post(f"/api/v1/escalations/{2**70}/resolve/", {}).status_code == 404


def test_outsiders_and_other_staff_see_no_tickets_or_policies(
    api, staff_dave, outsider_carol, housing
):
    baseline = housing.baselines.get()
    ticket = Ticket.objects.create(
        kind="escalation", title="t", baseline=baseline, dedupe_key="t", created_at=timezone.now()
    )
    policy = EscalationPolicy.objects.create(baseline=baseline, after_days_no_fix=3)
    for user in (staff_dave, outsider_carol):
        client = api(user)
        assert client.get("/api/v1/tickets/").json()["results"] == []
        assert client.get(f"/api/v1/tickets/{ticket.pk}/").status_code == 404
        assert client.get(f"/api/v1/escalation-policies/{policy.pk}/").status_code == 404


def test_an_oversize_policy_yaml_is_a_400_from_the_loader(api, staff_alice, housing):
    body = SEED_YAML + "#" + "x" * 70_000 + "\n"
    response = api(staff_alice).post(
        "/api/v1/escalation-policies/", body, content_type="application/yaml"
    )
    assert response.status_code == 400
    assert "larger than 65536 bytes" in json.dumps(response.json())
    assert not EscalationPolicy.objects.exists()
