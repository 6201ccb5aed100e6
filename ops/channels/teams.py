"""Microsoft Teams through a Workflows (or legacy incoming) webhook: an Adaptive Card message.

The body is the shape both documented endpoints accept::

    {"type": "message",
     "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive",
                      "contentUrl": null,
                      "content": {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                                  "type": "AdaptiveCard", "version": "1.4", "body": [...]}}]}

The webhook URL carries its own signature (``sig=``): keep it in the
environment (``secret_env`` names the variable) rather than in ``target``.
"""

from ops.channels.base import Message
from ops.channels.http import ChatWebhookChannel

CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"


def card(message: Message) -> dict:
    body = []
    if message.subject:
        body.append(
            {
                "type": "TextBlock",
                "text": message.subject,
                "weight": "Bolder",
                "size": "Medium",
                "wrap": True,
            }
        )
    body.append({"type": "TextBlock", "text": message.text, "wrap": True})
    if message.marker:
        body.append(
            {
                "type": "TextBlock",
                "text": message.marker,
                "isSubtle": True,
                "size": "Small",
                "wrap": True,
            }
        )
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": CARD_CONTENT_TYPE,
                "contentUrl": None,
                "content": {
                    "$schema": CARD_SCHEMA,
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": body,
                },
            }
        ],
    }


class TeamsChannel(ChatWebhookChannel):
    kind = "teams"
    label = "Microsoft Teams (Workflows webhook, Adaptive Card)"
    peer = "Teams"
    target_help = (
        "Enter the Teams Workflows webhook URL, or name the environment "
        "variable holding it in secret_env."
    )

    def check_target(self, channel, errors: dict[str, str]) -> None:
        if channel.secret_env and channel.target.strip() and "secret_env" not in errors:
            errors["target"] = "Leave the target empty: the URL comes from secret_env."

    def payload(self, channel, message: Message) -> dict:
        return card(message)
