"""Why a promise was missed, the plan to fix it, and by when (31 U.S.C. §1116(f))."""

from django.conf import settings
from django.db import models

from apm.models.access import ScopedQuerySet
from apm.models.baseline import Baseline


class ExplanationQuerySet(ScopedQuerySet):
    program_path = "baseline__program__"


class Explanation(models.Model):
    """The current explanation of one baseline for one period (``2027Q1``).

    Every save keeps the text as it was in an ``ExplanationVersion`` row and in the
    audit vault, so the published explanation can be traced to each edit.
    """

    baseline = models.ForeignKey(Baseline, on_delete=models.CASCADE, related_name="explanations")
    period = models.CharField(max_length=16, help_text="The quarter explained, e.g. 2027Q1.")
    why = models.TextField(help_text="Why the target was (or will be) missed.")
    plan = models.TextField(help_text="What will be done to meet it.")
    due_date = models.DateField(help_text="When the plan should have met the target.")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ExplanationQuerySet.as_manager()

    class Meta:
        ordering = ["baseline", "-period"]
        constraints = [
            models.UniqueConstraint(
                fields=["baseline", "period"],
                name="apm_explanation_one_per_period",
                violation_error_message="This baseline already has an explanation for this period.",
            )
        ]

    def __str__(self):
        return f"{self.baseline.name} {self.period} (v{self.version})"

    @property
    def program(self):
        """The program whose staff may edit it (what ``ProgramAccess`` asks)."""
        return self.baseline.program


class ExplanationVersion(models.Model):
    """One saved state of an explanation (append-only)."""

    explanation = models.ForeignKey(Explanation, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    why = models.TextField()
    plan = models.TextField()
    due_date = models.DateField()
    author = models.CharField(max_length=150)
    saved_at = models.DateTimeField()

    class Meta:
        ordering = ["explanation", "version"]
        constraints = [
            models.UniqueConstraint(
                fields=["explanation", "version"], name="apm_explanation_version_unique"
            )
        ]

    def __str__(self):
        return f"{self.explanation_id} v{self.version}"
