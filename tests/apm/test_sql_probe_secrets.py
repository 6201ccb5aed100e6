"""Nothing but numbers leaves a probe: a secret the probe role can read reaches no reader.

The reporting schema holds ``api_keys.secret`` (tests/support/sql_probe.py), readable
by the probe role on purpose. Probes that try to bring it out (as text, as the second
column or row, inside a cast's error message, ...) must leave it in no API response,
page, admin page, audit payload, outbox row, ticket, or Slack message.
"""

import json

import pytest
from django.db import connection
from django.urls import reverse

from apm import services
from apm.models import Baseline, Escalation, Ticket
from ops.models import AuditEntry, Notification, NotificationAttempt
from ops.outbox import services as outbox
from tests import factories as f
from tests.support.slack import TOKEN, FakeSlack
from tests.support.sql_probe import SECRET

pytestmark = pytest.mark.django_db
POSTGRES = connection.vendor == "postgresql"

LEAKS = [
    "SELECT secret FROM api_keys",
    "SELECT 1, secret FROM api_keys",
    "SELECT secret FROM api_keys UNION ALL SELECT secret FROM api_keys",
    "SELECT 1 UNION ALL SELECT length(secret) FROM api_keys",
    "SELECT upper(secret) FROM api_keys WHERE owner = 'ops-bot'",
]
if POSTGRES:  # error messages that quote the value they failed on
    LEAKS += [
        "SELECT secret::numeric FROM api_keys",
        "SELECT CAST((SELECT secret FROM api_keys) AS integer)",
        "SELECT to_json(secret)::text::float FROM api_keys",
        "SELECT jsonb_build_object('k', secret)::text::numeric FROM api_keys",
        "SELECT (secret || '')::date - date '2000-01-01' FROM api_keys",
        "SELECT xmlparse(document secret)::text::int FROM api_keys",
        "SELECT secret::regclass::oid::int FROM api_keys",
        "SELECT ('{' || secret || '}')::int[] FROM api_keys",
        "SELECT pg_catalog.pg_size_bytes(secret) FROM api_keys",
    ]


@pytest.fixture
def slack(settings):
    with FakeSlack() as fake:
        settings.SLACK_API_URL = fake.api_url
        settings.SLACK_BOT_TOKEN = TOKEN
        yield fake


def _baseline(program, query):
    try:
        return f.baseline(program, probe_query=query)
    except Exception:  # refused at save (e.g. two columns): the run must be safe anyway
        return f.baseline(program, probe_query=query, clean=False)


def test_the_probe_role_can_read_the_secret_so_the_test_means_something():
    baseline = f.baseline(probe_query="SELECT length(secret) FROM api_keys")
    assert services.run_baseline(baseline).actual == len(SECRET)


@pytest.mark.django_db(transaction=True)  # deliver() sends outside a transaction
def test_a_secret_read_by_a_probe_appears_in_no_response_page_audit_or_message(
    client, api, staff_alice, viewer_bob, slack
):
    program = f.program()
    f.kpi_alerts_and_tickets(program, min_level="info")
    baselines = [_baseline(program, query) for query in LEAKS]
    runs = [services.run_baseline(b) for b in baselines]
    assert all(run.actual is None for run in runs)  # none of them is a number
    assert Escalation.objects.count() == len(LEAKS)  # each one is red and escalated
    for notification in Notification.objects.all():
        outbox.deliver(notification.pk)
    assert len(slack.messages) == len(LEAKS)  # the channel messages were sent
    # an API run as well (its response is one more place the error goes)
    run_response = api(staff_alice).post(f"/api/v1/baselines/{baselines[0].pk}/run/")
    assert run_response.status_code in (200, 201), run_response.content

    seen = [run_response.content.decode()]
    for user in (staff_alice, viewer_bob):
        client_api = api(user)
        for url in [
            "/api/v1/deviations/",
            "/api/v1/baselines/",
            "/api/v1/escalations/",
            "/api/v1/tickets/",
            *(f"/api/v1/deviations/{run.pk}/" for run in runs),
            *(f"/api/v1/escalations/{e.pk}/" for e in Escalation.objects.all()),
        ]:
            response = client_api.get(url)
            seen.append(f"{url} {response.status_code} {response.content.decode()}")
        client.force_login(user)
        for url in [
            reverse("apm_pages:dashboard"),
            *(reverse("apm_pages:baseline", args=[b.pk]) for b in baselines),
            reverse("apm_pages:public"),
        ]:
            seen.append(client.get(url).content.decode())
    client.force_login(staff_alice)
    for baseline, run in zip(baselines, runs, strict=True):
        seen.append(client.get(reverse("admin:apm_baseline_change", args=[baseline.pk])).content)
        seen.append(client.get(reverse("admin:apm_deviation_change", args=[run.pk])).content)
    seen.append(client.get(reverse("admin:apm_escalation_changelist")).content)
    seen += [json.dumps(entry.payload) for entry in AuditEntry.objects.all()]
    seen += [
        f"{n.message} {json.dumps(n.payload)} {n.last_error}" for n in Notification.objects.all()
    ]
    seen += [f"{a.error} {json.dumps(a.detail)}" for a in NotificationAttempt.objects.all()]
    seen += [f"{t.title} {t.body}" for t in Ticket.objects.all()]
    seen += [request.body.decode("utf-8", "replace") for request in slack.requests]
    seen += [json.dumps(m) for m in slack.messages]
    seen += [json.dumps(run.evidence) for run in runs]
    seen += [e.message for e in Escalation.objects.all()]

    text = "\n".join(s.decode() if isinstance(s, bytes) else s for s in seen)
    assert "the query" in text  # the errors are there, saying what failed ...
    assert SECRET not in text  # ... and never what the probe read
    assert SECRET.upper() not in text
    assert SECRET[len("hms-secret-") :] not in text
    assert Baseline.objects.count() == len(LEAKS)
