"""The red-to-law trail: every step in order with its audit hash, and a tampered vault shown."""

import csv
import io
import json

import pytest
from django.db import connection, transaction
from rest_framework.test import APIClient

from apm import config_audit, escalations, explanations
from apm.models import Baseline, EscalationRoute, Explanation, Program, Ticket
from ops.models import AuditEntry, Channel, Notification
from ops.outbox.services import deliver
from tests import factories as f
from tests import factories as pf
from tests.support.services import require

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def story():
    """A program and its baseline: red, escalated, ticketed, explained, back to green."""
    staff = f.group("Housing staff")
    alice = f.staff_user("staff_alice", staff)
    program = config_audit.save(
        Program(
            code="fast-track",
            name="Fast-Track Housing Voucher",
            authority="Fast-Track Housing Voucher Act §4(b)",
            owner_group=staff,
        ),
        actor=alice,
    )
    baseline = Baseline(
        program=program,
        name="avg_wait_days",
        target_value=30,
        probe_kind="metric",
        probe_query='avg(wait_days{service="housing"}[7d])',
    )
    config_audit.save(baseline, actor=alice)
    baseline.threshold_pct = 10
    config_audit.save(baseline, actor=alice)
    channel = Channel(name="leadership", kind="ticket", target="escalation")
    channel.full_clean()
    channel.save()
    EscalationRoute.objects.create(program=program, channel=channel, min_level="info")
    with transaction.atomic():
        escalation = escalations.on_deviation(pf.deviation(baseline, 45.0))
    for notification in Notification.objects.all():
        deliver(notification.pk)
    explanation = Explanation(
        baseline=baseline, period="2026Q4", why="Staff left.", plan="Hire.", due_date="2027-03-31"
    )
    explanations.save(explanation, actor=alice)
    with transaction.atomic():
        escalations.on_deviation(pf.deviation(baseline, 25.0))
    return program, baseline, escalation, alice


def export(user, program, **params):
    client = APIClient()
    client.force_authenticate(user)
    response = client.get(f"/api/v1/programs/{program.pk}/trail/", params)
    assert response.status_code == 200, getattr(response, "content", b"")[:300]
    return b"".join(response.streaming_content).decode()


def test_the_trail_holds_every_step_from_law_to_fix_in_order_with_hashes(story):
    program, _, escalation, alice = story
    trail = json.loads(export(alice, program))

    assert trail["chain"]["ok"] is True
    assert trail["program"]["authority"] == "Fast-Track Housing Voucher Act §4(b)"
    kinds = [row["kind"] for row in trail["rows"]]
    assert kinds[0] == "authority"
    order = [
        "configuration",  # the program
        "configuration",  # the baseline created
        "configuration",  # its threshold edited
        "deviation",  # red
        "escalation",  # opened
        "ticket",  # the route's ticket
        "notification",  # delivered
        "explanation",
        "deviation",  # green
        "escalation",  # resolved
    ]
    it = iter(kinds[1:])
    assert all(kind in it for kind in order), kinds
    edits = [r for r in trail["rows"] if r["kind"] == "configuration"]
    assert edits[2]["detail"]["fields"] == {"threshold_pct": {"from": 20.0, "to": 10.0}}
    red = next(r for r in trail["rows"] if r["kind"] == "deviation")
    assert red["detail"]["actual"] == 45.0
    opened = AuditEntry.objects.filter(topic="apm.escalation").order_by("id")[0]
    assert red["audit_hash"] == opened.hash
    for row in trail["rows"][1:]:
        if row["kind"] != "deviation":
            assert row["audit_hash"] == AuditEntry.objects.get(pk=row["audit_id"]).hash
    assert [r["at"] for r in trail["rows"][1:]] == sorted(r["at"] for r in trail["rows"][1:])
    resolved = [r for r in trail["rows"] if r["kind"] == "escalation"][-1]
    assert resolved["detail"]["status"] == "resolved"
    assert Ticket.objects.filter(escalation=escalation).exists()


def test_the_csv_has_the_chain_first_then_the_same_rows(story):
    program, _, _, alice = story
    rows = list(csv.DictReader(io.StringIO(export(alice, program, format="csv"))))
    assert rows[0]["kind"] == "chain"
    assert rows[0]["summary"] == "chain verified"
    assert rows[1]["kind"] == "authority"
    assert {r["kind"] for r in rows} >= {"configuration", "deviation", "escalation", "ticket"}


