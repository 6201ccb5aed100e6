"""OPS verdicts and queues as Prometheus gauges, read at scrape time.

A fixed number of statements per scrape (one per block below), whatever the
number of services, incidents or notifications. Labels come from the
configuration (``service`` = the service id, ``target`` = the SLO's metric,
``channel`` = the channel name) and from fixed model choices.
"""

from __future__ import annotations

from django.db.models import Count, Min, Q
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from ops.budget import evaluate as budget


class OpsCollector:
    """``hms_slo_*``, ``hms_incidents_open``, ``hms_notifications_*``, ``hms_playbook_*``,
    ``hms_sdk_dropped_samples_total``."""

    def describe(self):
        return []

    def collect(self):
        now = timezone.now()
        yield from self._slos(now)
        yield self._incidents()
        yield from self._notifications(now)
        yield from self._playbook(now)
        yield self._sdk_dropped()

    def _slos(self, now):
        from ops.models import SLO

        value = GaugeMetricFamily(
            "hms_slo_value",
            "The SLO's latest measured percentile (absent while there is no data).",
            labels=["service", "target"],
        )
        threshold = GaugeMetricFamily(
            "hms_slo_threshold", "The SLO's promised threshold.", labels=["service", "target"]
        )
        state = GaugeMetricFamily(
            "hms_slo_state",
            "1 for the SLO's current state, 0 for the others.",
            labels=["service", "target", "state"],
        )
        remaining = GaugeMetricFamily(
            "hms_error_budget_remaining_ratio",
            "The error budget left (1 = untouched, below 0 = overspent), for SLOs with an "
            "objective.",
            labels=["service", "target"],
        )
        states = [choice.value for choice in SLO.State]
        fields = ("service_id", "target", "value", "threshold", "state", "objective")
        slos = list(SLO.objects.only(*fields, "budget_window").order_by("service_id", "target"))
        budgets = budget.counts(slos, now)  # one statement per budget window in use
        for slo in slos:
            key = [slo.service_id, slo.target]
            if slo.value is not None:
                value.add_metric(key, slo.value)
            threshold.add_metric(key, slo.threshold)
            for candidate in states:
                state.add_metric([*key, candidate], 1.0 if candidate == slo.state else 0.0)
            if slo.pk in budgets:
                report = budget.report(slo, budgets[slo.pk], now)
                remaining.add_metric(key, report["remaining_pct"] / 100)
        yield value
        yield threshold
        yield state
        yield remaining

    def _incidents(self):
        from ops.models import Incident

        family = GaugeMetricFamily(
            "hms_incidents_open", "Open incidents by service.", labels=["service"]
        )
        rows = (
            Incident.objects.filter(state=Incident.State.OPEN)
            .values_list("service_id")
            .annotate(n=Count("id"))
            .order_by()
        )
        for service, n in rows:
            family.add_metric([service], n)
        return family

    def _notifications(self, now):
        from ops.models import Notification

        waiting = (Notification.Status.PENDING, Notification.Status.SENDING)
        pending = GaugeMetricFamily(
            "hms_notifications_pending",
            "Notifications not yet delivered (pending or being sent), by channel.",
            labels=["channel"],
        )
        failed = GaugeMetricFamily(
            "hms_notifications_failed",
            "Notifications the outbox gave up on, by channel.",
            labels=["channel"],
        )
        oldest = GaugeMetricFamily(
            "hms_outbox_oldest_pending_age_seconds",
            "Age of the oldest undelivered notification (0 when none waits).",
        )
        rows = (
            Notification.objects.filter(status__in=[*waiting, Notification.Status.FAILED])
            .values_list("channel__name")
            .annotate(
                n_waiting=Count("id", filter=Q(status__in=waiting)),
                n_failed=Count("id", filter=Q(status=Notification.Status.FAILED)),
                first_waiting=Min("created_at", filter=Q(status__in=waiting)),
            )
            .order_by()
        )
        first = None
        for channel, n_waiting, n_failed, first_waiting in rows:
            pending.add_metric([channel], n_waiting)
            failed.add_metric([channel], n_failed)
            if first_waiting is not None and (first is None or first_waiting < first):
                first = first_waiting
        oldest.add_metric([], max(0.0, (now - first).total_seconds()) if first else 0.0)
        yield pending
        yield failed
        yield oldest

    def _playbook(self, now):
        from ops.models import ActionRun

        due = ActionRun.objects.filter(status=ActionRun.Status.PENDING, due_at__lte=now)
        summary = due.aggregate(n=Count("id"), first=Min("due_at"))
        queued = GaugeMetricFamily(
            "hms_playbook_actions_due", "Playbook actions due and not yet taken by a worker."
        )
        queued.add_metric([], summary["n"])
        age = GaugeMetricFamily(
            "hms_playbook_oldest_due_age_seconds",
            "How long the oldest due playbook action has waited (0 when none waits).",
        )
        first = summary["first"]
        age.add_metric([], max(0.0, (now - first).total_seconds()) if first else 0.0)
        yield queued
        yield age

    def _sdk_dropped(self):
        from ops.models import Service

        family = CounterMetricFamily(
            "hms_sdk_dropped_samples",
            "Samples the service's SDK senders dropped before sending (buffer full), as they "
            "reported them (X-HMS-Dropped).",
            labels=["service"],
        )
        for service, n in Service.objects.values_list("id", "sdk_dropped_samples").order_by("id"):
            family.add_metric([service], n)
        return family
