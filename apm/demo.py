"""Demo data for ``manage.py hms_demo``: idempotent, returns what it loaded.

Runs on the embedded default (no Prometheus): the demo baselines use ``sql``
probes over the demo's ledger (apm/demo_ledger.py, the reporting file
``HMS_SQL_PROBE_DATABASE_URL`` points at) and ``metric`` probes over the demo
services' readings, so "Run now" gives real deviations at once. New baselines
get 90 days of history replayed through the watchdog (``apm.demo_history``).
The seed's housing program is there too, for the SDK examples.
"""

from django.contrib.auth.models import Group, Permission

from apm import config_audit, demo_history, demo_signoff, policies
from apm.models import Baseline, EscalationRoute, Program
from ops.channels import services as channel_services
from ops.models import Channel

DEMO = "hms_demo"
STAFF_GROUP = "HMS platform staff"
VIEWERS_GROUP = "Viewers"

PROGRAMS = [
    {
        "code": "fast-track-housing",
        "name": "Fast-Track Housing Voucher",
        "authority": "Fast-Track Housing Voucher rule: average wait at most 30 days",
        "public": True,
    },
    {
        "code": "hms-monitor",
        "name": "HMS Monitor's own promises",
        "authority": "HMS-OPS runbook: every promise is measured, and the measurements work",
        "public": False,
    },
]

BASELINES = [
    {
        # The seed's section 3.1 promise, measured in the program's own case system
        # (the demo ledger's reporting copy); the seed's escalation_policy.yaml names it.
        "program": "fast-track-housing",
        "name": "avg_wait_days",
        "target_value": 30,
        "compare_op": Baseline.CompareOp.LE,
        "threshold_pct": 20,
        "schedule": "0 2 * * *",
        "probe_kind": Baseline.ProbeKind.SQL,
        "probe_query": "SELECT avg(wait_days) FROM housing_decisions",
    },
    {
        "program": "hms-monitor",
        "name": "watchdog_failure_rate_pct",
        "target_value": 5,
        "compare_op": Baseline.CompareOp.LE,
        "threshold_pct": 20,
        "schedule": "*/15 * * * *",
        "probe_kind": Baseline.ProbeKind.SQL,
        # share of the last 100 evaluations that had no data or failed (apm/demo_ledger.py);
        # an empty ledger is 0 %, not NULL (SQLite) or a division error (PostgreSQL): a
        # critical "no data" on a fresh install
        "probe_query": (
            "SELECT COALESCE(100.0 * SUM(CASE WHEN status IN ('error', 'no_data') THEN 1 ELSE 0"
            " END) / NULLIF(COUNT(*), 0), 0) FROM (SELECT status FROM watchdog_evaluations"
            " ORDER BY id DESC LIMIT 100) AS recent"
        ),
    },
    {
        "program": "hms-monitor",
        "name": "verified_probes_pct",
        "target_value": 90,
        "compare_op": Baseline.CompareOp.GE,
        "threshold_pct": 10,
        "schedule": "0 * * * *",
        "probe_kind": Baseline.ProbeKind.SQL,
        "probe_query": (
            "SELECT 100.0 * SUM(CASE WHEN verified THEN 1 ELSE 0 END) / COUNT(*)"
            " FROM probes WHERE active"
        ),
    },
]


# Where demo escalations go (section 5.2 of the seed: Slack #kpi-alerts and a ticket).
CHANNELS = [
    {"name": "kpi-alerts", "kind": "slack", "target": "#kpi-alerts",
     "description": "KPI alerts (needs SLACK_BOT_TOKEN; without it deliveries fail visibly)"},
    {"name": "management-tickets", "kind": "ticket", "target": "escalation",
     "description": "Management-layer tickets, in the app (APM -> Tickets)"},
]  # fmt: skip

# The seed's escalation_policy.yaml form, for a demo baseline (the seed's own
# file, fixtures/policies/escalation_policy.yaml, names avg_wait_days, which the
# SDK example creates).
POLICIES = """\
- baseline: watchdog_failure_rate_pct
  program: hms-monitor
  after_days_no_fix: 14
  action: "recommend_leadership_review"
"""


def load_escalations(programs) -> list[str]:
    lines = []
    channels = []
    for spec in CHANNELS:
        channel = Channel.objects.filter(name=spec["name"]).first()
        if channel is None:
            channel = channel_services.save_channel(Channel(**spec), actor=DEMO)
            lines.append(f"channel {channel.name} ({channel.kind}): created")
        channels.append(channel)
    for program in programs.values():
        for channel in channels:
            if not EscalationRoute.objects.filter(program=program, channel=channel).exists():
                route = EscalationRoute(program=program, channel=channel, min_level="critical")
                route.full_clean()
                config_audit.save(route, actor=DEMO)
                lines.append(f"route {program.code} >= critical -> {channel.name}: created")
    for policy in policies.load(POLICIES, source="hms_demo", actor=DEMO):
        lines.append(f"policy {policy}: loaded")
    return lines


def load() -> list[str]:
    lines: list[str] = []
    staff, _ = Group.objects.get_or_create(name=STAFF_GROUP)
    viewers, created = Group.objects.get_or_create(name=VIEWERS_GROUP)
    viewers.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="apm",
            codename__in=[
                "view_program",
                "view_baseline",
                "view_deviation",
                "view_escalation",
                "view_escalationpolicy",
                "view_ticket",
            ],
        )
    )
    if created:
        lines.append(f"group {VIEWERS_GROUP!r}: reads every program")
    programs = {}
    for spec in PROGRAMS + demo_history.PROGRAMS:
        program = Program.objects.filter(code=spec["code"]).first()
        created = program is None
        if created:
            program = config_audit.save(Program(**spec, owner_group=staff), actor=DEMO)
        programs[program.code] = program
        lines.append(f"program {program.code}: {'created' if created else 'unchanged'}")
    created_baselines = []
    for spec in BASELINES + demo_history.BASELINES:
        fields = {k: v for k, v in spec.items() if k not in ("program", "name")}
        program = programs[spec["program"]]
        baseline = Baseline.objects.filter(program=program, name=spec["name"]).first()
        if baseline is not None:
            lines.append(f"baseline {program.code}/{baseline.name}: unchanged")
            continue
        baseline = Baseline(program=program, name=spec["name"], **fields)
        baseline.full_clean()
        config_audit.save(baseline, actor=DEMO)
        created_baselines.append(baseline)
        lines.append(f"baseline {program.code}/{baseline.name}: created ({baseline.schedule} UTC)")
    lines += demo_signoff.load(created_baselines, staff, DEMO)
    return lines + load_escalations(programs) + demo_history.build(created_baselines)
