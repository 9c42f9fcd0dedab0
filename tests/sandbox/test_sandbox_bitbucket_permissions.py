"""Explicit permissions-config grants and effective permission listings."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.sandbox.conftest import Client

ALICE = "{5b3c1a2e-0000-4000-8000-000000000001}"
BOB = "{5b3c1a2e-0000-4000-8000-000000000002}"
CAROL = "{5b3c1a2e-0000-4000-8000-000000000003}"
CFG = "/repositories/acme/billing/permissions-config"


def test_group_grants_list_upsert_delete(client: Client) -> None:
    listing = client.bb("GET", f"{CFG}/groups").json()
    assert {(v["group"]["slug"], v["permission"]) for v in listing["values"]} == {
        ("ci-admins", "admin"),
        ("contractors", "write"),
    }
    one = listing["values"][0]
    assert one["type"] == "repository_group_permission"
    assert one["group"]["full_slug"] == "acme:" + one["group"]["slug"]
    assert one["links"]["self"]["href"].endswith(f"{CFG}/groups/{one['group']['slug']}")
    r = client.bb("PUT", f"{CFG}/groups/developers", json={"permission": "write"})
    assert r.status_code == 200
    assert r.json()["permission"] == "write"
    r = client.bb("PUT", f"{CFG}/groups/developers", json={"permission": "read"})
    assert r.json()["permission"] == "read"
    assert client.bb("GET", f"{CFG}/groups/developers").json()["permission"] == "read"
    assert client.bb("DELETE", f"{CFG}/groups/contractors").status_code == 204
    assert client.bb("GET", f"{CFG}/groups/contractors").status_code == 404
    assert client.bb("DELETE", f"{CFG}/groups/contractors").status_code == 404


def test_invalid_permission_and_unknown_group(client: Client) -> None:
    for body in ({"permission": "owner"}, {}, None):
        r = client.bb("PUT", f"{CFG}/groups/developers", json=body)
        assert r.status_code == 400
        assert r.json()["type"] == "error"
    assert client.bb("PUT", f"{CFG}/groups/nope", json={"permission": "read"}).status_code == 404


def test_user_grants_by_uuid_and_account_id(client: Client) -> None:
    r = client.bb("PUT", f"{CFG}/users/{ALICE}", json={"permission": "admin"})
    assert r.status_code == 200
    body = r.json()
    assert body["type"] == "repository_user_permission"
    assert body["user"]["uuid"] == ALICE
    account = body["user"]["account_id"]
    assert client.bb("GET", f"{CFG}/users/{account}").json()["permission"] == "admin"
    listing = client.bb("GET", f"{CFG}/users").json()["values"]
    assert [(v["user"]["uuid"], v["permission"]) for v in listing] == [(ALICE, "admin")]
    assert client.bb("DELETE", f"{CFG}/users/{account}").status_code == 204
    assert client.bb("GET", f"{CFG}/users").json()["values"] == []
    # the workspace owner cannot be targeted; unknown users are 404
    owner = "{5b3c1a2e-0000-4000-8000-00000000000a}"
    assert client.bb("PUT", f"{CFG}/users/{owner}", json={"permission": "read"}).status_code == 400
    unknown = "{00000000-0000-4000-8000-000000000000}"
    assert (
        client.bb("PUT", f"{CFG}/users/{unknown}", json={"permission": "read"}).status_code == 404
    )


def test_effective_permissions_highest_of_user_and_groups(client: Client) -> None:
    r = client.bb(
        "GET",
        "/workspaces/acme/permissions/repositories",
        params={"q": 'repository.name="billing"', "pagelen": 100},
    )
    got = {(v["user"]["nickname"], v["permission"]) for v in r.json()["values"]}
    # alice: ci-admins admin; carol: contractors write; bob: nothing on billing
    assert got == {("drone-bot", "admin"), ("alice", "admin"), ("carol", "write")}
    entry = r.json()["values"][0]
    assert entry["type"] == "repository_permission"
    assert set(entry["repository"]) == {"type", "name", "full_name", "uuid"}
    # an explicit user grant below the group grant does not lower it; above it raises it
    client.bb("PUT", f"{CFG}/users/{CAROL}", json={"permission": "read"})
    client.bb("PUT", f"{CFG}/users/{BOB}", json={"permission": "write"})
    one = client.bb("GET", "/workspaces/acme/permissions/repositories/billing").json()["values"]
    got = {(v["user"]["nickname"], v["permission"]) for v in one}
    assert ("carol", "write") in got
    assert ("bob", "write") in got


def test_effective_listing_covers_all_repos_and_paginates(client: Client) -> None:
    r = client.bb("GET", "/workspaces/acme/permissions/repositories").json()
    assert r["size"] > 10
    assert "next" in r
    high = client.bb(
        "GET",
        "/workspaces/acme/permissions/repositories",
        params={"q": 'permission>"write"', "pagelen": 100},
    ).json()["values"]
    assert {v["permission"] for v in high} == {"admin"}


def test_permissions_endpoints_need_admin(client: Client) -> None:
    alice = ("alice@acme.example", "bb-alice-token")
    assert (
        client.bb("GET", "/workspaces/acme/permissions/repositories", auth=alice).status_code == 403
    )
    # alice is admin on billing via ci-admins, so the repo-level endpoints work for her
    assert client.bb("GET", f"{CFG}/groups", auth=alice).status_code == 200
    assert (
        client.bb(
            "GET", "/workspaces/acme/permissions/repositories/billing", auth=alice
        ).status_code
        == 200
    )
    assert (
        client.bb("GET", "/repositories/acme/web/permissions-config/users", auth=alice).status_code
        == 403
    )
