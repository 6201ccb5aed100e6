"""Who may do what: every API endpoint and page, for every role, with the exact status.

Roles: ``admin`` (superuser), ``staff`` (staff of the program's owner group),
``outsider`` (staff of another program's group), ``viewer`` (the Viewers group:
reads APM), ``anonymous``, and ``ingest`` (a service's ingest key, which may only
write metrics of its own service). A refused write changes nothing: the rows of
every APM and OPS model are compared before and after.

``test_every_api_route_is_in_the_matrix`` fails when an endpoint is added
without a row here, so the table cannot fall behind the API.
"""

from datetime import timedelta

import pytest
from django.apps import apps
from django.urls import URLResolver, get_resolver
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from apm.models import Escalation, EscalationPolicy, EscalationRoute, Ticket
from apm.services import run_baseline
from apm.tickets import open_ticket
from ops.services import register_service
from tests import factories as f
from tests.factories import service_yaml

ROLES = ("admin", "staff", "outsider", "viewer", "anonymous", "ingest")
NEW_PROGRAM = {"code": "new-prog", "name": "New", "authority": "Act §1", "owner_group": "Housing"}
SAMPLE = {"service": "DCA_Luggage_Scanner", "name": "queue_time_seconds", "value": 12}
WINDOW = {"starts_at": "2030-01-10T02:00:00Z", "ends_at": "2030-01-10T04:00:00Z"}


def everyone(status, **overrides):
    """The same status for every signed-in role; anonymous and ingest keys get 401."""
    row = {"admin": status, "staff": status, "outsider": status, "viewer": status}
    row |= {"anonymous": 401, "ingest": 401}
    row.update(overrides)
    return row


