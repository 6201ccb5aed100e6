"""Filters for escalations, policies and tickets, shared by the API and the pages."""

import django_filters as filters

from apm.models import Escalation, EscalationPolicy, Ticket
from ops.filtering import IdFilter


class EscalationFilterSet(filters.FilterSet):
    baseline = IdFilter(field_name="baseline_id")
    program = IdFilter(field_name="baseline__program_id")
    status = filters.MultipleChoiceFilter(choices=Escalation.Status.choices)
    level = filters.MultipleChoiceFilter(choices=Escalation.Level.choices)
    open = filters.BooleanFilter(method="filter_open", help_text="open or acknowledged")

    class Meta:
        model = Escalation
        fields = ["baseline", "program", "status", "level", "open"]

    def filter_open(self, queryset, name, value):
        if value is None:
            return queryset
        if value:
            return queryset.filter(status__in=Escalation.OPEN_STATUSES)
        return queryset.exclude(status__in=Escalation.OPEN_STATUSES)


class EscalationPolicyFilterSet(filters.FilterSet):
    baseline = IdFilter(field_name="baseline_id")
    program = IdFilter(field_name="baseline__program_id")

    class Meta:
        model = EscalationPolicy
        fields = ["baseline", "program", "action", "active"]


class TicketFilterSet(filters.FilterSet):
    kind = filters.ChoiceFilter(choices=Ticket.Kind.choices)
    status = filters.ChoiceFilter(choices=Ticket.Status.choices)
    baseline = IdFilter(field_name="baseline_id")
    escalation = IdFilter(field_name="escalation_id")

    class Meta:
        model = Ticket
        fields = ["kind", "status", "baseline", "escalation"]
