"""Read shapes of OPS resources (writes go through ``ops.services`` / ``ops.metrics``)."""

from rest_framework import serializers

from ops.models import SLO, Sensor, Service

SCRAPE_DETAIL_PERMISSION = "ops.view_sensor"
SCRAPE_ERROR_HIDDEN = "the last scrape failed (the details need the ops.view_sensor permission)"


class SensorSerializer(serializers.ModelSerializer):
    """``last_error`` (what a scrape target answered or why it failed) only with
    ``ops.view_sensor``; other readers learn that it failed, not how."""

    def to_representation(self, sensor):
        data = super().to_representation(sensor)
        request = self.context.get("request")
        user = getattr(request, "user", None)
        if data.get("last_error") and not (user and user.has_perm(SCRAPE_DETAIL_PERMISSION)):
            data["last_error"] = SCRAPE_ERROR_HIDDEN
        return data

    class Meta:
        model = Sensor
        fields = [
            "name",
            "scrape_url",
            "help",
            "labels",
            "last_scrape_at",
            "last_success_at",
            "last_error",
            "last_error_at",
        ]


class SLOSerializer(serializers.ModelSerializer):
    class Meta:
        model = SLO
        fields = [
            "target",
            "threshold",
            "window_seconds",
            "percentile",
            "min_samples",
            "state",
            "value",
            "sample_count",
            "in_maintenance",
            "since",
            "evaluated_at",
        ]


class ServiceSerializer(serializers.ModelSerializer):
    sensors = SensorSerializer(many=True, read_only=True)
    slo = serializers.SerializerMethodField()
    playbook = serializers.SerializerMethodField()

    class Meta:
        model = Service
        fields = [
            "id",
            "owner",
            "description",
            "sensors",
            "slo",
            "playbook",
            "version",
            "created_at",
            "updated_at",
        ]

    def get_slo(self, service) -> dict | None:
        slos = list(service.slos.all())
        return SLOSerializer(slos[0]).data if slos else None

    def get_playbook(self, service) -> list:
        return service.document.get("playbook") or []


class RegistrationSerializer(ServiceSerializer):
    ingest_key = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text="The service's ingest key, shown only when the service is first registered.",
    )

    class Meta(ServiceSerializer.Meta):
        fields = [*ServiceSerializer.Meta.fields, "ingest_key"]


class BurnRateSerializer(serializers.Serializer):
    window = serializers.CharField(help_text="The alert window scaled to the budget window.")
    window_seconds = serializers.FloatField()
    burn_rate = serializers.FloatField(help_text="Error rate ÷ (1 - objective); 1 = on budget.")


class ErrorBudgetSerializer(serializers.Serializer):
    objective = serializers.FloatField(help_text="Percent of samples within the threshold.")
    window = serializers.CharField(help_text="30d (rolling), month or quarter.")
    window_start = serializers.DateTimeField()
    events = serializers.IntegerField(help_text="Samples in the budget window.")
    bad_events = serializers.IntegerField(help_text="Of those, above the threshold.")
    remaining_pct = serializers.FloatField(help_text="100 when nothing went wrong; < 0 overspent.")
    remaining_minutes = serializers.FloatField()
    burn_rates = BurnRateSerializer(many=True)
    firing = serializers.ListField(child=serializers.CharField(), help_text="fast_burn, slow_burn")


class StatusSerializer(serializers.Serializer):
    service = serializers.CharField()
    slo_state = serializers.ChoiceField(choices=SLO.State.choices)
    value = serializers.FloatField(allow_null=True, help_text="The percentile over the window.")
    threshold = serializers.FloatField()
    window_seconds = serializers.IntegerField()
    percentile = serializers.FloatField()
    target = serializers.CharField()
    min_samples = serializers.IntegerField(help_text="Samples the window needs to be judged.")
    sample_count = serializers.IntegerField(
        allow_null=True, help_text="Samples in the window at the last evaluation."
    )
    in_maintenance = serializers.BooleanField(
        help_text="The service is inside a maintenance window: no incident, no action."
    )
    since = serializers.DateTimeField(allow_null=True)
    evaluated_at = serializers.DateTimeField(
        allow_null=True, help_text="When the evaluator last ran (every few seconds)."
    )
    open_incident = serializers.JSONField(
        allow_null=True, help_text="The open incident, or null (incidents come with playbooks)."
    )
    error_budget = ErrorBudgetSerializer(
        required=False, help_text="Only when the SLO declares an objective."
    )


class IngestKeySerializer(serializers.Serializer):
    ingest_key = serializers.CharField()


class SampleSerializer(serializers.Serializer):
    """Documentation shape of one sample (validation is in ``ops.metrics``)."""

    service = serializers.CharField(required=False, help_text="Defaults to the ingest key's.")
    name = serializers.CharField()
    value = serializers.FloatField()
    ts = serializers.CharField(required=False, help_text="ISO-8601 or epoch seconds; default now.")
    labels = serializers.DictField(child=serializers.CharField(), required=False)


class SampleBatchSerializer(serializers.Serializer):
    samples = SampleSerializer(many=True, max_length=10_000)


class AcceptedSerializer(serializers.Serializer):
    accepted = serializers.IntegerField()


class SeriesPointsSerializer(serializers.Serializer):
    labels = serializers.DictField(child=serializers.CharField())
    points = serializers.ListField(
        child=serializers.ListField(), help_text="[[ISO-8601 time, value], ...] in time order"
    )


class SeriesResponseSerializer(serializers.Serializer):
    service = serializers.CharField()
    name = serializers.CharField()
    since = serializers.DateTimeField()
    until = serializers.DateTimeField()
    truncated = serializers.BooleanField()
    series = SeriesPointsSerializer(many=True)
