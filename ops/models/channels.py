"""Where notifications go: a named destination of one registered kind."""

import re

from django.core.exceptions import ValidationError
from django.db import models

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class Channel(models.Model):
    """A destination such as ``tsa_ops`` (Slack) or ``kpi-alerts``.

    ``kind`` names a class in the ``ops.channels`` registry (``slack``,
    ``email``, ``webhook``, and kinds other apps register); that class checks
    ``target`` in ``clean()``. A webhook's HMAC secret is never stored here:
    ``secret_env`` names the environment variable that holds it.
    """

    name = models.CharField(
        max_length=100, unique=True, help_text="e.g. tsa_ops, kpi-alerts (letters, digits, _ . -)"
    )
    kind = models.CharField(max_length=30, help_text="slack, email, webhook, ...")
    target = models.CharField(
        max_length=1000,
        blank=True,
        help_text="Slack channel (#name or ID), comma-separated e-mail addresses, or a URL",
    )
    enabled = models.BooleanField(default=True)
    secret_env = models.CharField(
        max_length=100,
        blank=True,
        help_text="webhook only: NAME of the environment variable holding the HMAC secret",
    )
    description = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("name",)

    def __str__(self):
        return f"{self.name} ({self.kind})"

    def clean(self):
        from ops.channels import registry

        errors = {}
        if self.name and not NAME_RE.match(self.name):
            errors["name"] = (
                "Use letters, digits, '_', '.' or '-', starting with a letter or digit."
            )
        kind_class = registry.get(self.kind)
        if kind_class is None:
            errors["kind"] = (
                f"Unknown channel kind {self.kind!r}; known: {', '.join(registry.kinds())}."
            )
        else:
            errors.update(kind_class().validate(self))
        if errors:
            raise ValidationError(errors)
