import requests

from tests.support.http_server import LoopbackServer, Reply, Script


def test_scripted_replies_are_answered_in_turn_and_recorded():
    script = Script(Reply(500, {"ok": False}), Reply(200, {"ok": True}, headers={"X-A": "1"}))
    with LoopbackServer(script) as server:
        first = requests.post(f"{server.url}/api/chat.postMessage?x=1", json={"text": "hi"})
        second = requests.get(f"{server.url}/again")
        third = requests.get(f"{server.url}/again")
    assert (first.status_code, second.status_code, third.status_code) == (500, 200, 200)
    assert second.headers["X-A"] == "1"
    assert server.requests[0].json() == {"text": "hi"}
    assert server.requests[0].query == {"x": ["1"]}
    assert [r.path for r in server.requests] == ["/api/chat.postMessage", "/again", "/again"]