def test_a_changed_audit_row_makes_the_export_say_where_the_chain_breaks(story):
    program, _, _, alice = story
    target = AuditEntry.objects.filter(topic="apm.escalation").order_by("id").first()
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {AuditEntry._meta.db_table} SET actor = %s WHERE id = %s",
            ["someone-else", target.pk],
        )
    trail = json.loads(export(alice, program))
    assert trail["chain"]["ok"] is False
    assert trail["chain"]["first_broken"]["id"] == target.pk
    rows = list(csv.DictReader(io.StringIO(export(alice, program, format="csv"))))
    assert rows[0]["summary"].startswith("chain BROKEN")


def test_since_and_until_bound_the_rows(story):
    program, _, _, alice = story
    trail = json.loads(export(alice, program, since="2099-01-01T00:00:00Z"))
    assert [r["kind"] for r in trail["rows"]] == ["authority"]
    client = APIClient()
    client.force_authenticate(alice)
    bad = client.get(f"/api/v1/programs/{program.pk}/trail/", {"since": "yesterday"})
    assert bad.status_code == 400
    assert "since" in bad.json()


def test_the_trail_needs_the_programs_view_permission(story):
    program, _, _, _ = story
    client = APIClient()
    client.force_authenticate(f.staff_user("outsider_carol", f.group("Other staff")))
    assert client.get(f"/api/v1/programs/{program.pk}/trail/").status_code == 404
    assert APIClient().get(f"/api/v1/programs/{program.pk}/trail/").status_code in (401, 403)


def test_the_export_streams_in_a_fixed_number_of_statements(django_assert_max_num_queries):
    program = f.program(code="big")
    alice = f.staff_user("staff_alice", program.owner_group)
    for i in range(200):
        b = f.baseline(program, name=f"b{i}", clean=False)
        pf.deviation(b, 31.0)
    client = APIClient()
    client.force_authenticate(alice)
    with django_assert_max_num_queries(12):
        response = client.get(f"/api/v1/programs/{program.pk}/trail/")
        body = b"".join(response.streaming_content)
    assert len(json.loads(body)["rows"]) == 201


def test_the_printable_report_says_whether_the_chain_holds(client, story):
    program, _, _, alice = story
    client.force_login(alice)
    page = client.get(f"/dashboard/programs/{program.pk}/trail/").content.decode()
    assert "Audit chain verified" in page
    assert "Fast-Track Housing Voucher Act §4(b)" in page
    target = AuditEntry.objects.order_by("id")[1]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {AuditEntry._meta.db_table} SET actor = %s WHERE id = %s", ["x", target.pk]
        )
    page = client.get(f"/dashboard/programs/{program.pk}/trail/").content.decode()
    assert f"broken at entry #{target.pk}" in page


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_the_report_downloads_as_a_pdf_of_the_same_page(client, story):
    from apm import trail_pdf

    try:
        trail_pdf.render("<p>probe</p>", "http://127.0.0.1/")
    except trail_pdf.PdfUnavailable as exc:
        require("pango (WeasyPrint)", str(exc))
    program, _, _, alice = story
    client.force_login(alice)
    response = client.get(f"/dashboard/programs/{program.pk}/trail/", {"format": "pdf"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="trail-fast-track.pdf"'
    text = _pdf_text(response.content)
    assert "From law to fix: Fast-Track Housing Voucher" in text
    assert "Audit chain verified" in text
    assert "CSV" not in text  # the printout's layout: the links and buttons are left out
    first_hash = AuditEntry.objects.order_by("id").first().hash[:12]
    assert first_hash in text.replace("\n", "")


def test_the_pdf_renderer_fetches_only_static_files():
    from apm import trail_pdf

    for url in (
        "http://127.0.0.1:9/secret",
        "file:///etc/passwd",
        "http://127.0.0.1/static/../../etc/passwd",
        "http://127.0.0.1/media/x.png",
        "data:text/plain,hello",
    ):
        with pytest.raises(ValueError):
            trail_pdf._static_path(url)
    assert trail_pdf._static_path("http://127.0.0.1/static/css/review.css").endswith(
        "static/css/review.css"
    )


def test_a_pdf_of_another_programs_trail_is_not_found(client, story):
    program, _, _, _ = story
    client.force_login(f.staff_user("outsider", f.group("Other staff")))
    response = client.get(f"/dashboard/programs/{program.pk}/trail/", {"format": "pdf"})
    assert response.status_code == 404
