"""A Slack Web API peer on loopback, spoken to by the real slack_sdk client.

    with FakeSlack(Reply(500, {"ok": False, "error": "internal_error"})) as slack:
        settings.SLACK_API_URL = slack.api_url
        ... slack.messages ...   # messages Slack "posted", in order

Implements ``chat.postMessage`` (channel by ``#name`` or ID, ``metadata``
kept), ``conversations.list`` and ``conversations.history``
(``include_all_metadata``, ``oldest``). ``post_replies`` script the answers to
successive ``chat.postMessage`` calls: a ``Reply`` is answered as is (nothing is
posted), ``None`` means "post it and answer ok". ``post_delays`` (seconds, per call in
turn) make Slack post the message at once but answer late, like a reply lost on
the way back.
"""

import itertools
import threading
import time
from urllib.parse import parse_qs

from tests.support.http_server import LoopbackServer, Reply, Request

TOKEN = "xoxb-test-token"
CHANNELS = {"tsa_ops": "C0TSAOPS1", "kpi-alerts": "C0KPIALRT"}


class FakeSlack:
    def __init__(self, *post_replies: Reply | None, post_delays=(), channels=None):
        self.post_replies = list(post_replies)
        self.post_delays = list(post_delays)
        self.channels = dict(channels or CHANNELS)
        self.messages: list[dict] = []
        self.post_calls = 0
        self._lock = threading.Lock()
        self._ts = itertools.count(1)
        self.server = LoopbackServer(self._handle)
        self.api_url = f"{self.server.url}/api/"

    def __enter__(self) -> "FakeSlack":
        self.server.__enter__()
        return self

    def __exit__(self, *exc):
        self.server.__exit__(*exc)

    @property
    def requests(self) -> list[Request]:
        return self.server.requests

    def calls(self, method: str) -> list[Request]:
        return [r for r in self.server.requests if r.path == f"/api/{method}"]

    def _handle(self, request: Request) -> Reply:
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return Reply(200, {"ok": False, "error": "invalid_auth"})
        method = request.path.rsplit("/", 1)[-1]
        handler = {
            "chat.postMessage": self._post_message,
            "conversations.list": self._list,
            "conversations.history": self._history,
        }.get(method)
        if handler is None:
            return Reply(200, {"ok": False, "error": "unknown_method"})
        return handler(request)

    @staticmethod
    def params(request: Request) -> dict:
        """The call's arguments: query string, form body or JSON body, as slack_sdk sends them."""
        params = {key: values[0] for key, values in request.query.items()}
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("application/json"):
            params.update(request.json() or {})
        elif request.body:
            params.update({k: v[0] for k, v in parse_qs(request.body.decode()).items()})
        return params

    def _channel_id(self, channel: str) -> str | None:
        if channel in self.channels.values():
            return channel
        return self.channels.get(channel.lstrip("#"))

    def _post_message(self, request: Request) -> Reply:
        with self._lock:
            call = self.post_calls
            self.post_calls += 1
            scripted = self.post_replies[call] if call < len(self.post_replies) else None
            if scripted is not None:
                return scripted
            body = self.params(request)
            channel_id = self._channel_id(body.get("channel", ""))
            if channel_id is None:
                return Reply(200, {"ok": False, "error": "channel_not_found"})
            ts = f"{int(time.time())}.{next(self._ts):06d}"
            message = {
                "type": "message",
                "channel": channel_id,
                "ts": ts,
                "text": body.get("text"),
                "metadata": body.get("metadata"),
            }
            self.messages.append(message)
            delay = self.post_delays[call] if call < len(self.post_delays) else 0.0
        return Reply(200, {"ok": True, "channel": channel_id, "ts": ts}, delay=delay)

    def _list(self, request: Request) -> Reply:
        channels = [{"id": cid, "name": name} for name, cid in self.channels.items()]
        return Reply(
            200, {"ok": True, "channels": channels, "response_metadata": {"next_cursor": ""}}
        )

    def _history(self, request: Request) -> Reply:
        params = self.params(request)
        channel = params.get("channel", "")
        oldest = float(params.get("oldest", "0"))
        with_metadata = str(params.get("include_all_metadata", "0")) in {"1", "true", "True"}
        if channel not in self.channels.values():
            return Reply(200, {"ok": False, "error": "channel_not_found"})
        found = []
        for message in reversed(self.messages):
            if message["channel"] == channel and float(message["ts"]) >= oldest:
                item = {k: v for k, v in message.items() if k != "channel"}
                if not with_metadata:
                    item.pop("metadata")
                found.append(item)
        return Reply(200, {"ok": True, "messages": found, "has_more": False})
