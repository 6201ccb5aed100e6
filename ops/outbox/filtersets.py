import django_filters

from ops.models import Notification


class NotificationFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Notification.Status.choices)
    channel = django_filters.CharFilter(field_name="channel__name", help_text="channel name")
    source_topic = django_filters.CharFilter()
    source_id = django_filters.CharFilter()

    class Meta:
        model = Notification
        fields = ["status", "channel", "source_topic", "source_id"]
