"""A JSON POST signed with HMAC-SHA256: ``X-HMS-Signature: sha256=<hex>``.

The secret lives in the environment variable named by ``Channel.secret_env``
(never in the database). Receivers verify the signature over the raw body and
may use ``X-HMS-Delivery`` (stable across retries) to drop duplicates.

The target goes through the outbound guard (``ops.outbound``, purpose
``webhook``): public addresses only unless ``HMS_OUTBOUND_ALLOW`` lists it,
checked at save and again on the address the POST connects to; a redirect
is a permanent error, never followed.
"""

import hashlib
import hmac
import json
import os

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from ops.channels import http
from ops.channels.base import ChannelError, ChannelKind, Message
from ops.channels.http import ENV_NAME_RE
from ops.outbound import outbound_problem

SIGNATURE_HEADER = "X-HMS-Signature"
DELIVERY_HEADER = "X-HMS-Delivery"
SECRET_ENV_FIELD = "secret_env"  # noqa: S105 - the field holding a variable NAME


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookChannel(ChannelKind):
    kind = "webhook"
    label = "Webhook (signed JSON POST)"

    def validate(self, channel) -> dict[str, str]:
        errors = {}
        target = channel.target.strip()
        problem = outbound_problem(target, "webhook")
        if problem:
            errors["target"] = f"This target is refused: {problem}."
        else:
            try:
                URLValidator(schemes=["http", "https"])(target)
            except ValidationError:
                errors["target"] = "Enter the http:// or https:// URL to POST to."
        if not channel.secret_env:
            errors[SECRET_ENV_FIELD] = (
                "Name the environment variable holding the HMAC secret (e.g. HMS_WEBHOOK_SECRET)."
            )
        elif not ENV_NAME_RE.match(channel.secret_env):
            errors[SECRET_ENV_FIELD] = (
                "An environment variable NAME (A-Z, 0-9, _), not the secret itself."
            )
        return errors

    def send(self, channel, message: Message) -> dict:
        secret = os.environ.get(channel.secret_env or "")
        if not secret:
            raise ChannelError(
                f"webhook secret: environment variable {channel.secret_env!r} is not set",
                permanent=True,
            )
        body = json.dumps(
            {
                "channel": channel.name,
                "subject": message.subject,
                "message": message.text,
                "payload": message.payload,
                "marker": message.marker,
            },
            sort_keys=True,
            separators=(",", ":"),
        ).encode()
        headers = {SIGNATURE_HEADER: signature(secret, body), DELIVERY_HEADER: message.marker}
        return http.send("webhook", channel.target.strip(), body, message, headers=headers)