# (url name, method, path template, body, {role: status})
# An outsider naming a program they cannot see gets the 400 of an unknown program
# ("object does not exist"), not a 403 that would confirm it exists.
MATRIX = [
    ("api-root", "get", "/api/v1/", None, everyone(200)),
    ("program-list", "get", "/api/v1/programs/", None, everyone(200)),
    (
        "program-list",
        "post",
        "/api/v1/programs/",
        NEW_PROGRAM,
        everyone(201, outsider=403, viewer=403),
    ),
    ("program-detail", "get", "/api/v1/programs/{program}/", None, everyone(200, outsider=404)),
    (
        "program-detail",
        "patch",
        "/api/v1/programs/{program}/",
        {"name": "Renamed"},
        everyone(200, outsider=404, viewer=403),
    ),
    (
        "program-detail",
        "delete",
        "/api/v1/programs/{program}/",
        None,
        everyone(409, outsider=404, viewer=403),
    ),
    ("baseline-list", "get", "/api/v1/baselines/", None, everyone(200)),
    (
        "baseline-list",
        "post",
        "/api/v1/baselines/",
        "new-baseline",
        everyone(201, outsider=400, viewer=403),
    ),
    ("baseline-detail", "get", "/api/v1/baselines/{baseline}/", None, everyone(200, outsider=404)),
    (
        "baseline-detail",
        "patch",
        "/api/v1/baselines/{baseline}/",
        {"threshold_pct": 10},
        everyone(200, outsider=404, viewer=403),
    ),
    (
        "baseline-detail",
        "delete",
        "/api/v1/baselines/{baseline}/",
        None,
        everyone(204, outsider=404, viewer=403),
    ),
    (
        "baseline-run",
        "post",
        "/api/v1/baselines/{baseline}/run/",
        {},
        everyone(201, outsider=404, viewer=403),
    ),
    (
        "baseline-backtest",
        "post",
        "/api/v1/baselines/{baseline}/backtest/",
        {"since": "2026-01-01T00:00:00Z", "until": "2026-01-03T00:00:00Z", "step": "1d"},
        everyone(200, outsider=404, viewer=403),
    ),
    (
        "baseline-run-many",
        "post",
        "/api/v1/baselines/run/",
        "run-many",
        everyone(202, outsider=400, viewer=403),
    ),
    # issue 18: the data-source sign-off (program staff)
    (
        "baseline-sign-off",
        "post",
        "/api/v1/baselines/{baseline}/sign-off/",
        None,
        everyone(200, outsider=404, viewer=403),
    ),
    ("deviation-list", "get", "/api/v1/deviations/", None, everyone(200)),
    (
        "deviation-detail",
        "get",
        "/api/v1/deviations/{deviation}/",
        None,
        everyone(200, outsider=404),
    ),
    ("service-list", "get", "/api/v1/services/", None, everyone(200)),
    (
        "service-list",
        "post",
        "/api/v1/services/",
        "new-service",
        everyone(201, staff=403, outsider=403, viewer=403),
    ),
    ("service-detail", "get", "/api/v1/services/DCA_Luggage_Scanner/", None, everyone(200)),
    (
        "service-detail",
        "put",
        "/api/v1/services/DCA_Luggage_Scanner/",
        "scanner-update",
        everyone(200, staff=403, outsider=403, viewer=403),
    ),
    (
        "service-detail",
        "delete",
        "/api/v1/services/DCA_Luggage_Scanner/",
        None,
        everyone(204, staff=403, outsider=403, viewer=403),
    ),
    (
        "service-rotate-key",
        "post",
        "/api/v1/services/DCA_Luggage_Scanner/rotate-key/",
        {},
        everyone(200, staff=403, outsider=403, viewer=403),
    ),
    (
        "service-backtest",
        "post",
        "/api/v1/services/DCA_Luggage_Scanner/backtest/",
        {"since": "2026-01-01T00:00:00Z", "until": "2026-01-01T06:00:00Z", "step": "1h"},
        everyone(200),
    ),
    ("service-status", "get", "/api/v1/services/DCA_Luggage_Scanner/status/", None, everyone(200)),
    (
        "metrics-ingest",
        "post",
        "/api/v1/metrics/",
        SAMPLE,
        everyone(201, staff=403, outsider=403, viewer=403, ingest=201),
    ),
    (
        "series",
        "get",
        "/api/v1/series/?service=DCA_Luggage_Scanner&name=queue_time_seconds",
        None,
        everyone(200),
    ),
    (
        "audit-list",
        "get",
        "/api/v1/audit/",
        None,
        everyone(200, staff=403, outsider=403, viewer=403),
    ),
    (
        "audit-verify",
        "get",
        "/api/v1/audit/verify/",
        None,
        everyone(200, staff=403, outsider=403, viewer=403),
    ),
    (
        "audit-detail",
        "get",
        "/api/v1/audit/{audit}/",
        None,
        everyone(200, staff=403, outsider=403, viewer=403),
    ),
    (
        "notification-list",
        "get",
        "/api/v1/notifications/",
        None,
        everyone(200, staff=403, outsider=403, viewer=403),
    ),
    (
        "notification-detail",
        "get",
        "/api/v1/notifications/0/",
        None,
        everyone(404, staff=403, outsider=403, viewer=403),
    ),
    (
        "incident-list",
        "get",
        "/api/v1/incidents/",
        None,
        everyone(200, staff=403, outsider=403, viewer=403),
    ),
    (
        "incident-detail",
        "get",
        "/api/v1/incidents/0/",
        None,
        everyone(404, staff=403, outsider=403, viewer=403),
    ),
    (
        "incident-resolve",
        "post",
        "/api/v1/incidents/0/resolve/",
        None,
        everyone(404, staff=403, outsider=403, viewer=403),
    ),
    (
        # the matrix's service has no playbook step for the event: a 400 on "name"
        "service-events",
        "post",
        "/api/v1/services/DCA_Luggage_Scanner/events/",
        {"name": "unauthorized_login"},
        everyone(400, staff=403, outsider=403, viewer=403, ingest=400),
    ),
    ("escalation-list", "get", "/api/v1/escalations/", None, everyone(200)),
    (
        "escalation-list",
        "post",
        "/api/v1/escalations/",
        "escalate",
        # the baseline already has an open escalation: it is updated (200), not duplicated
        everyone(200, outsider=400, viewer=403),
    ),
    (
        "escalation-detail",
        "get",
        "/api/v1/escalations/{escalation}/",
        None,
        everyone(200, outsider=404),
    ),
    (
        "escalation-acknowledge",
        "post",
        "/api/v1/escalations/{escalation}/acknowledge/",
        {"note": "looking"},
        everyone(200, outsider=404, viewer=403),
    ),
    (
        "escalation-resolve",
        "post",
        "/api/v1/escalations/{escalation}/resolve/",
        {"note": "fixed"},
        everyone(200, outsider=404, viewer=403),
    ),
    ("escalation-policy-list", "get", "/api/v1/escalation-policies/", None, everyone(200)),
    (
        "escalation-policy-list",
        "post",
        "/api/v1/escalation-policies/",
        "new-policy",
        everyone(201, outsider=400, viewer=403),
    ),
    (
        "escalation-policy-detail",
        "get",
        "/api/v1/escalation-policies/{policy}/",
        None,
        everyone(200, outsider=404),
    ),
    (
        "escalation-policy-detail",
        "patch",
        "/api/v1/escalation-policies/{policy}/",
        {"after_days_no_fix": 7},
        everyone(200, outsider=404, viewer=403),
    ),
    (
        "escalation-policy-detail",
        "delete",
        "/api/v1/escalation-policies/{policy}/",
        None,
        everyone(204, outsider=404, viewer=403),
    ),
    ("ticket-list", "get", "/api/v1/tickets/", None, everyone(200)),
    ("ticket-detail", "get", "/api/v1/tickets/{ticket}/", None, everyone(200, outsider=404)),
    # issue 16: channels (admins), routes (program staff), snooze, schedules (admins write)
    ("channel-list", "get", "/api/v1/channels/", None, everyone(403, admin=200)),
    ("channel-list", "post", "/api/v1/channels/", "new-channel", everyone(403, admin=201)),
    ("channel-detail", "get", "/api/v1/channels/{channel}/", None, everyone(403, admin=200)),
    (
        "channel-detail",
        "patch",
        "/api/v1/channels/{channel}/",
        {"description": "x"},
        everyone(403, admin=200),
    ),
    # a route points at it: refused with a 409, not a 500
    ("channel-detail", "delete", "/api/v1/channels/{channel}/", None, everyone(403, admin=409)),
    ("route-list", "get", "/api/v1/routes/", None, everyone(200)),
    (
        "route-list",
        "post",
        "/api/v1/routes/",
        "new-route",
        everyone(201, outsider=403, viewer=403),
    ),
    ("route-detail", "get", "/api/v1/routes/{route}/", None, everyone(200, outsider=404)),
    (
        "route-detail",
        "patch",
        "/api/v1/routes/{route}/",
        {"min_level": "warning"},
        everyone(200, outsider=404, viewer=403),
    ),
    (
        "route-detail",
        "delete",
        "/api/v1/routes/{route}/",
        None,
        everyone(204, outsider=404, viewer=403),
    ),
    (
        "escalation-snooze",
        "post",
        "/api/v1/escalations/{escalation}/snooze/",
        "snooze",
        everyone(200, outsider=404, viewer=403),
    ),
    ("schedule-list", "get", "/api/v1/schedules/", None, everyone(200)),
    (
        "schedule-list",
        "post",
        "/api/v1/schedules/",
        {"name": "new-rota"},
        everyone(403, admin=201),
    ),
    ("schedule-detail", "get", "/api/v1/schedules/{schedule}/", None, everyone(200)),
    (
        "schedule-detail",
        "patch",
        "/api/v1/schedules/{schedule}/",
        {"shift_hours": 12},
        everyone(403, admin=200),
    ),
    ("schedule-detail", "delete", "/api/v1/schedules/{schedule}/", None, everyone(403, admin=204)),
    ("schedule-on-call", "get", "/api/v1/schedules/{schedule}/on-call/", None, everyone(200)),
    # issue 15: maintenance windows (program staff, like routes)
    ("maintenance-window-list", "get", "/api/v1/maintenance-windows/", None, everyone(200)),
    (
        "maintenance-window-list",
        "post",
        "/api/v1/maintenance-windows/",
        "new-window",
        everyone(201, outsider=400, viewer=403),
    ),
    (
        "maintenance-window-detail",
        "get",
        "/api/v1/maintenance-windows/{window}/",
        None,
        everyone(200, outsider=404),
    ),
    (
        "maintenance-window-detail",
        "patch",
        "/api/v1/maintenance-windows/{window}/",
        {"reason": "moved"},
        everyone(200, outsider=404, viewer=403),
    ),
    (
        "maintenance-window-detail",
        "delete",
        "/api/v1/maintenance-windows/{window}/",
        None,
        everyone(204, outsider=404, viewer=403),
    ),
    # issue 18: explanations (program staff), the quarterly review and the trail (readers)
    ("explanation-list", "get", "/api/v1/explanations/", None, everyone(200)),
    (
        "explanation-list",
        "post",
        "/api/v1/explanations/",
        "new-explanation",
        everyone(201, outsider=400, viewer=403),
    ),
    (
        "explanation-detail",
        "get",
        "/api/v1/explanations/{explanation}/",
        None,
        everyone(200, outsider=404),
    ),
    (
        "explanation-detail",
        "patch",
        "/api/v1/explanations/{explanation}/",
        {"plan": "Hire two more."},
        everyone(200, outsider=404, viewer=403),
    ),
    (
        "explanation-detail",
        "delete",
        "/api/v1/explanations/{explanation}/",
        None,
        everyone(204, outsider=404, viewer=403),
    ),
    (
        "program-review",
        "get",
        "/api/v1/programs/{program}/review/",
        None,
        everyone(200, outsider=404),
    ),
    (
        "program-trail",
        "get",
        "/api/v1/programs/{program}/trail/",
        None,
        everyone(200, outsider=404),
    ),
    # issue 17: Alertmanager's webhook takes a receiver or ingest key, never a user token
    ("alertmanager", "post", "/api/v1/alertmanager/", "alert", everyone(401, ingest=200)),
]

