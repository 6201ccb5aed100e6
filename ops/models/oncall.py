"""On-call schedules: who is paged at a given moment, and how to reach each person."""

import math
import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, available_timezones

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone as tz

from hms_site import timezones
from ops.models.channels import NAME_RE

SLACK_USER_RE = re.compile(r"^[UW][A-Z0-9]{6,}$")


def validate_timezone(value: str) -> None:
    if value not in available_timezones() and timezones.zone(value) is None:
        shown = repr(value) if len(value) <= timezones.MAX_NAME else "this text"
        raise ValidationError(f"Unknown time zone {shown} (e.g. America/New_York).")


class Schedule(models.Model):
    """A rotation: ``participants`` in order, each on call for ``shift_hours``.

    The first participant's first shift starts at ``handoff`` (wall-clock time
    in ``timezone``) on ``starts_on``; shifts follow one another in the
    participants' order, wrapping around, so handoffs stay at the same local
    times across daylight-saving changes. An override (user, from, until) beats
    the rotation; the latest-created one wins where overrides overlap.
    """

    name = models.CharField(max_length=100, unique=True, help_text="e.g. tsa-primary")
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    shift_hours = models.PositiveIntegerField(
        default=24, help_text="Length of one shift, 1..168 hours."
    )
    handoff = models.TimeField(default=time(9, 0), help_text="Local time a shift starts.")
    starts_on = models.DateField(
        default=tz.localdate, help_text="The first participant's first shift begins here."
    )
    description = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("name",)

    def __str__(self):
        return self.name

    def clean(self):
        errors = {}
        if self.name and not NAME_RE.match(self.name):
            errors["name"] = (
                "Use letters, digits, '_', '.' or '-', starting with a letter or digit."
            )
        if not 1 <= (self.shift_hours or 0) <= 168:
            errors["shift_hours"] = "A shift lasts 1 to 168 hours."
        if errors:
            raise ValidationError(errors)

    def ordered_users(self) -> list:
        return [p.user for p in self.participants.select_related("user").order_by("position")]

    def shift_at(self, at: datetime) -> tuple[int, datetime, datetime]:
        """(shift number since the start, its start, its end) for the instant ``at``."""
        zone = ZoneInfo(self.timezone)
        local = tz.localtime(at, zone).replace(tzinfo=None)
        anchor = datetime.combine(self.starts_on, self.handoff)
        length = timedelta(hours=self.shift_hours)
        number = math.floor((local - anchor) / length)
        start = anchor + number * length
        return number, start.replace(tzinfo=zone), (start + length).replace(tzinfo=zone)

    def on_call(self, at: datetime) -> dict | None:
        """Who is on call at ``at``: ``{"user", "source", "since", "until"}``, or ``None``."""
        override = (
            self.overrides.filter(starts_at__lte=at, ends_at__gt=at)
            .select_related("user")
            .order_by("-created_at", "-id")
            .first()
        )
        if override is not None:
            return {
                "user": override.user,
                "source": "override",
                "since": override.starts_at,
                "until": override.ends_at,
            }
        users = self.ordered_users()
        if not users:
            return None
        number, start, end = self.shift_at(at)
        return {"user": users[number % len(users)], "source": "rotation", "since": start,
                "until": end}  # fmt: skip


class ScheduleParticipant(models.Model):
    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="participants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ("schedule", "position")
        constraints = [
            models.UniqueConstraint(
                fields=["schedule", "position"], name="ops_schedule_participant_position"
            )
        ]

    def __str__(self):
        return f"{self.schedule.name} #{self.position}: {self.user}"


class ScheduleOverride(models.Model):
    """``user`` is on call instead of the rotation from ``starts_at`` until ``ends_at``."""

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="overrides")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=tz.now)

    class Meta:
        ordering = ("schedule", "starts_at")
        indexes = [models.Index(fields=["schedule", "starts_at"], name="ops_override_start")]

    def __str__(self):
        return (
            f"{self.schedule.name}: {self.user} {self.starts_at:%Y-%m-%d %H:%M} to {self.ends_at}"
        )

    def clean(self):
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": "An override ends after it starts."})


class ContactProfile(models.Model):
    """How to reach a person who is paged: a Slack user ID (a direct message) or e-mail.

    With a Slack user ID the page goes there; otherwise to ``email``, or the
    account's own e-mail address when that is empty.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="contact_profile"
    )
    slack_user_id = models.CharField(
        max_length=20, blank=True, help_text="e.g. U0123ABCD: pages arrive as a direct message"
    )
    email = models.EmailField(blank=True, help_text="Empty: the account's e-mail address.")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"contact of {self.user}"

    def clean(self):
        if self.slack_user_id and not SLACK_USER_RE.match(self.slack_user_id):
            raise ValidationError(
                {"slack_user_id": "A Slack member ID: U or W, then capitals and digits."}
            )
