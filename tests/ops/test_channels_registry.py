"""Channel kinds come from a registry other apps extend; the admin edits channels."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from ops import channels
from ops.channels import ChannelKind, Message, registry
from ops.models import AuditEntry, Channel


class NotebookChannel(ChannelKind):
    """A kind registered from outside ops, the way APM registers ``ticket``."""

    kind = "notebook"
    label = "Notebook"
    written: list = []

    def send(self, channel, message):
        self.written.append((channel.target, message.text))
        return {"page": len(self.written)}


@pytest.fixture
def notebook_kind():
    registry.register(NotebookChannel)
    yield NotebookChannel
    registry._KINDS.pop("notebook")
    NotebookChannel.written.clear()


def test_built_in_kinds_are_registered():
    assert {"slack", "email", "webhook"} <= set(registry.kinds())


def test_another_app_can_register_a_kind_and_send_through_it(db, notebook_kind):
    channel = Channel.objects.create(name="leadership", kind="notebook", target="page-1")
    channel.full_clean()
    assert channels.send(channel, Message(text="red for 14 days")) == {"page": 1}
    assert NotebookChannel.written == [("page-1", "red for 14 days")]


def test_a_kind_name_cannot_be_taken_twice():
    class OtherSlack(ChannelKind):
        kind = "slack"

    with pytest.raises(ValueError, match="already SlackChannel"):
        registry.register(OtherSlack)


def test_unknown_kind_is_refused_naming_the_known_ones(db):
    with pytest.raises(ValidationError) as error:
        Channel(name="pager", kind="pager", target="x").full_clean()
    assert "Unknown channel kind 'pager'" in error.value.message_dict["kind"][0]
    assert "slack" in error.value.message_dict["kind"][0]


def test_admin_adds_a_channel_and_shows_field_errors(admin_client, db):
    url = reverse("admin:ops_channel_add")
    bad = admin_client.post(
        url, {"name": "tsa_ops", "kind": "slack", "target": "#Not Valid", "enabled": "on"}
    )
    assert bad.status_code == 200
    assert "Use a Slack channel name" in bad.content.decode()
    assert not Channel.objects.exists()

    good = admin_client.post(
        url, {"name": "tsa_ops", "kind": "slack", "target": "#tsa_ops", "enabled": "on"}
    )
    assert good.status_code == 302
    assert Channel.objects.get().target == "#tsa_ops"
    entry = AuditEntry.objects.get(topic="ops.channel")
    assert entry.actor == "admin_ada"
    assert entry.payload["change"] == "created" and entry.payload["target"] == "#tsa_ops"