PAGES = [
    # (path, {role: status}); pages use the session, ingest keys mean nothing there
    ("/healthz", dict.fromkeys(ROLES, 200)),
    ("/metrics", dict.fromkeys(ROLES, 200)),
    ("/api/schema/", everyone(200)),
    (
        "/admin/",
        {
            "admin": 200,
            "staff": 200,
            "outsider": 200,
            "viewer": 302,
            "anonymous": 302,
            "ingest": 302,
        },
    ),
    (
        "/admin/apm/program/",
        {
            "admin": 200,
            "staff": 200,
            "outsider": 200,
            "viewer": 302,
            "anonymous": 302,
            "ingest": 302,
        },
    ),
    (
        "/admin/ops/auditentry/",
        {
            "admin": 200,
            "staff": 403,
            "outsider": 403,
            "viewer": 302,
            "anonymous": 302,
            "ingest": 302,
        },
    ),
    ("/war-room/", everyone(200, anonymous=302, ingest=302)),
    ("/war-room/state.json", everyone(200, anonymous=401, ingest=401)),
    ("/dashboard/", everyone(200, anonymous=302, ingest=302)),
    ("/dashboard/baselines/{baseline}/", everyone(200, outsider=404, anonymous=302, ingest=302)),
    ("/public/", dict.fromkeys(ROLES, 200)),
]


