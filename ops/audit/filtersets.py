import django_filters

from ops.filtering import UtcDateTimeFilter
from ops.models import AuditEntry


class AuditEntryFilterSet(django_filters.FilterSet):
    topic = django_filters.CharFilter(
        field_name="topic", help_text="exact topic, e.g. ops.incident or apm.escalation"
    )
    since = UtcDateTimeFilter(
        field_name="at", lookup_expr="gte", help_text="ISO-8601 time; entries at or after it"
    )

    class Meta:
        model = AuditEntry
        fields = ["topic", "since"]
