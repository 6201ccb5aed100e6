"""Filters shared by the API and the pages."""

import django_filters as filters

from apm.models import Baseline, Deviation, Program
from apm.probes import ProbeKind
from ops.filtering import IdFilter, UtcDateTimeFilter


class ProgramFilterSet(filters.FilterSet):
    owner_group = filters.CharFilter(field_name="owner_group__name", help_text="group name")

    class Meta:
        model = Program
        fields = ["code", "public", "owner_group"]


class BaselineFilterSet(filters.FilterSet):
    program = IdFilter(field_name="program_id")
    program_code = filters.CharFilter(field_name="program__code")
    probe_kind = filters.ChoiceFilter(choices=ProbeKind.choices)
    compare_op = filters.ChoiceFilter(choices=Baseline.CompareOp.choices)

    class Meta:
        model = Baseline
        fields = ["program", "program_code", "name", "probe_kind", "compare_op", "active"]


class DeviationFilterSet(filters.FilterSet):
    baseline = IdFilter(field_name="baseline_id")
    program = IdFilter(field_name="baseline__program_id")
    status = filters.MultipleChoiceFilter(choices=Deviation.Status.choices)
    trigger = filters.ChoiceFilter(choices=Deviation.Trigger.choices)
    in_maintenance = filters.BooleanFilter()
    since = UtcDateTimeFilter(
        field_name="evaluated_at", lookup_expr="gte", help_text="evaluated at or after (ISO-8601)"
    )
    until = UtcDateTimeFilter(
        field_name="evaluated_at", lookup_expr="lt", help_text="evaluated before (ISO-8601)"
    )

    class Meta:
        model = Deviation
        fields = ["baseline", "program", "status", "trigger", "in_maintenance", "since", "until"]