@pytest.fixture
def world(db, django_user_model):
    # Program staff need no model permission: owning the group is what lets them edit.
    # (A group with apm.view_program would make its members viewers of everything.)
    housing = f.group("Housing")
    other = f.group("Transit")
    program = f.program(owner_group=housing)
    f.program(owner_group=other)
    baseline = f.baseline(program, probe_kind="promql", probe_query="up", clean=False)
    deviation = run_baseline(baseline)
    registration = register_service(service_yaml(), actor="test")
    # the probe cannot run here (no Prometheus): an error run, which opens an escalation
    escalation = Escalation.objects.get(baseline=baseline)
    policy = EscalationPolicy.objects.create(baseline=baseline, after_days_no_fix=14)
    ticket, _ = open_ticket(
        dedupe_key="matrix",
        kind=Ticket.Kind.LEADERSHIP_REVIEW,
        title="Review",
        baseline=baseline,
        escalation=escalation,
    )
    from ops.models import AuditEntry, Channel, Schedule

    channel = Channel.objects.create(name="matrix-slack", kind="slack", target="#matrix")
    Channel.objects.create(name="matrix-spare", kind="slack", target="#spare")
    route = EscalationRoute.objects.create(program=program, channel=channel)
    schedule = Schedule.objects.create(name="matrix-rota")
    from apm.models import Explanation

    explanation = Explanation.objects.create(
        baseline=baseline, period="2026Q3", why="Staff left.", plan="Hire.", due_date="2026-12-31"
    )
    from apm.models import MaintenanceWindow

    window = MaintenanceWindow.objects.create(
        program=program, starts_at=WINDOW["starts_at"], ends_at=WINDOW["ends_at"], reason="x"
    )

    users = {
        "admin": django_user_model.objects.create_superuser("admin_ada", "a@example.org", "pw"),
        "staff": f.staff_user("staff_alice", housing),
        "outsider": f.staff_user("outsider_carol", other),
        "viewer": f.viewer_user("viewer_bob"),
    }
    return {
        "users": users,
        "ingest_key": registration.ingest_key,
        "ids": {
            "program": program.pk,
            "baseline": baseline.pk,
            "deviation": deviation.pk,
            "escalation": escalation.pk,
            "unpolicied": f.baseline(program, name="unpolicied", probe_query="SELECT 1").pk,
            "policy": policy.pk,
            "ticket": ticket.pk,
            "channel": channel.pk,
            "route": route.pk,
            "schedule": schedule.pk,
            "explanation": explanation.pk,
            "window": window.pk,
            "audit": AuditEntry.objects.order_by("pk").values_list("pk", flat=True).first(),
        },
        "program": program,
    }


