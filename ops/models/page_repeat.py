"""When a ``page … repeat: 30 min`` pages again while its incident stays open."""

from django.db import models


class PageRepeat(models.Model):
    """The next repeat of a sent page (``run``); claimed by a conditional UPDATE on
    (``sent``, ``next_at``) so a second sweep or a twice-delivered task pages once."""

    run = models.OneToOneField(
        "ops.ActionRun", on_delete=models.CASCADE, related_name="page_repeat"
    )
    next_at = models.DateTimeField()
    sent = models.PositiveIntegerField(default=0)
    last_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("next_at", "id")
        indexes = [models.Index(fields=["next_at"], name="ops_page_repeat_due")]

    def __str__(self):
        return f"repeat of run #{self.run_id}: next {self.next_at}"
