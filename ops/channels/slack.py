"""Slack through slack_sdk's WebClient (``SLACK_BOT_TOKEN``, ``SLACK_API_URL``).

The client's own retries are off: the outbox retries, so every attempt is
counted and recorded once. Each message carries ``metadata`` with the
notification's marker; ``find_delivered`` looks for it in
``conversations.history`` before an interrupted notification is re-sent.
"""

import http.client
import re
import socket
import urllib.error

from django.conf import settings
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from ops.channels.base import ChannelError, ChannelKind, Message
from ops.retry import parse_retry_after

EVENT_TYPE = "hms_notification"
CHANNEL_ID_RE = re.compile(r"^[CGD][A-Z0-9]{6,}$")
CHANNEL_NAME_RE = re.compile(r"^#?[a-z0-9][a-z0-9_-]{0,79}$")
# Slack's "ok": false errors worth retrying; every other error is permanent.
TRANSIENT_ERRORS = {
    "ratelimited",
    "rate_limited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
}
HISTORY_PAGES = 10


def _client(message: Message) -> WebClient:
    if not settings.SLACK_BOT_TOKEN:
        raise ChannelError("Slack is disabled: SLACK_BOT_TOKEN is not set", permanent=True)
    base_url = settings.SLACK_API_URL
    if not base_url.endswith("/"):
        base_url += "/"
    return WebClient(
        token=settings.SLACK_BOT_TOKEN,
        base_url=base_url,
        timeout=message.timeout(),
        retry_handlers=[],
    )


def _call(client: WebClient, message: Message, method: str, **kwargs):
    """One API call, its timeout cut to what is left of the claim's lease."""
    client.timeout = message.timeout()
    return getattr(client, method)(**kwargs)


def _header(response, name: str):
    for key, value in (response.headers or {}).items():
        if key.lower() == name.lower():
            return value[0] if isinstance(value, list) else value
    return None


def _api_error(exc: SlackApiError) -> ChannelError:
    response = exc.response
    status = response.status_code
    data = response.data if isinstance(response.data, dict) else {}
    error = data.get("error") or ""
    what = f"Slack answered HTTP {status}" + (f" {error}" if error else "")
    if status == 429 or error in {"ratelimited", "rate_limited"}:
        return ChannelError(
            what, permanent=False, retry_after=parse_retry_after(_header(response, "Retry-After"))
        )
    if status >= 500 or error in TRANSIENT_ERRORS:
        return ChannelError(what, permanent=False)
    return ChannelError(what, permanent=True)


def _network_error(exc: Exception) -> ChannelError:
    reason = getattr(exc, "reason", exc)
    refused = isinstance(reason, ConnectionRefusedError | socket.gaierror)
    return ChannelError(
        f"Slack unreachable: {type(reason).__name__}: {reason}",
        permanent=False,
        maybe_delivered=not refused,
    )


NETWORK_ERRORS = (urllib.error.URLError, OSError, http.client.HTTPException)


class SlackChannel(ChannelKind):
    kind = "slack"
    label = "Slack"
    can_detect_delivery = True

    def validate(self, channel) -> dict[str, str]:
        target = channel.target.strip()
        if not target:
            return {"target": "A Slack channel needs a target, e.g. #tsa_ops or C0123456."}
        if not (CHANNEL_ID_RE.match(target) or CHANNEL_NAME_RE.match(target)):
            return {
                "target": "Use a Slack channel name (#tsa_ops: lower-case letters, digits, "
                "'-', '_') or a channel ID (C0123456)."
            }
        return {}

    def send(self, channel, message: Message) -> dict:
        client = _client(message)
        try:
            response = _call(
                client,
                message,
                "chat_postMessage",
                channel=channel.target.strip(),
                text=message.full_text(),
                metadata={"event_type": EVENT_TYPE, "event_payload": {"marker": message.marker}},
            )
        except SlackApiError as exc:
            raise _api_error(exc) from exc
        except NETWORK_ERRORS as exc:
            raise _network_error(exc) from exc
        return {"channel": response.get("channel"), "ts": response.get("ts")}

    def find_delivered(self, channel, message: Message, since) -> dict | None:
        client = _client(message)
        try:
            channel_id = self._channel_id(client, channel, message)
            cursor = None
            for _page in range(HISTORY_PAGES):
                response = _call(
                    client,
                    message,
                    "conversations_history",
                    channel=channel_id,
                    oldest=f"{since.timestamp() - 60:.6f}",
                    include_all_metadata=True,
                    limit=200,
                    cursor=cursor,
                )
                for item in response.get("messages") or []:
                    metadata = item.get("metadata") or {}
                    payload = metadata.get("event_payload") or {}
                    if (
                        metadata.get("event_type") == EVENT_TYPE
                        and payload.get("marker") == message.marker
                    ):
                        return {"channel": channel_id, "ts": item.get("ts"), "recovered": True}
                cursor = (response.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    return None
        except SlackApiError as exc:
            raise self._unknown(_api_error(exc)) from exc
        except NETWORK_ERRORS as exc:
            raise self._unknown(_network_error(exc)) from exc
        raise ChannelError(
            f"could not find the marker in the last {HISTORY_PAGES} pages of history",
            permanent=True,
            maybe_delivered=True,
        )

    @staticmethod
    def _unknown(error: ChannelError) -> ChannelError:
        """A failed check leaves the earlier attempt's outcome unknown: keep checking."""
        error.maybe_delivered = True
        error.args = (f"checking for an earlier delivery: {error}",)
        return error

    def _channel_id(self, client: WebClient, channel, message: Message) -> str:
        target = channel.target.strip()
        if CHANNEL_ID_RE.match(target):
            return target
        name = target.lstrip("#")
        cursor = None
        for _page in range(HISTORY_PAGES):
            response = _call(
                client,
                message,
                "conversations_list",
                types="public_channel,private_channel",
                exclude_archived=True,
                limit=1000,
                cursor=cursor,
            )
            for item in response.get("channels") or []:
                if item.get("name") == name:
                    return item["id"]
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
        raise ChannelError(f"Slack channel {target} not found", permanent=True)