def client_for(role, world):
    client = APIClient()
    if role == "ingest":
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {world['ingest_key']}")
    elif role != "anonymous":
        token = Token.objects.create(user=world["users"][role])
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def body_for(spec, world):
    if spec == "new-baseline":
        return {
            "program": world["ids"]["program"],
            "name": "new_one",
            "target_value": 5,
            "compare_op": "le",
            "probe_kind": "promql",
            "probe_query": "up",
        }
    if spec == "run-many":
        return {"baselines": [world["ids"]["baseline"]]}
    if spec == "escalate":
        return {"baseline": world["ids"]["baseline"], "message": "by hand", "level": "warning"}
    if spec == "new-policy":
        return {
            "baseline": world["ids"]["unpolicied"],
            "after_days_no_fix": 14,
            "action": "recommend_leadership_review",
        }
    if spec == "new-channel":
        return {"name": "new-channel", "kind": "slack", "target": "#new"}
    if spec == "new-route":
        return {"program": world["ids"]["program"], "channel": "matrix-spare", "remind_every": "1d"}
    if spec == "snooze":
        return {"until": (timezone.now() + timedelta(days=1)).isoformat(), "note": "after Q2"}
    if spec == "new-explanation":
        return {
            "baseline": world["ids"]["baseline"],
            "period": "2026Q2",
            "why": "A late data feed.",
            "plan": "A second feed.",
            "due_date": "2026-09-30",
        }
    if spec == "new-window":
        return {"program": world["ids"]["program"], "reason": "ledger migration", **WINDOW}
    if spec == "alert":
        labels = {"alertname": "HighErrorRate", "service": "DCA_Luggage_Scanner"}
        alert = {"status": "firing", "labels": labels, "fingerprint": "0123abcd"}
        return {"version": "4", "status": "firing", "alerts": [alert]}
    if spec == "new-service":
        return service_yaml("New_Service")
    if spec == "scanner-update":
        return service_yaml(threshold=25)
    return spec


def snapshot():
    """Every row of every APM and OPS model (ordered), to prove a refusal wrote nothing."""
    rows = {}
    for app in ("apm", "ops"):
        for model in apps.get_app_config(app).get_models():
            if model._meta.model_name in {"workerheartbeat"}:
                continue
            rows[model._meta.label] = list(model.objects.order_by("pk").values())
    return rows


def call(client, method, path, body):
    if isinstance(body, str):
        return getattr(client, method)(path, data=body, content_type="application/yaml")
    return getattr(client, method)(path, body, format="json")


CASES = [
    pytest.param(
        name, method, path, body, role, expected[role], id=f"{method.upper()} {name} as {role}"
    )
    for name, method, path, body, expected in MATRIX
    for role in ROLES
]


@pytest.mark.parametrize(("name", "method", "path", "body", "role", "expected"), CASES)
def test_api_answers_each_role_exactly(world, name, method, path, body, role, expected):
    client = client_for(role, world)
    url = path.format(**world["ids"])
    before = snapshot() if method != "get" and expected >= 400 else None
    response = call(client, method, url, body_for(body, world))
    assert response.status_code == expected, response.content[:300]
    if before is not None:
        assert snapshot() == before, "a refused request changed the database"


@pytest.mark.parametrize(
    ("path", "role", "expected"),
    [
        pytest.param(path, role, row[role], id=f"{path} as {role}")
        for path, row in PAGES
        for role in ROLES
    ],
)
def test_pages_answer_each_role_exactly(world, client, path, role, expected):
    if role not in {"anonymous", "ingest"}:
        client.force_login(world["users"][role])
    headers = {"HTTP_AUTHORIZATION": f"Bearer {world['ingest_key']}"} if role == "ingest" else {}
    assert client.get(path.format(**world["ids"]), **headers).status_code == expected


def test_outsiders_lists_show_none_of_the_programs_rows(world):
    client = client_for("outsider", world)
    for path in ("/api/v1/baselines/", "/api/v1/deviations/"):
        assert client.get(path).json()["count"] == 0
    codes = [p["code"] for p in client.get("/api/v1/programs/").json()["results"]]
    assert world["program"].code not in codes


def test_an_ingest_key_cannot_write_another_services_metrics(world):
    register_service(service_yaml("Other_Service"), actor="test")
    client = client_for("ingest", world)
    before = snapshot()
    response = client.post(
        "/api/v1/metrics/", {**SAMPLE, "service": "Other_Service"}, format="json"
    )
    assert response.status_code == 403
    assert snapshot() == before


def _api_routes(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _api_routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif (prefix + str(pattern.pattern)).startswith("api/v1/"):
            yield pattern.name


def test_every_api_route_is_in_the_matrix():
    assert set(_api_routes(get_resolver().url_patterns)) <= {row[0] for row in MATRIX}
