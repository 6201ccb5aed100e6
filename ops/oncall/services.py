"""Changing schedules, overrides and contact profiles: validated, saved, audited, atomic."""

from django.core.exceptions import ValidationError
from django.db import transaction

from ops import audit
from ops.models import Channel, ContactProfile, Schedule, ScheduleOverride, ScheduleParticipant

TOPIC = "ops.schedule"


def _usernames(users) -> list[str]:
    return [user.get_username() for user in users]


def save_schedule(schedule: Schedule, *, participants=None, actor=None) -> Schedule:
    """Validate and save; ``participants`` (users, in rotation order) replaces the rotation."""
    created = schedule._state.adding
    schedule.full_clean()
    if participants is not None and len({u.pk for u in participants}) != len(participants):
        raise ValidationError({"participants": "A person appears once in a rotation."})
    with transaction.atomic():
        schedule.save()
        if participants is not None:
            schedule.participants.all().delete()
            ScheduleParticipant.objects.bulk_create(
                ScheduleParticipant(schedule=schedule, user=user, position=index)
                for index, user in enumerate(participants)
            )
        audit.record(
            TOPIC,
            {
                "schedule": schedule.name,
                "change": "created" if created else "updated",
                "timezone": schedule.timezone,
                "shift_hours": schedule.shift_hours,
                "handoff": schedule.handoff.isoformat(),
                "starts_on": schedule.starts_on.isoformat(),
                "participants": _usernames(schedule.ordered_users()),
            },
            actor=actor,
        )
    return schedule


def delete_schedule(schedule: Schedule, *, actor=None) -> None:
    """Delete a schedule no ``oncall`` channel pages (it would have nobody to reach)."""
    users = Channel.objects.filter(kind="oncall", target=schedule.name)
    names = list(users.values_list("name", flat=True))
    if names:
        raise ValidationError(
            f"Channel(s) {', '.join(names)} page this schedule: change them first."
        )
    with transaction.atomic():
        name = schedule.name
        schedule.delete()
        audit.record(TOPIC, {"schedule": name, "change": "deleted"}, actor=actor)


def save_override(override: ScheduleOverride, *, actor=None) -> ScheduleOverride:
    created = override._state.adding
    override.full_clean()
    with transaction.atomic():
        override.save()
        audit.record(
            TOPIC,
            {
                "schedule": override.schedule.name,
                "change": "override added" if created else "override updated",
                "override": override.pk,
                "user": override.user.get_username(),
                "starts_at": override.starts_at,
                "ends_at": override.ends_at,
                "note": override.note,
            },
            actor=actor,
        )
    return override


def delete_override(override: ScheduleOverride, *, actor=None) -> None:
    with transaction.atomic():
        payload = {"schedule": override.schedule.name, "change": "override removed",
                   "override": override.pk, "user": override.user.get_username()}  # fmt: skip
        override.delete()
        audit.record(TOPIC, payload, actor=actor)


def save_contact(profile: ContactProfile, *, actor=None) -> ContactProfile:
    profile.full_clean()
    with transaction.atomic():
        profile.save()
        audit.record(
            "ops.contact",
            {
                "user": profile.user.get_username(),
                "slack_user_id": profile.slack_user_id,
                "email": profile.email,
            },
            actor=actor,
        )
    return profile
