"""The test factories: plain functions, one of each, users named by role.

    from tests import factories as f
    f.baseline(f.program(owner_group=f.group("Housing staff")), target_value=14)

``users`` (people and API clients), ``apm`` (programs, baselines, deviations,
escalation routes), ``ops`` (services from YAML, readings, channels, the playbook's
loopback cluster). Every name is also here, so one import serves a test module.
"""

from tests.factories.apm import (
    ERROR_RATE_QUERY,
    SECRET_QUERY,
    SEED_INVALID_HOUSING_QUERY,
    VALID_HOUSING_QUERY,
    VOUCHER_APPROVAL_QUERY,
    baseline,
    deviation,
    escalated,
    kpi_alerts_and_tickets,
    leadership_ticket,
    ledger_baseline,
    program,
    route,
    set_probe,
    slack_route,
)
from tests.factories.ops import (
    DEPLOYMENT,
    SCANNER_YAML,
    cluster_and_slack,
    make_channel,
    make_service,
    patches,
    readings,
    runs,
    service_yaml,
    tsa_ops,
)
from tests.factories.users import (
    OPS_PERMISSIONS,
    api_client,
    group,
    make_user,
    plain_user,
    staff_alice,
    staff_user,
    viewer_bob,
    viewer_user,
)

__all__ = [
    "DEPLOYMENT",
    "ERROR_RATE_QUERY",
    "OPS_PERMISSIONS",
    "SCANNER_YAML",
    "SECRET_QUERY",
    "SEED_INVALID_HOUSING_QUERY",
    "VALID_HOUSING_QUERY",
    "VOUCHER_APPROVAL_QUERY",
    "api_client",
    "baseline",
    "cluster_and_slack",
    "deviation",
    "escalated",
    "group",
    "kpi_alerts_and_tickets",
    "leadership_ticket",
    "ledger_baseline",
    "make_channel",
    "make_service",
    "make_user",
    "patches",
    "plain_user",
    "program",
    "readings",
    "route",
    "runs",
    "service_yaml",
    "set_probe",
    "slack_route",
    "staff_alice",
    "staff_user",
    "tsa_ops",
    "viewer_bob",
    "viewer_user",
]
