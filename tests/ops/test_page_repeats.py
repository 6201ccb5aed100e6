"""``page … repeat: 30 min`` pages again while the incident is open; recovery tells the channels."""

from datetime import timedelta

import pytest
from django.utils import timezone

from ops.models import ActionRun, AuditEntry, Incident, Notification
from ops.playbook import incidents, repeats, runner
from ops.servicedef import DefinitionError, parse_definition
from ops.services import register_service
from tests.factories import SCANNER_YAML, readings, tsa_ops
from tests.support.handoff import evaluate

pytestmark = pytest.mark.django_db
SEED_PAGE = "    then: page channel=tsa_ops, severity=critical\n"
REPEATING_YAML = SCANNER_YAML.replace(SEED_PAGE, SEED_PAGE + "    repeat: 30 min\n")
HALF_HOUR = timedelta(minutes=30)


@pytest.fixture
def paged(settings):
    """The seed's scanner breached, its 60-second page sent; returns (incident, page run)."""
    assert REPEATING_YAML != SCANNER_YAML
    settings.KUBE_DRY_RUN = True
    tsa_ops()
    at = timezone.now()
    register_service(REPEATING_YAML)
    readings("DCA_Luggage_Scanner", [38.0] * 10, end=at)
    evaluate(at)
    incident = Incident.objects.get(state=Incident.State.OPEN)
    page = ActionRun.objects.get(incident=incident, action="page")
    ActionRun.objects.filter(pk=page.pk).update(due_at=timezone.now())
    assert runner.execute(page.pk) == "succeeded"
    page.refresh_from_db()
    return incident, page


def _pages():
    return list(
        Notification.objects.filter(channel__name="tsa_ops")
        .order_by("pk")
        .values_list("message", flat=True)
    )


def test_the_step_and_the_action_forms_of_repeat_parse_alike():
    step = parse_definition(REPEATING_YAML).playbook[1]
    assert step.actions[0].repeat == 1800
    inline = SCANNER_YAML.replace(SEED_PAGE, "    then: page channel=tsa_ops, repeat=30min\n")
    assert parse_definition(inline).playbook[1].actions[0].repeat == 1800
    assert parse_definition(SCANNER_YAML).playbook[1].actions[0].repeat == 0


@pytest.mark.parametrize(
    ("repeat", "message"),
    [
        ("soon", "repeat must be a duration"),
        ("10 s", "at most once a minute"),
        ("5 fortnights", "unknown time unit"),
    ],
)
def test_a_bad_repeat_names_the_line(repeat, message):
    yaml = SCANNER_YAML.replace(SEED_PAGE, SEED_PAGE + f"    repeat: {repeat}\n")
    with pytest.raises(DefinitionError) as error:
        parse_definition(yaml)
    assert message in str(error.value) and "line 13" in str(error.value)


def test_repeat_on_a_step_without_a_page_is_refused():
    yaml = SCANNER_YAML.replace(
        "    then: scale_up compute=+2\n", "    then: scale_up compute=+2\n    repeat: 30 min\n"
    )
    with pytest.raises(DefinitionError, match="applies to page actions"):
        parse_definition(yaml)


def test_the_page_repeats_every_30_minutes_once_each_while_open(paged):
    _incident, page = paged
    start = page.finished_at
    assert repeats.sweep(now=start + HALF_HOUR - timedelta(seconds=1))["repeated"] == 0
    assert repeats.sweep(now=start + HALF_HOUR)["repeated"] == 1
    assert repeats.sweep(now=start + HALF_HOUR)["repeated"] == 0  # beat fired twice
    assert repeats.sweep(now=start + 2 * HALF_HOUR)["repeated"] == 1
    pages = _pages()
    assert len(pages) == 3
    assert pages[1].startswith("[critical] still open after 30 minutes: DCA_Luggage_Scanner")
    assert pages[2].endswith("(repeat 2)")
    assert AuditEntry.objects.filter(payload__event="page repeated").count() == 2


def test_recovery_stops_the_repeats_and_tells_the_channel_once(paged):
    incident, page = paged
    repeats.sweep(now=page.finished_at + HALF_HOUR)
    later = timezone.now()
    readings("DCA_Luggage_Scanner", [12.0] * 300, end=later)
    evaluate(later)
    incident.refresh_from_db()
    assert incident.state == Incident.State.RESOLVED
    assert repeats.sweep(now=page.finished_at + 4 * HALF_HOUR)["repeated"] == 0
    resolved = Notification.objects.filter(payload__event="resolved").get()
    assert resolved.channel.name == "tsa_ops"
    assert resolved.message.startswith("[resolved] DCA_Luggage_Scanner: recovered after ")
    assert incidents.resolve_incident(incident) is False
    assert Notification.objects.filter(payload__event="resolved").count() == 1


def test_an_incident_resolved_by_hand_says_who(paged):
    incident, _page = paged
    assert incidents.resolve_incident(incident, by="staff_alice")
    [resolved] = Notification.objects.filter(payload__event="resolved")
    assert "resolved by staff_alice after" in resolved.message


def test_an_incident_that_paged_nobody_announces_nothing(settings):
    settings.KUBE_DRY_RUN = True
    tsa_ops()
    at = timezone.now()
    register_service(REPEATING_YAML)
    readings("DCA_Luggage_Scanner", [38.0] * 10, end=at)
    evaluate(at)
    incident = Incident.objects.get(state=Incident.State.OPEN)
    incidents.resolve_incident(incident, by="staff_alice")  # before the 60-second page
    assert _pages() == []
