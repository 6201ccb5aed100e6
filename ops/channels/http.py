"""The HTTP POST of the chat-webhook kinds (``teams``, ``mattermost``), in one place.

``post_json`` is the only function these kinds use to reach the network, and it
goes through the outbound guard (``ops.outbound``, purpose ``webhook``): a public
address only, checked on the address the connection really uses, no redirects,
unless ``HMS_OUTBOUND_ALLOW`` lists it; ``validate_webhook`` refuses the same
targets at save. ``raise_for_reply`` maps an answer onto ``ChannelError`` the
way the Slack kind does: 429 and 5xx (and 408) retried, ``Retry-After``
honoured, any other 4xx permanent.
"""

import json
import os
import re

import requests
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from ops.channels.base import ChannelError, ChannelKind, Message
from ops.outbound import OutboundError, OutboundRefused, guarded_session, outbound_problem
from ops.retry import parse_retry_after

USER_AGENT = "hms-monitor"
ENV_NAME_RE = re.compile(r"^[A-Z_][A-Z0-9_]*$")  # secret_env names a variable, never holds one


def post_json(url: str, body: dict | bytes, *, timeout: float, headers: dict | None = None):
    """One JSON POST through the outbound guard, no redirects followed; the response.

    Raises ``OutboundRefused`` before any packet leaves for a refused address."""
    with guarded_session("webhook") as session:
        return session.post(
            url,
            data=body if isinstance(body, bytes) else json.dumps(body).encode(),
            headers={
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                **(headers or {}),
            },
            timeout=timeout,
        )


def send_json(what: str, url: str, body: dict, message: Message) -> dict:
    """POST ``body`` as JSON to ``url``; the delivery detail, or ``ChannelError``."""
    return send(what, url, json.dumps(body).encode(), message)


def send(what: str, url: str, data: bytes, message: Message, headers: dict | None = None) -> dict:
    """One guarded POST of ``data`` (JSON) with the kinds' error mapping: a refused target
    or a redirect is permanent; a timeout after sending may have been delivered."""
    try:
        response = post_json(url, data, timeout=message.timeout(), headers=headers)
    except OutboundRefused as exc:
        raise ChannelError(f"{what} target refused: {exc}", permanent=True) from exc
    except OutboundError as exc:
        raise ChannelError(f"{what} {exc}", permanent=True) from exc
    except requests.ReadTimeout as exc:
        raise ChannelError(
            f"{what} timed out: {exc}", permanent=False, maybe_delivered=True
        ) from exc
    except requests.RequestException as exc:
        raise ChannelError(f"{what} unreachable: {exc}", permanent=False) from exc
    raise_for_reply(what, response)
    return {"status": response.status_code}


def raise_for_reply(what: str, response) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    text = f"{what} answered HTTP {status}: {response.text[:200]}"
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        raise ChannelError(text, permanent=False, retry_after=retry_after)
    if status >= 500 or status == 408:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        raise ChannelError(text, permanent=False, retry_after=retry_after)
    raise ChannelError(text, permanent=True)


def is_url(value: str) -> bool:
    try:
        URLValidator(schemes=["http", "https"])(value)
    except ValidationError:
        return False
    return True


def webhook_url(channel) -> str:
    """The URL to POST to: from ``secret_env``'s variable when set, else the target."""
    if channel.secret_env:
        url = os.environ.get(channel.secret_env, "").strip()
        if not url:
            raise ChannelError(
                f"{channel.kind} webhook URL: environment variable "
                f"{channel.secret_env!r} is not set",
                permanent=True,
            )
        if not is_url(url):
            raise ChannelError(
                f"{channel.kind} webhook URL in {channel.secret_env!r} is not an http(s) URL",
                permanent=True,
            )
        return url
    return channel.target.strip()


def validate_webhook(channel, *, target_help: str) -> dict[str, str]:
    """Field errors shared by the webhook-URL kinds."""
    if channel.secret_env:
        if not ENV_NAME_RE.match(channel.secret_env):
            return {"secret_env": "An environment variable NAME (A-Z, 0-9, _), not the URL."}
        return {}
    target = channel.target.strip()
    problem = outbound_problem(target, "webhook")
    if problem:
        return {"target": f"This target is refused: {problem}."}
    if not is_url(target):
        return {"target": target_help}
    return {}


class ChatWebhookChannel(ChannelKind):
    """A kind that posts one JSON body to a chat incoming webhook (Teams, Mattermost).

    A subclass names its peer (``peer``, in error messages), the help for a missing
    target, its ``payload`` and any rule of its own for ``target`` (``check_target``);
    validation and the guarded POST are the same for all.
    """

    peer = ""
    target_help = ""

    def validate(self, channel) -> dict[str, str]:
        errors = validate_webhook(channel, target_help=self.target_help)
        self.check_target(channel, errors)
        return errors

    def check_target(self, channel, errors: dict[str, str]) -> None:
        """Add an error for ``target`` when it breaks the kind's own rule (none by default)."""

    def payload(self, channel, message: Message) -> dict:
        raise NotImplementedError

    def send(self, channel, message: Message) -> dict:
        return send_json(self.peer, webhook_url(channel), self.payload(channel, message), message)
