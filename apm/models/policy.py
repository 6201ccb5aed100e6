"""Escalation policies: the seed's ``escalation_policy.yaml`` entries, one row each."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from apm.models.access import ScopedQuerySet
from apm.models.baseline import Baseline


class PolicyQuerySet(ScopedQuerySet):
    program_path = "baseline__program__"


class EscalationPolicy(models.Model):
    """``baseline`` red for ``after_days_no_fix`` days without a fix -> ``action``.

    A fix is the escalation being resolved (by a person, or automatically when
    the baseline is back to ok); see docs/ESCALATIONS.md.
    """

    class Action(models.TextChoices):
        RECOMMEND_LEADERSHIP_REVIEW = "recommend_leadership_review", "recommend leadership review"

    baseline = models.ForeignKey(
        Baseline, on_delete=models.CASCADE, related_name="escalation_policies"
    )
    after_days_no_fix = models.PositiveIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(3650)]
    )
    action = models.CharField(
        max_length=40, choices=Action.choices, default=Action.RECOMMEND_LEADERSHIP_REVIEW
    )
    active = models.BooleanField(default=True)
    source = models.CharField(
        max_length=300, blank=True, help_text="Where it was loaded from (file name, api, admin)."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PolicyQuerySet.as_manager()

    class Meta:
        ordering = ["baseline__program__code", "baseline__name", "action"]
        verbose_name_plural = "escalation policies"
        constraints = [
            models.UniqueConstraint(
                fields=["baseline", "action"],
                name="apm_policy_one_action_per_baseline",
                violation_error_message="This baseline already has a policy with this action.",
            )
        ]

    def __str__(self):
        return f"{self.baseline.name}: {self.action} after {self.after_days_no_fix} days"

    @property
    def program(self):
        return self.baseline.program
