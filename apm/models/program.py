from django.contrib.auth.models import Group
from django.core.validators import validate_slug
from django.db import models

from apm.models.access import ScopedQuerySet, owns_group


class ProgramQuerySet(ScopedQuerySet):
    program_path = ""


class Program(models.Model):
    """A law or rule that makes promises (baselines), e.g. "Fast-Track Housing Voucher"."""

    code = models.CharField(max_length=64, unique=True, validators=[validate_slug])
    name = models.CharField(max_length=200)
    authority = models.CharField(
        max_length=500, help_text="The law or rule the promises come from, as cited in audits."
    )
    owner_group = models.ForeignKey(
        Group,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="apm_programs",
        help_text="Staff in this group edit the program and its baselines.",
    )
    public = models.BooleanField(default=False, help_text="Shown to anonymous visitors.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProgramQuerySet.as_manager()

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return f"{self.code} — {self.name}"

    def editable_by(self, user) -> bool:
        return owns_group(user, self.owner_group_id)
