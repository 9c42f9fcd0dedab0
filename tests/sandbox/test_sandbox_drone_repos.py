"""Drone repositories: auth, activation and its Bitbucket hook, repair, settings, disable."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.sandbox.conftest import Client

DRONE_EVENTS = {
    "repo:push",
    "pullrequest:created",
    "pullrequest:updated",
    "pullrequest:approved",
    "pullrequest:unapproved",
    "pullrequest:fulfilled",
    "pullrequest:rejected",
}


def _hooks(client: Client, slug: str) -> list[dict[str, Any]]:
    values: list[dict[str, Any]] = client.bb("GET", f"/repositories/acme/{slug}/hooks").json()[
        "values"
    ]
    return values


def _signer(client: Client, slug: str) -> str:
    rows = client.state()["drone"]["repos"]
    return str(next(r for r in rows if r["name"] == slug)["signer"])


def test_auth_guest_token_and_query_param(client: Client) -> None:
    assert client.drone("GET", "/api/user", token=None).status_code == 401
    assert client.drone("GET", "/api/user", token="bad").json() == {"message": "Unauthorized"}
    me = client.drone("GET", "/api/user").json()
    assert me["login"] == "drone-bot"
    assert "token" not in me
    bare = client.http.get(
        f"{client.url}/drone/api/user", headers={"Authorization": "drone-sandbox-token"}
    )
    assert bare.json()["login"] == "drone-bot"
    query = client.http.get(
        f"{client.url}/drone/api/user", params={"access_token": "drone-alice-token"}
    )
    assert query.json()["login"] == "alice"
    assert client.drone("GET", "/healthz", token=None).text == "OK"
    assert client.drone("GET", "/version", token=None).json()["version"].startswith("2.")


def test_repo_json_shape_and_permissions(client: Client) -> None:
    r = client.drone("GET", "/api/repos/acme/docs")
    assert r.status_code == 200
    assert r.text.endswith("\n")
    repo = r.json()
    assert repo["active"] is True
    assert repo["permissions"] == {"read": True, "write": True, "admin": True}
    assert "signer" not in repo and "secret" not in repo
    assert "throttle" not in repo  # omit-empty when 0
    assert repo["trusted"] is False  # repository booleans are always present
    assert repo["uid"].startswith("{")
    alice = client.drone("GET", "/api/repos/acme/api", token="drone-alice-token").json()
    assert alice["permissions"] == {"read": True, "write": True, "admin": True}
    mobile = client.drone("GET", "/api/repos/acme/mobile", token="drone-alice-token").json()
    assert mobile["permissions"] == {"read": True, "write": False, "admin": False}
    # no permission row: 404 (not 403); guest on a private repo: 401
    assert (
        client.drone("GET", "/api/repos/acme/data-pipeline", token="drone-alice-token").status_code
        == 404
    )
    assert client.drone("GET", "/api/repos/acme/api", token=None).status_code == 401
    assert client.drone("GET", "/api/repos/acme/missing").status_code == 404


def test_activation_creates_drone_hook_with_secret(client: Client) -> None:
    assert all(h["description"] != "drone" for h in _hooks(client, "api"))
    r = client.drone("POST", "/api/repos/acme/api")
    assert r.status_code == 200
    repo = r.json()
    assert repo["active"] is True
    assert repo["config_path"] == ".drone.yml"
    assert repo["timeout"] == 60
    assert repo["user_id"] == 1
    signer = _signer(client, "api")
    assert len(signer) == 32
    hooks = [h for h in _hooks(client, "api") if h["description"] == "drone"]
    assert len(hooks) == 1
    assert hooks[0]["url"] == f"https://drone.acme.example/hook?secret={signer}"
    assert set(hooks[0]["events"]) == DRONE_EVENTS
    assert hooks[0]["active"] is True
    # re-activation replaces the hook (same signer) and keeps exactly one
    client.drone("POST", "/api/repos/acme/api")
    again = [h for h in _hooks(client, "api") if h["description"] == "drone"]
    assert len(again) == 1
    assert again[0]["uuid"] != hooks[0]["uuid"]
    assert _signer(client, "api") == signer


def test_activation_deletes_first_hook_on_drones_host_only(client: Client) -> None:
    client.bb(
        "POST",
        "/repositories/acme/web/hooks",
        json={
            "description": "stray",
            "url": "https://drone.acme.example/other",
            "events": ["repo:push"],
        },
    )
    client.drone("POST", "/api/repos/acme/web")
    descriptions = sorted(h["description"] for h in _hooks(client, "web"))
    assert descriptions == ["deploy-notify", "drone"]


def test_disable_keeps_hook_and_repair_recreates_it(client: Client) -> None:
    r = client.drone("DELETE", "/api/repos/acme/docs")
    assert r.status_code == 200
    assert r.json()["active"] is False
    assert [h["description"] for h in _hooks(client, "docs")] == ["drone"]
    client.drone("POST", "/api/repos/acme/docs")
    hook = _hooks(client, "docs")[0]
    client.bb("DELETE", f"/repositories/acme/docs/hooks/{hook['uuid']}")
    assert _hooks(client, "docs") == []
    r = client.drone("POST", "/api/repos/acme/docs/repair")
    assert r.status_code == 200
    repaired = _hooks(client, "docs")
    assert len(repaired) == 1
    assert (
        repaired[0]["url"]
        == "https://drone.acme.example/hook?secret=sandboxdocssigner000000000000001"
    )


def test_patch_ignores_sysadmin_fields_for_non_admin(client: Client) -> None:
    body = {
        "timeout": 90,
        "trusted": True,
        "throttle": 2,
        "counter": 500,
        "ignore_forks": True,
        "visibility": "internal",
    }
    r = client.drone("PATCH", "/api/repos/acme/api", token="drone-alice-token", json=body)
    assert r.status_code == 200
    repo = r.json()
    assert repo["ignore_forks"] is True
    assert repo["visibility"] == "internal"
    assert repo["timeout"] == 0 and repo["trusted"] is False and repo["counter"] == 0
    assert "throttle" not in repo
    admin = client.drone("PATCH", "/api/repos/acme/api", json=body).json()
    assert admin["timeout"] == 90 and admin["trusted"] is True and admin["throttle"] == 2
    # no admin on mobile: 404; bad bodies: 400
    assert (
        client.drone(
            "PATCH", "/api/repos/acme/mobile", token="drone-alice-token", json=body
        ).status_code
        == 404
    )
    empty = client.drone("PATCH", "/api/repos/acme/api", data=b"")
    assert empty.status_code == 400
    assert client.drone("PATCH", "/api/repos/acme/api", data=b"nope").status_code == 400
    wrong = client.drone("PATCH", "/api/repos/acme/api", json={"timeout": "90"})
    assert wrong.status_code == 400
    assert "timeout" in wrong.json()["message"]


def test_inactive_user_forbidden_and_activation_needs_human(client: Client) -> None:
    r = client.drone(
        "POST",
        "/api/users",
        json={"login": "robot", "machine": True, "admin": True, "token": "robot-token"},
    )
    assert r.json()["token"] == "robot-token"
    assert client.drone("POST", "/api/repos/acme/api", token="robot-token").status_code == 500
    client.drone("PATCH", "/api/users/alice", json={"active": False})
    assert client.drone("GET", "/api/repos/acme/api", token="drone-alice-token").status_code == 403


def test_user_repos_sync_chown_and_remove(client: Client) -> None:
    mine = client.drone("GET", "/api/user/repos", token="drone-alice-token").json()
    slugs = [r["slug"] for r in mine]
    assert slugs == sorted(slugs)
    assert "acme/data-pipeline" not in slugs and "acme/api" in slugs
    assert len(client.drone("GET", "/api/repos").json()) == 8
    assert client.drone("GET", "/api/repos", token="drone-alice-token").status_code == 403
    paged = client.drone("GET", "/api/repos", params={"page": 2, "per_page": 5}).json()
    assert len(paged) == 3
    owned = client.drone("POST", "/api/repos/acme/api/chown", token="drone-alice-token").json()
    assert owned["user_id"] == 2
    client.drone("POST", "/api/repos/acme/docs/secrets", json={"name": "a", "data": "b"})
    removed = client.drone("DELETE", "/api/repos/acme/docs", params={"remove": "true"})
    assert removed.status_code == 200
    assert client.drone("GET", "/api/repos/acme/docs").status_code == 404
    synced = client.drone("POST", "/api/user/repos").json()
    docs = next(r for r in synced if r["slug"] == "acme/docs")
    assert docs["active"] is False
    assert docs["id"] == 9
    assert client.drone("GET", "/api/repos/acme/docs/secrets").json() == []
