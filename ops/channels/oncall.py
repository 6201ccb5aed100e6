"""The ``oncall`` channel kind: deliver to the person on call when the message is sent.

The person is looked up at send time, not when the page was queued, so a
page delayed across a handoff (a retry, a Slack outage) and every later
reminder reach whoever holds the shift then. The delivery detail names who
it went to and how, on the attempt row.
"""

from django.apps import apps

from ops import clock
from ops.channels.base import ChannelError, ChannelKind, Message
from ops.channels.email import EmailChannel
from ops.channels.slack import SlackChannel


def _model(name: str):
    # Looked up in the app registry: ops.models imports the channel registry for
    # validation, so importing ops.models here would close an import cycle.
    return apps.get_model("ops", name)


def contact_of(user) -> tuple[type[ChannelKind], str]:
    """(the kind to deliver with, its target) for ``user``: Slack DM first, else e-mail."""
    profile = _model("ContactProfile").objects.filter(user=user).first()
    if profile is not None and profile.slack_user_id:
        return SlackChannel, profile.slack_user_id
    email = (profile.email if profile is not None else "") or user.email
    if not email:
        raise ChannelError(
            f"{user.get_username()} is on call but has no Slack user ID or e-mail address",
            permanent=True,
        )
    return EmailChannel, email


class OncallChannel(ChannelKind):
    kind = "oncall"
    label = "On-call schedule (the person on call)"

    def validate(self, channel) -> dict[str, str]:
        schedule_model = _model("Schedule")
        target = channel.target.strip()
        if not schedule_model.objects.filter(name=target).exists():
            known = (
                ", ".join(schedule_model.objects.values_list("name", flat=True)[:10]) or "none yet"
            )
            return {"target": f"Name an on-call schedule (known: {known})."}
        return {}

    def send(self, channel, message: Message) -> dict:
        channel_model = _model("Channel")
        schedule = _model("Schedule").objects.filter(name=channel.target.strip()).first()
        if schedule is None:
            raise ChannelError(f"no on-call schedule named {channel.target!r}", permanent=True)
        at = clock.now()
        shift = schedule.on_call(at)
        if shift is None:
            raise ChannelError(f"schedule {schedule.name!r} has nobody on call", permanent=True)
        user = shift["user"]
        kind_class, target = contact_of(user)
        person = channel_model(name=channel.name, kind=kind_class.kind, target=target, enabled=True)
        detail = kind_class().send(person, message)
        return {
            "on_call": user.get_username(),
            "source": shift["source"],
            "at": at.isoformat(),
            "via": kind_class.kind,
            "to": target,
            **(detail or {}),
        }
