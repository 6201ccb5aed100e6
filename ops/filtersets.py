"""FilterSets (and the series parameters) shared by the API and the admin/pages."""

import django_filters
from django import forms

from ops.filtering import UtcIsoDateTimeField
from ops.models import Service


class ServiceFilterSet(django_filters.FilterSet):
    owner = django_filters.CharFilter()
    slo_state = django_filters.CharFilter(field_name="slos__state")

    class Meta:
        model = Service
        fields = ["owner", "slo_state"]


class SeriesParams(forms.Form):
    """Which points of one metric of one service, for graphs (``series/``)."""

    service = forms.CharField()
    name = forms.CharField()
    since = UtcIsoDateTimeField()
    until = UtcIsoDateTimeField()
