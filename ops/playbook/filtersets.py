"""The incident FilterSet, shared by the API and pages."""

import django_filters

from ops.models import Incident


class IncidentFilterSet(django_filters.FilterSet):
    service = django_filters.CharFilter(field_name="service_id")
    state = django_filters.ChoiceFilter(choices=Incident.State.choices)

    class Meta:
        model = Incident
        fields = ["service", "state"]
