"""Bitbucket repository and workspace webhooks: CRUD, write-only secrets, validation."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    from tests.sandbox.conftest import Client

HOOKS = "/repositories/acme/api/hooks"


def _create(client: Client, **body: object) -> dict[str, object]:
    payload = {
        "description": "notify",
        "url": "https://hooks.acme.example/x",
        "events": ["repo:push"],
    }
    payload.update(body)
    r = client.bb("POST", HOOKS, json=payload)
    assert r.status_code == 201, r.text
    result: dict[str, object] = r.json()
    return result


def test_create_get_update_delete(client: Client) -> None:
    r = client.bb(
        "POST",
        HOOKS,
        json={
            "description": "notify",
            "url": "https://hooks.acme.example/x",
            "events": ["repo:push", "pullrequest:fulfilled"],
        },
    )
    assert r.status_code == 201
    hook = r.json()
    assert hook["type"] == "webhook_subscription"
    assert hook["uuid"].startswith("{") and hook["uuid"].endswith("}")
    assert hook["active"] is True
    assert hook["secret_set"] is False
    assert hook["subject_type"] == "repository"
    assert hook["subject"]["full_name"] == "acme/api"
    assert r.headers["Location"] == hook["links"]["self"]["href"]
    assert "%7B" in r.headers["Location"]
    for key in ("created_at", "skip_cert_verification", "read_only", "history_enabled", "source"):
        assert key in hook
    # percent-encoded braces and raw braces both address the hook
    enc = quote(hook["uuid"], safe="")
    assert client.bb("GET", f"{HOOKS}/{enc}").json()["uuid"] == hook["uuid"]
    put = client.bb("PUT", f"{HOOKS}/{enc}", json={"active": False})
    assert put.status_code == 200
    assert put.json()["active"] is False
    assert put.json()["events"] == ["repo:push", "pullrequest:fulfilled"]  # partial update
    assert client.bb("DELETE", f"{HOOKS}/{enc}").status_code == 204
    assert client.bb("GET", f"{HOOKS}/{enc}").status_code == 404
    assert client.bb("DELETE", f"{HOOKS}/{enc}").status_code == 404


def test_secret_is_write_only_with_update_semantics(client: Client) -> None:
    hook = _create(client, secret="s3cret")
    assert hook["secret_set"] is True
    assert "secret" not in hook
    uid = quote(str(hook["uuid"]), safe="")
    listing = client.bb("GET", HOOKS).text
    assert "s3cret" not in listing
    # omitted: unchanged
    assert client.bb("PUT", f"{HOOKS}/{uid}", json={"description": "n2"}).json()["secret_set"]
    # secret_set is read-only and ignored
    assert client.bb("PUT", f"{HOOKS}/{uid}", json={"secret_set": False}).json()["secret_set"]
    # null removes, "" removes
    assert not client.bb("PUT", f"{HOOKS}/{uid}", json={"secret": None}).json()["secret_set"]
    assert client.bb("PUT", f"{HOOKS}/{uid}", json={"secret": "again"}).json()["secret_set"]
    assert not client.bb("PUT", f"{HOOKS}/{uid}", json={"secret": ""}).json()["secret_set"]
    state = client.state()
    stored = [
        h
        for h in state["bitbucket"]["workspaces"]["acme"]["repositories"]["api"]["hooks"]
        if h["uuid"] == hook["uuid"]
    ]
    assert stored[0]["secret"] is None
    # the control API shows the value
    client.bb("PUT", f"{HOOKS}/{uid}", json={"secret": "visible-to-tests"})
    assert "visible-to-tests" in json.dumps(client.state())


def test_invalid_events_and_bodies_are_400_with_fields(client: Client) -> None:
    r = client.bb(
        "POST", HOOKS, json={"url": "https://x.example/", "events": ["repo:push", "nope:x"]}
    )
    assert r.status_code == 400
    assert r.json()["type"] == "error"
    assert "events" in r.json()["error"]["fields"]
    r = client.bb("POST", HOOKS, json={"url": "not a url", "events": []})
    assert set(r.json()["error"]["fields"]) == {"url", "events"}
    r = client.bb("POST", HOOKS, data="{", headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    r = client.bb(
        "POST",
        HOOKS,
        json={"url": "https://x.example/", "events": ["repo:push"], "secret": "x" * 129},
    )
    assert "secret" in r.json()["error"]["fields"]
    hook = _create(client)
    r = client.bb("PUT", f"{HOOKS}/{hook['uuid']}", json={"events": ["repo:branch_created"]})
    assert r.status_code == 400


def test_existing_hooks_from_seed(client: Client) -> None:
    web = client.bb("GET", "/repositories/acme/web/hooks").json()["values"]
    assert [(h["description"], h["url"], h["events"]) for h in web] == [
        ("deploy-notify", "https://hooks.acme.example/bitbucket", ["repo:push"])
    ]
    docs = client.bb("GET", "/repositories/acme/docs/hooks").json()["values"]
    assert docs[0]["description"] == "drone"
    assert docs[0]["url"].startswith("https://drone.acme.example/hook?secret=")


def test_hooks_list_paginates(client: Client) -> None:
    for i in range(12):
        _create(client, description=f"h{i}")
    first = client.bb("GET", HOOKS).json()
    assert len(first["values"]) == 10
    assert first["size"] == 12
    second = client.http.get(first["next"], auth=("reconciler@acme.example", "bb-sandbox-token"))
    assert len(second.json()["values"]) == 2


def test_workspace_hooks_owner_only(client: Client) -> None:
    body = {"description": "ws", "url": "https://hooks.acme.example/ws", "events": ["repo:push"]}
    r = client.bb("POST", "/workspaces/acme/hooks", json=body)
    assert r.status_code == 201
    hook = r.json()
    assert hook["subject_type"] == "workspace"
    assert hook["subject"]["slug"] == "acme"
    assert "/workspaces/acme/hooks/%7B" in r.headers["Location"]
    assert len(client.bb("GET", "/workspaces/acme/hooks").json()["values"]) == 1
    alice = ("alice@acme.example", "bb-alice-token")
    assert client.bb("GET", "/workspaces/acme/hooks", auth=alice).status_code == 403
    assert client.bb("POST", "/workspaces/acme/hooks", json=body, auth=alice).status_code == 403
    uid = quote(hook["uuid"], safe="")
    assert (
        client.bb("PUT", f"/workspaces/acme/hooks/{uid}", json={"active": False}).status_code == 200
    )
    assert client.bb("DELETE", f"/workspaces/acme/hooks/{uid}").status_code == 204
    assert client.bb("GET", "/workspaces/nope/hooks").status_code == 404
