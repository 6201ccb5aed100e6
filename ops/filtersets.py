"""FilterSets shared by the API and the admin/pages."""

import django_filters

from ops.filtering import UtcDateTimeFilter
from ops.models import Sample, Service


class ServiceFilterSet(django_filters.FilterSet):
    owner = django_filters.CharFilter()
    slo_state = django_filters.CharFilter(field_name="slos__state")

    class Meta:
        model = Service
        fields = ["owner", "slo_state"]


class SampleFilterSet(django_filters.FilterSet):
    """Points of one metric of one service, for graphs."""

    service = django_filters.CharFilter(field_name="series__service_id", required=True)
    name = django_filters.CharFilter(field_name="series__name", required=True)
    since = UtcDateTimeFilter(field_name="ts", lookup_expr="gte")
    until = UtcDateTimeFilter(field_name="ts", lookup_expr="lte")

    class Meta:
        model = Sample
        fields = ["service", "name", "since", "until"]
