"""When each route next reminds people of an open escalation."""

from django.db import models


class EscalationReminder(models.Model):
    """The due time of the next reminder of ``escalation`` on ``route``.

    Due times live here, not in a worker's memory: the beat sweep
    (``apm.reminders.sweep``) sends what is due, and claims each reminder
    with a conditional UPDATE on (``sent``, ``next_at``), so two sweeps (or a
    task delivered twice) send it once.
    """

    escalation = models.ForeignKey(
        "apm.Escalation", on_delete=models.CASCADE, related_name="reminders"
    )
    route = models.ForeignKey(
        "apm.EscalationRoute", on_delete=models.CASCADE, related_name="reminders"
    )
    next_at = models.DateTimeField()
    sent = models.PositiveIntegerField(default=0)
    last_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("next_at", "id")
        constraints = [
            models.UniqueConstraint(
                fields=["escalation", "route"], name="apm_reminder_one_per_route"
            )
        ]
        indexes = [models.Index(fields=["next_at"], name="apm_reminder_due")]

    def __str__(self):
        return f"escalation #{self.escalation_id} via route #{self.route_id}: next {self.next_at}"
