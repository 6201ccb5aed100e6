"""Three people on an 8-hour rotation (07:00, 15:00, 23:00 New York time), and their contacts."""

from datetime import date, time

from django.contrib.auth import get_user_model

from ops.models import ContactProfile, Schedule
from ops.oncall import services

START = date(2026, 12, 1)


def person(username: str, *, slack: str = "", email: str = ""):
    user = get_user_model().objects.create_user(username, email or f"{username}@example.org")
    if slack:
        services.save_contact(ContactProfile(user=user, slack_user_id=slack), actor="test")
    return user


def three_shifts(name="tsa-primary"):
    """alice 07-15, bob 15-23 (both Slack), carol 23-07 (e-mail only), from 2026-12-01."""
    alice = person("oncall_alice", slack="U0ALICE01")
    bob = person("oncall_bob", slack="U0BOBBY01")
    carol = person("oncall_carol", email="carol@example.org")
    schedule = Schedule(name=name, timezone="America/New_York", shift_hours=8,
                        handoff=time(7, 0), starts_on=START)  # fmt: skip
    services.save_schedule(schedule, participants=[alice, bob, carol], actor="test")
    return schedule, (alice, bob, carol)
