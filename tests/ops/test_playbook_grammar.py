"""The playbook grammar: the seed's steps and section-8 rows parse into typed steps."""

import pytest

from ops.playbook.grammar import (
    ACTIONS,
    CONDITIONS,
    Event,
    Isolate,
    LogTo,
    MetricThreshold,
    Page,
    PlaybookError,
    Rollback,
    ScaleUp,
    SloBreach,
    StillBreachAfter,
    Throttle,
    parse_playbook,
    parse_step,
)
from ops.servicedef import DefinitionError, parse_definition
from tests.factories import SCANNER_YAML


def test_seed_playbook_parses_into_typed_steps_with_lines():
    steps = parse_definition(SCANNER_YAML).playbook
    assert [step.line for step in steps] == [11, 13, 15]
    assert steps[0].condition == SloBreach()
    assert steps[0].actions == (ScaleUp(compute=2),)
    assert steps[1].condition == StillBreachAfter(seconds=60)
    assert steps[1].actions == (Page(channel="tsa_ops", severity="critical"),)
    # YAML reads the seed's "always:" step as {"always": None, "log_to": "HMS-DTA"}.
    assert steps[2].condition is None
    assert steps[2].actions == (LogTo(destination="HMS-DTA"),)


@pytest.mark.parametrize(
    ("condition", "then", "expected_condition", "expected_actions"),
    [
        (
            "error_rate > 2% for 5 min",
            "rollback deploy",
            MetricThreshold(metric="error_rate", op=">", value=2, unit="%", for_seconds=300),
            (Rollback(target="deploy"),),
        ),
        (
            "error_rate > 2 % for 5 min",
            "rollback deploy",
            MetricThreshold(metric="error_rate", op=">", value=2, unit="%", for_seconds=300),
            (Rollback(target="deploy"),),
        ),
        (
            "cost_hourly > $500",
            "throttle traffic 20 %",
            MetricThreshold(metric="cost_hourly", op=">", value=500, unit="$"),
            (Throttle(target="traffic", percent=20),),
        ),
        (
            "unauthorized_login",
            "isolate pod & page CIGIE",
            Event(name="unauthorized_login"),
            (Isolate(target="pod"), Page(channel="CIGIE")),
        ),
    ],
)
def test_section_8_rows_parse(condition, then, expected_condition, expected_actions):
    step = parse_step({"if": condition, "then": then}, 0)
    assert step.condition == expected_condition
    assert step.actions == expected_actions


def test_then_may_be_a_list_and_always_may_be_inline_text():
    steps = parse_playbook(
        [
            {"if": "slo_breach", "then": ["scale_up 3", "page tsa_ops severity=warning"]},
            {"always": "log_to HMS-DTA topic=ops.audit"},
            {"always": {"log_to": "HMS-DTA"}},
        ]
    )
    assert steps[0].actions == (ScaleUp(compute=3), Page(channel="tsa_ops", severity="warning"))
    assert steps[1].actions == (LogTo(destination="HMS-DTA", topic="ops.audit"),)
    assert steps[2].actions == (LogTo(destination="HMS-DTA"),)


def test_steps_serialise_for_storage():
    step = parse_step({"if": "still_breach_after 2 min", "then": "page tsa_ops"}, 1, 13)
    assert step.to_dict() == {
        "index": 1,
        "line": 13,
        "condition": {"condition": "still_breach_after", "seconds": 120},
        "actions": [
            {"action": "page", "channel": "tsa_ops", "severity": "critical", "message": ""}
        ],
    }


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ({"if": "slo_breach", "then": "reboot everything"}, "unknown action 'reboot'"),
        ({"if": "slo_breach", "then": "scale_up compute=lots"}, "compute must be a number"),
        ({"if": "slo_breach", "then": "page"}, "page: channel is required"),
        ({"if": "slo_breach", "then": "page tsa_ops severity=loud"}, "severity must be one of"),
        ({"if": "slo_breach", "then": "throttle traffic 200%"}, "between 0 and 100"),
        ({"if": "slo_breach", "then": "rollback deploy colour=red"}, "unknown argument 'colour'"),
        ({"if": "still_breach_after soon", "then": "page x"}, "must be a number"),
        ({"if": "error_rate > lots", "then": "page x"}, "threshold must be a number"),
        ({"if": "slo breach now", "then": "page x"}, "cannot read condition"),
        ({"if": "slo_breach"}, "needs both if: and then:"),
        ({"when": "slo_breach", "then": "page x"}, "unknown key 'when'"),
        ({"always": None, "frobnicate": "x"}, "unknown action 'frobnicate'"),
    ],
)
def test_bad_steps_are_refused_with_a_clear_message(step, message):
    with pytest.raises(PlaybookError, match=message) as info:
        parse_step(step, 4, 21)
    assert (info.value.index, info.value.line) == (4, 21)


def test_a_bad_step_in_a_yaml_file_names_the_step_and_its_line():
    text = SCANNER_YAML.replace("then: scale_up compute=+2", "then: scale_up compute=two")
    with pytest.raises(DefinitionError) as info:
        parse_definition(text)
    assert info.value.errors == {"playbook[0]": ["line 11: compute must be a number, got 'two'"]}


def test_metric_conditions_must_name_a_sensor():
    text = SCANNER_YAML.replace("if: slo_breach", "if: error_rate > 2% for 5 min")
    with pytest.raises(DefinitionError) as info:
        parse_definition(text)
    assert info.value.errors["playbook[0].if"] == [
        "line 11: metric 'error_rate' is not one of the sensors"
    ]


def test_registries_name_every_kind_once():
    assert set(ACTIONS) == {
        "scale_up",
        "scale_down",
        "page",
        "log_to",
        "rollback",
        "throttle",
        "isolate",
    }
    assert set(CONDITIONS) == {
        "slo_breach",
        "still_breach_after",
        "recovered",
        "metric",
        "fast_burn",
        "slow_burn",
        "event",
    }


def test_recovered_step_scales_down_by_the_amount_written_with_or_without_minus():
    text = SCANNER_YAML + "  - if: recovered\n    then: scale_down compute=-2\n"
    step = parse_definition(text).playbook[-1]
    assert step.to_dict()["condition"] == {"condition": "recovered"}
    assert step.actions[0].compute == 2
    assert parse_definition(text.replace("=-2", "=2")).playbook[-1].actions[0].compute == 2


def test_kubernetes_block_defaults_to_the_service_id_as_deployment():
    definition = parse_definition(SCANNER_YAML)
    assert definition.kubernetes.deployment == "dca-luggage-scanner"
    assert (definition.kubernetes.namespace, definition.kubernetes.max_replicas) == ("default", 10)
    assert definition.cooldown_seconds == 300
    text = SCANNER_YAML + "kubernetes:\n  deployment: Scanner_X\n"
    with pytest.raises(DefinitionError) as info:
        parse_definition(text)
    assert "kubernetes.deployment" in info.value.errors
