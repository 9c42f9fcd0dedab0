"""Simulated events: webhook deliveries (signed, loopback only), Drone's receiver, fixtures."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import pytest

from tests.sandbox.conftest import shared_file

if TYPE_CHECKING:
    from tests.sandbox.conftest import Client

SRC = "2222222222222222222222222222222222222def"
DST = "29f587ed65c317e28b8b6f7cd3c3cc10ea289cf2"
HOOK_SECRET = "receiver-secret-canary"


class Receiver:
    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.status = 200
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.received.append((dict(self.headers.items()), body))
                self.send_response(outer.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _subscribe(client: Client, url: str, events: list[str], secret: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"description": "reconciler", "url": url, "events": events}
    if secret:
        body["secret"] = secret
    r = client.bb("POST", "/repositories/acme/api/hooks", json=body)
    assert r.status_code == 201
    result: dict[str, Any] = r.json()
    return result


def test_pullrequest_event_delivers_signed_webhook(client: Client, receiver: Receiver) -> None:
    hook = _subscribe(client, receiver.url + "?token=abc", ["pullrequest:created"], HOOK_SECRET)
    result = client.control(
        "POST",
        "events/pullrequest",
        {
            "repo": "acme/api",
            "id": 3,
            "action": "created",
            "title": "Change roles",
            "source_branch": "feature/roles",
            "source_hash": SRC,
            "destination_branch": "main",
            "destination_hash": DST,
        },
    )
    assert result["event"] == "pullrequest:created"
    [delivery] = result["deliveries"]
    assert delivery["status"] == 200
    assert delivery["hook_uuid"] == hook["uuid"]
    assert "token=REDACTED" in delivery["url"]
    [(headers, body)] = receiver.received
    assert headers["X-Event-Key"] == "pullrequest:created"
    assert headers["X-Hook-UUID"] == hook["uuid"]
    assert headers["X-Attempt-Number"] == "1"
    assert headers["X-Request-UUID"]
    assert headers["User-Agent"] == "Bitbucket-Webhooks/2.0"
    expected = hmac.new(HOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Hub-Signature"], f"sha256={expected}")
    payload = json.loads(body)
    assert set(payload) == {"pullrequest", "repository", "actor"}
    assert payload["pullrequest"]["id"] == 3
    assert payload["pullrequest"]["source"]["commit"]["hash"] == SRC[:12]
    assert payload["repository"]["full_name"] == "acme/api"
    # the PR and its commits are now known to the API
    assert (
        client.bb("GET", "/repositories/acme/api/pullrequests/3").json()["title"] == "Change roles"
    )
    assert client.bb("GET", f"/repositories/acme/api/commit/{SRC[:12]}").json()["hash"] == SRC


def test_unsigned_hooks_have_no_signature_and_filters_apply(
    client: Client, receiver: Receiver
) -> None:
    _subscribe(client, receiver.url, ["pullrequest:fulfilled"], None)
    body = {
        "repo": "api",
        "id": 4,
        "action": "created",
        "source_branch": "f",
        "source_hash": SRC,
        "destination_hash": DST,
    }
    assert client.control("POST", "events/pullrequest", body)["deliveries"] == []
    done = client.control("POST", "events/pullrequest", dict(body, action="fulfilled"))
    assert [d["status"] for d in done["deliveries"]] == [200]
    headers, raw = receiver.received[0]
    assert "X-Hub-Signature" not in headers
    pr = json.loads(raw)["pullrequest"]
    assert pr["state"] == "MERGED"
    assert len(pr["merge_commit"]["hash"]) == 12


def test_server_errors_are_retried(client: Client, receiver: Receiver) -> None:
    receiver.status = 503
    _subscribe(client, receiver.url, ["repo:push"], None)
    result = client.control("POST", "events/push", {"repo": "api", "branch": "main", "hash": SRC})
    assert result["deliveries"][0]["attempts"] == 3
    assert [h["X-Attempt-Number"] for h, _ in receiver.received] == ["1", "2", "3"]


def test_push_event_payload_and_workspace_hooks(client: Client, receiver: Receiver) -> None:
    client.bb(
        "POST",
        "/workspaces/acme/hooks",
        json={"description": "ws", "url": receiver.url, "events": ["repo:push"]},
    )
    result = client.control("POST", "events/push", {"repo": "web", "branch": "main", "hash": SRC})
    assert [d["subject_type"] for d in result["deliveries"]] == ["workspace", "repository"] or [
        d["subject_type"] for d in result["deliveries"]
    ] == ["repository", "workspace"]
    skipped = [d for d in result["deliveries"] if d.get("skipped")]
    assert [d["description"] for d in skipped] == ["deploy-notify"]  # hooks.acme.example
    payload = json.loads(receiver.received[0][1])
    [change] = payload["push"]["changes"]
    assert change["new"]["target"]["hash"] == SRC
    assert change["old"]["target"]["hash"] == "d351c77088a0235e6eca7f8f4e8ad9dfd77fa773"
    assert change["created"] is False and change["closed"] is False
    assert len(change["commits"]) == 1
    logged = client.control("GET", "deliveries")["webhooks"]
    assert len(logged) == 2


def test_drone_hook_delivered_in_process_builds(client: Client) -> None:
    result = client.control("POST", "events/push", {"repo": "docs", "branch": "main", "hash": SRC})
    [delivery] = result["deliveries"]
    assert delivery["via"] == "in-process drone"
    assert delivery["status"] == 200
    assert "secret=REDACTED" in delivery["url"]
    assert "sandboxdocssigner" not in json.dumps(result)
    received = client.control("GET", "deliveries")["drone_hook"]
    assert received[-1]["repo"] == "acme/docs"
    assert received[-1]["build"] == 13
    # PR events are acknowledged and ignored by Drone 2.x on Bitbucket Cloud
    pr = client.control(
        "POST",
        "events/pullrequest",
        {
            "repo": "docs",
            "id": 1,
            "source_branch": "f",
            "source_hash": SRC,
            "destination_hash": "b34f5c405de0ef594c2ad4807c7e44e7ff6a5dae",
        },
    )
    assert pr["deliveries"][0]["status"] == 200


def test_drone_hook_receiver_checks_secret(client: Client) -> None:
    payload = json.dumps({"repository": {"full_name": "acme/docs"}, "push": {"changes": []}})
    url = f"{client.url}/drone/hook"
    headers = {"X-Event-Key": "repo:push"}
    bad = client.http.post(url, params={"secret": "wrong"}, data=payload, headers=headers)
    assert (bad.status_code, bad.json()) == (400, {"message": "Invalid webhook signature"})
    other = json.dumps({"repository": {"full_name": "acme/nope"}})
    missing = client.http.post(url, params={"secret": "x"}, data=other, headers=headers)
    assert missing.json() == {"message": "Cannot find repository"}
    ok = client.http.post(
        url, params={"secret": "sandboxdocssigner000000000000001"}, data=payload, headers=headers
    )
    assert ok.status_code == 200
    client.drone("DELETE", "/api/repos/acme/docs")
    inactive = client.http.post(
        url, params={"secret": "sandboxdocssigner000000000000001"}, data=payload, headers=headers
    )
    assert (inactive.status_code, inactive.content) == (200, b"")
    ping = client.http.post(url, data="{}", headers={"X-Event-Key": "diagnostics:ping"})
    assert ping.status_code == 200


def test_event_validation(client: Client) -> None:
    def post(body: dict[str, Any]) -> int:
        return client.http.post(
            f"{client.url}/_sandbox/events/pullrequest", json=body, timeout=5
        ).status_code

    assert post({"repo": "api", "id": 1, "source_hash": "abc", "destination_hash": DST}) == 400
    assert post({"repo": "nope", "id": 1, "source_hash": SRC, "destination_hash": DST}) == 404
    assert post({"repo": "api", "id": 99, "action": "updated"}) == 404
    assert post({"repo": "api", "id": 1, "action": "merged"}) == 400


def test_shapes_match_recorded_fixtures(client: Client) -> None:
    base = shared_file(
        "reference",
        "bitbucket-cloud",
        "fixtures",
        "jenkins-bitbucket-branch-source",
        "client-payload",
    )
    recorded_hook = json.loads((base / "2.0-repositories-amuniz-test-repos-hooks.json").read_text())
    hook = client.bb("GET", "/repositories/acme/web/hooks").json()["values"][0]
    assert set(recorded_hook) <= set(hook)
    assert set(recorded_hook["subject"]) <= set(hook["subject"])
    recorded_pr = json.loads(
        (base / "2.0-repositories-amuniz-test-repos-pullrequests-1.json").read_text()
    )
    client.control(
        "POST",
        "events/pullrequest",
        {"repo": "api", "id": 1, "source_branch": "f", "source_hash": SRC, "destination_hash": DST},
    )
    pr = client.bb("GET", "/repositories/acme/api/pullrequests/1").json()
    assert set(recorded_pr) <= set(pr)
    assert set(recorded_pr["source"]) <= set(pr["source"])
    assert set(recorded_pr["links"]) <= set(pr["links"])
