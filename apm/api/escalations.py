"""``escalations/`` (list, Escalate.send, acknowledge, resolve) and ``tickets/`` (list, open)."""

import uuid

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from apm import escalations, tickets
from apm.api.permissions import ProgramAccess
from apm.api.views import Conflict
from apm.escalation_filters import EscalationFilterSet, TicketFilterSet
from apm.models import Baseline, Escalation, Ticket


class EscalationSerializer(serializers.ModelSerializer):
    baseline_name = serializers.CharField(source="baseline.name", read_only=True)
    program = serializers.CharField(source="baseline.program.code", read_only=True)
    deviation_pct = serializers.FloatField(
        source="deviation.deviation_pct", read_only=True, allow_null=True, default=None
    )
    acknowledged_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    resolved_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Escalation
        fields = [
            "id", "baseline", "baseline_name", "program", "level", "message", "status",
            "source", "opened_at", "red_since", "last_red_at", "breach_count", "deviation",
            "deviation_pct", "acknowledged_by", "acknowledged_at", "resolved_by",
            "resolved_at", "auto_resolved", "note", "snoozed_until",
        ]  # fmt: skip
        read_only_fields = fields


class EscalateSerializer(serializers.Serializer):
    """The seed's ``Escalate.send(baseline_id=..., message=..., level=...)``."""

    baseline = serializers.PrimaryKeyRelatedField(queryset=Baseline.objects.none())
    message = serializers.CharField(max_length=escalations.MESSAGE_MAX)
    level = serializers.ChoiceField(
        choices=Escalation.Level.choices, default=Escalation.Level.CRITICAL
    )

    def get_fields(self):
        fields = super().get_fields()
        # A baseline you cannot see "does not exist".
        fields["baseline"].queryset = Baseline.objects.visible_to(
            self.context["request"].user
        ).select_related("program")
        return fields


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")


class SnoozeSerializer(serializers.Serializer):
    until = serializers.DateTimeField(help_text="No reminders until then (ISO-8601).")
    note = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")


class EscalationViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Escalations of the programs you may see; program staff act on them."""

    serializer_class = EscalationSerializer
    permission_classes = [ProgramAccess]
    filterset_class = EscalationFilterSet

    def get_queryset(self):
        return (
            Escalation.objects.visible_to(self.request.user)
            .select_related("baseline__program", "deviation", "acknowledged_by", "resolved_by")
            .order_by("-opened_at", "-id")
        )

    @extend_schema(
        request=EscalateSerializer,
        responses={201: EscalationSerializer, 200: EscalationSerializer},
        description="Escalate.send: opens an escalation (201), or updates the baseline's "
        "open one (200; its level only rises).",
    )
    def create(self, request, *args, **kwargs):
        params = EscalateSerializer(data=request.data, context={"request": request})
        params.is_valid(raise_exception=True)
        baseline = params.validated_data["baseline"]
        if not baseline.program.editable_by(request.user):
            raise PermissionDenied("Only staff of the program's owner group may escalate.")
        escalation, created = escalations.send(
            baseline,
            params.validated_data["message"],
            params.validated_data["level"],
            actor=request.user,
        )
        return Response(
            EscalationSerializer(escalation).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    def _act(self, request, service, **arguments):
        escalation = self.get_object()
        if not arguments:
            params = NoteSerializer(data=request.data)
            params.is_valid(raise_exception=True)
            arguments = params.validated_data
        try:
            escalation = service(escalation, actor=request.user, **arguments)
        except escalations.NotOpen as exc:
            raise Conflict(str(exc)) from None
        return Response(EscalationSerializer(escalation).data)

    @extend_schema(request=NoteSerializer, responses={200: EscalationSerializer})
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        """Someone is on it (the escalation stays open; acknowledging is not a fix)."""
        return self._act(request, escalations.acknowledge)

    @extend_schema(request=NoteSerializer, responses={200: EscalationSerializer})
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        """Fixed: resolves the escalation (stops the leadership-review clock), with a note."""
        return self._act(request, escalations.resolve)

    @extend_schema(request=SnoozeSerializer, responses={200: EscalationSerializer})
    @action(detail=True, methods=["post"])
    def snooze(self, request, pk=None):
        """No reminders until ``until`` (at most 90 days ahead), with a note; audited."""
        from apm import reminders

        params = SnoozeSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        try:
            return self._act(request, reminders.snooze, **params.validated_data)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(serializers.as_serializer_error(exc)) from None


class TicketSerializer(serializers.ModelSerializer):
    closed_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Ticket
        fields = [
            "id", "kind", "status", "level", "title", "body", "baseline", "escalation", "policy",
            "created_at", "closed_at", "closed_by",
        ]  # fmt: skip
        read_only_fields = fields


class TicketOpenSerializer(serializers.Serializer):
    """The seed's ``HmsAct.open_ticket(baseline_id, message, severity=level)``."""

    baseline = serializers.PrimaryKeyRelatedField(queryset=Baseline.objects.none())
    title = serializers.CharField(max_length=300)
    body = serializers.CharField(required=False, allow_blank=True, max_length=10000, default="")
    level = serializers.ChoiceField(
        choices=Escalation.Level.choices, default=Escalation.Level.CRITICAL
    )
    dedupe_key = serializers.CharField(
        required=False,
        max_length=200,
        help_text="The same key from the same user opens the ticket once (safe retries).",
    )

    def get_fields(self):
        fields = super().get_fields()
        fields["baseline"].queryset = Baseline.objects.visible_to(
            self.context["request"].user
        ).select_related("program")
        return fields


class TicketViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Management-layer tickets (escalations, leadership reviews) of the programs you may see."""

    serializer_class = TicketSerializer
    permission_classes = [IsAuthenticated]
    filterset_class = TicketFilterSet

    def get_queryset(self):
        return (
            Ticket.objects.visible_to(self.request.user)
            .select_related("closed_by")
            .order_by("-created_at", "-id")
        )

    @extend_schema(
        request=TicketOpenSerializer,
        responses={201: TicketSerializer, 200: TicketSerializer},
        description="HmsAct.open_ticket: an escalation ticket for the baseline (linked to its "
        "open escalation, if any); 200 with the existing ticket when dedupe_key was seen.",
    )
    def create(self, request, *args, **kwargs):
        params = TicketOpenSerializer(data=request.data, context={"request": request})
        params.is_valid(raise_exception=True)
        data = params.validated_data
        baseline = data["baseline"]
        if not baseline.program.editable_by(request.user):
            raise PermissionDenied("Only staff of the program's owner group may open tickets.")
        key = data.get("dedupe_key")
        ticket, created = tickets.open_ticket(
            dedupe_key=f"api:{request.user.pk}:{key}" if key else f"api:{uuid.uuid4()}",
            actor=request.user,
            kind=Ticket.Kind.ESCALATION,
            title=data["title"],
            body=data["body"],
            level=data["level"],
            baseline=baseline,
            escalation=Escalation.objects.filter(baseline=baseline).open().first(),
        )
        return Response(
            TicketSerializer(ticket).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )
