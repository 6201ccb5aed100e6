"""The seed's escalation policy (3.3): red N days without a fix -> ONE leadership-review ticket."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from apm import escalations, policies, services
from apm.models import Escalation, EscalationPolicy, Ticket
from ops.models import AuditEntry
from tests import factories as ef
from tests import factories as f

pytestmark = pytest.mark.django_db
DAY0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
SEED_POLICY = (
    Path(__file__).resolve().parents[2] / "fixtures" / "policies" / "escalation_policy.yaml"
)


@pytest.fixture
def wait_time():
    return f.baseline(f.program(code="fast-track-housing"), name="avg_wait_days",
                      probe_query="SELECT 37.2")  # fmt: skip


def nightly(baseline, days, *, fix_on=None):
    """Run the watchdog and the daily policy task for ``days`` days (a controlled clock)."""
    opened = []
    for day in range(days + 1):
        now = DAY0 + timedelta(days=day)
        if fix_on is not None and day == fix_on:
            ef.set_probe(baseline, 25)  # the fix: wait time back under 30 days
        if fix_on is not None and day == fix_on + 1:
            ef.set_probe(baseline, 37.2)  # and red again the next day: a new streak
        services.run_baseline(baseline, at=now)
        opened += policies.apply_policies(now=now + timedelta(minutes=30))
    return opened


def test_seed_policy_file_loads(wait_time):
    call_command("apm_load_policies", str(SEED_POLICY))
    policy = EscalationPolicy.objects.get()
    assert (policy.baseline, policy.after_days_no_fix) == (wait_time, 14)
    assert policy.action == "recommend_leadership_review"
    entry = AuditEntry.objects.get(topic="apm.config")
    assert entry.payload["change"] == "created" and entry.payload["model"] == "escalationpolicy"


def test_fourteen_days_red_without_a_fix_opens_exactly_one_leadership_review(wait_time):
    policies.load(SEED_POLICY.read_text())
    opened = nightly(wait_time, 20)
    [ticket] = opened
    assert Ticket.objects.filter(kind=Ticket.Kind.LEADERSHIP_REVIEW).get() == ticket
    assert ticket.created_at == DAY0 + timedelta(days=14, minutes=30)
    assert ticket.escalation == Escalation.objects.get()
    assert "red for 14 days without a fix" in ticket.title
    assert AuditEntry.objects.filter(topic="apm.ticket", payload__change="opened").count() == 1


def test_thirteen_days_red_is_not_yet_a_leadership_review(wait_time):
    policies.load(SEED_POLICY.read_text())
    assert nightly(wait_time, 13) == []


def test_a_fix_on_day_ten_means_no_leadership_review(wait_time):
    policies.load(SEED_POLICY.read_text())
    assert nightly(wait_time, 20, fix_on=10) == []
    assert not Ticket.objects.filter(kind=Ticket.Kind.LEADERSHIP_REVIEW).exists()
    assert Escalation.objects.filter(status="resolved", auto_resolved=True).count() == 1


def test_resolving_the_escalation_by_hand_is_a_fix(wait_time, staff_alice):
    policies.load(SEED_POLICY.read_text())
    nightly(wait_time, 9)
    escalations.resolve(Escalation.objects.get(), actor=staff_alice, note="new intake process")
    for day in range(10, 21):
        services.run_baseline(wait_time, at=DAY0 + timedelta(days=day))
        assert policies.apply_policies(now=DAY0 + timedelta(days=day, hours=1)) == []


def test_acknowledging_is_not_a_fix(wait_time, staff_alice):
    policies.load(SEED_POLICY.read_text())
    services.run_baseline(wait_time, at=DAY0)
    escalations.acknowledge(Escalation.objects.get(), actor=staff_alice)
    assert len(policies.apply_policies(now=DAY0 + timedelta(days=14))) == 1


HEAD = "- baseline: avg_wait_days\n"
DAYS = "  after_days_no_fix: 14\n"
BAD_POLICIES = [
    (HEAD + DAYS + "  acton: x\n", "acton", "line 3: unknown key 'acton'"),
    (HEAD + "  after_days_no_fix: two weeks\n", "after_days_no_fix", "line 2: must be a whole"),
    (HEAD + "  after_days_no_fix: 0\n", "after_days_no_fix", "line 2: Ensure this value is"),
    (HEAD + DAYS + "  action: fire_everyone\n", "action", "line 3: 'fire_everyone' is not"),
    ("- baseline: nope\n" + DAYS, "baseline", "line 1: no baseline named 'nope'"),
    ("- baseline: &a avg_wait_days\n" + DAYS, "yaml", "line 1: anchors"),
    ("- baseline: [avg_wait_days\n", "yaml", "line 2"),
    ("[]\n", "yaml", "line 1: the document holds no policies"),
    ("- baseline: !!python/name:os.system x\n" + DAYS, "yaml", "line 1: could not determine"),
    (HEAD + DAYS + HEAD + DAYS, "baseline", "line 3: same baseline and action as the policy on"),
    ("baseline: avg_wait_days\nafter_days_no_fix: 14\n" + "x" * 70_000, "yaml", "larger than"),
]


@pytest.mark.parametrize(("text", "field", "message"), BAD_POLICIES)
def test_bad_policy_yaml_is_refused_naming_field_and_line(wait_time, text, field, message):
    with pytest.raises(policies.PolicyError) as refused:
        policies.load(text)
    assert message in refused.value.errors[field][0]
    assert not EscalationPolicy.objects.exists()


def test_an_ambiguous_name_needs_the_program(wait_time):
    f.baseline(f.program(code="rural-housing"), name="avg_wait_days")
    text = "- baseline: avg_wait_days\n  after_days_no_fix: 14\n"
    with pytest.raises(policies.PolicyError, match="several programs: add 'program: <code>'"):
        policies.load(text)
    [policy] = policies.load(text + "  program: fast-track-housing\n")
    assert policy.baseline == wait_time


def test_loading_twice_updates_instead_of_duplicating(wait_time):
    policies.load("- baseline: avg_wait_days\n  after_days_no_fix: 14\n")
    policies.load(f"- baseline: {wait_time.pk}\n  after_days_no_fix: 7\n")
    assert EscalationPolicy.objects.get().after_days_no_fix == 7
    last = AuditEntry.objects.filter(topic="apm.config").last()
    assert last.payload["change"] == "updated"
    assert last.payload["fields"] == {"after_days_no_fix": {"from": 14, "to": 7}}


def test_load_command_refuses_a_bad_file_with_its_line(wait_time, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("- baseline: avg_wait_days\n  after_days_no_fix: -3\n")
    with pytest.raises(CommandError, match=r"bad.yaml: after_days_no_fix: line 2"):
        call_command("apm_load_policies", str(bad))
    assert not EscalationPolicy.objects.exists()


def test_the_daily_task_is_on_beat_and_opens_the_review(wait_time, settings):
    from apm.tasks import apply_escalation_policies

    entry = settings.CELERY_BEAT_SCHEDULE["apm-escalation-policies"]
    assert entry["task"] == apply_escalation_policies.name
    assert entry["schedule"].hour == {2} and entry["schedule"].minute == {30}
    policies.load(SEED_POLICY.read_text())
    services.run_baseline(wait_time, at=DAY0 - timedelta(days=30))
    result = apply_escalation_policies.apply().get()
    assert result == {"opened": [Ticket.objects.get(kind="leadership_review").pk]}
    assert apply_escalation_policies.apply().get() == {"opened": []}
