"""Teams and Mattermost incoming-webhook peers on loopback that check the documented payloads.

    with FakeTeams() as teams:      # teams.url, teams.messages (accepted bodies)
    with FakeMattermost() as mm:    # mm.url, mm.messages

Teams (Workflows "When a Teams webhook request is received" / legacy incoming
webhook) takes ``{"type": "message", "attachments": [{"contentType":
"application/vnd.microsoft.card.adaptive", "content": {"type": "AdaptiveCard",
"version": ..., "body": [...]}}]}`` and answers 202 (Workflows) with an empty
body; a body of another shape gets 400. Mattermost takes ``{"text", "channel"?,
"username"?, "props"?}`` and answers 200 ``ok``; no ``text`` (and no
attachments) gets 400 like the real server. ``replies`` script the answers in
turn before the peer accepts (a ``Reply`` answered as is, nothing accepted).
"""

from tests.support.http_server import LoopbackServer, Reply, Request

CARD = "application/vnd.microsoft.card.adaptive"


def teams_errors(body) -> list[str]:
    errors = []
    if not isinstance(body, dict) or body.get("type") != "message":
        return ['"type" must be "message"']
    attachments = body.get("attachments")
    if not isinstance(attachments, list) or not attachments:
        return ['"attachments" must be a non-empty list']
    for attachment in attachments:
        if attachment.get("contentType") != CARD:
            errors.append(f"contentType must be {CARD}")
        content = attachment.get("content") or {}
        if content.get("type") != "AdaptiveCard":
            errors.append('content.type must be "AdaptiveCard"')
        if not str(content.get("version", "")).startswith("1."):
            errors.append("content.version must be 1.x")
        blocks = content.get("body")
        if not isinstance(blocks, list) or not blocks:
            errors.append("content.body must be a non-empty list")
        elif any(b.get("type") != "TextBlock" or not b.get("text") for b in blocks):
            errors.append("every body element must be a TextBlock with text")
    return errors


def mattermost_errors(body) -> list[str]:
    if not isinstance(body, dict):
        return ["body must be a JSON object"]
    errors = []
    if not body.get("text") and not body.get("attachments"):
        errors.append("text or attachments is required")
    for key in ("channel", "username", "icon_url"):
        if key in body and not isinstance(body[key], str):
            errors.append(f"{key} must be a string")
    unknown = set(body) - {"text", "channel", "username", "icon_url", "icon_emoji",
                           "attachments", "type", "props", "priority"}  # fmt: skip
    if unknown:
        errors.append(f"unknown fields {sorted(unknown)}")
    return errors


class _Peer:
    check = staticmethod(lambda body: [])
    accepted = Reply(200, "ok")

    def __init__(self, *replies: Reply):
        self.replies = list(replies)
        self.messages: list[dict] = []
        self.rejected: list[tuple[dict, list[str]]] = []
        self.server = LoopbackServer(self._handle)
        self.url = f"{self.server.url}/hooks/abc123"

    def __enter__(self):
        self.server.__enter__()
        return self

    def __exit__(self, *exc):
        self.server.__exit__(*exc)

    @property
    def requests(self) -> list[Request]:
        return self.server.requests

    def _handle(self, request: Request) -> Reply:
        if self.replies:
            return self.replies.pop(0)
        if request.method != "POST" or not request.headers.get("content-type", "").startswith(
            "application/json"
        ):
            return Reply(415, "expected a JSON POST")
        try:
            body = request.json()
        except ValueError:
            return Reply(400, "invalid JSON")
        errors = self.check(body)
        if errors:
            self.rejected.append((body, errors))
            return Reply(400, "; ".join(errors))
        self.messages.append(body)
        return self.accepted


class FakeTeams(_Peer):
    check = staticmethod(teams_errors)
    accepted = Reply(202, b"")


class FakeMattermost(_Peer):
    check = staticmethod(mattermost_errors)
    accepted = Reply(200, "ok")
