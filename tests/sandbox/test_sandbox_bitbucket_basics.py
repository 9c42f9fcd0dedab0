"""Bitbucket auth, scopes, pagination, fields=, BBQL and repository reads."""

from __future__ import annotations

from tests.sandbox.conftest import ALICE, Client


def test_missing_and_bad_credentials_get_401_with_bitbucket_error_body(client: Client) -> None:
    for auth in (None, ("reconciler@acme.example", "wrong"), ("nobody@x.example", "x")):
        r = client.bb("GET", "/user", auth=auth)
        assert r.status_code == 401
        assert r.json()["type"] == "error"
        assert r.json()["error"]["message"]
        assert "Basic" in r.headers["WWW-Authenticate"]
    r = client.bb("GET", "/user", headers={"Authorization": "Bearer unknown-token"}, auth=None)
    assert r.status_code == 401


def test_user_and_scope_headers(client: Client) -> None:
    r = client.bb("GET", "/user")
    assert r.status_code == 200
    body = r.json()
    assert body["uuid"] == "{5b3c1a2e-0000-4000-8000-00000000000a}"
    assert body["type"] == "user"
    assert "read:webhook:bitbucket" in r.headers["X-OAuth-Scopes"]
    assert r.headers["X-Accepted-OAuth-Scopes"] == "account"
    hooks = client.bb("GET", "/repositories/acme/web/hooks")
    assert hooks.headers["X-Accepted-OAuth-Scopes"] == "webhook"


def test_missing_scope_is_403_naming_required_scopes(client: Client) -> None:
    state = client.state()
    state["bitbucket"]["users"][0]["scopes"] = ["read:user:bitbucket"]
    client.control("PUT", "state", state)
    r = client.bb("GET", "/repositories/acme/web/hooks")
    assert r.status_code == 403
    assert r.json()["error"]["detail"]["required"] == ["read:webhook:bitbucket"]
    assert client.bb("GET", "/user").status_code == 200


def test_unknown_repo_is_404_and_non_admin_is_403(client: Client) -> None:
    r = client.bb("GET", "/repositories/acme/nope/hooks")
    assert r.status_code == 404
    assert r.json()["error"]["message"] == "Repository acme/nope not found"
    alice = ("alice@acme.example", "bb-alice-token")
    # alice is a developer (write) on web: she sees it, but hooks need repo admin
    assert client.bb("GET", "/repositories/acme/web", auth=alice).status_code == 200
    assert client.bb("GET", "/repositories/acme/web/hooks", auth=alice).status_code == 403
    assert (
        client.bb("GET", "/repositories/acme/web/permissions-config/groups", auth=alice).status_code
        == 403
    )
    # data-pipeline has no grant for alice and is private: it does not exist for her
    assert client.bb("GET", "/repositories/acme/data-pipeline", auth=alice).status_code == 404


def test_pagination_next_previous_and_pagelen_clamp(client: Client) -> None:
    r = client.bb("GET", "/repositories/acme", params={"pagelen": 3})
    page1 = r.json()
    assert page1["pagelen"] == 3
    assert page1["size"] == 8
    assert page1["page"] == 1
    assert "previous" not in page1
    assert page1["next"].startswith(client.url + "/bitbucket/2.0/repositories/acme?")
    names = [v["name"] for v in page1["values"]]
    url = page1["next"]
    while url:
        page = client.http.get(url, auth=("reconciler@acme.example", "bb-sandbox-token")).json()
        assert page["previous"]
        names += [v["name"] for v in page["values"]]
        url = page.get("next")
    assert len(names) == 8
    assert len(set(names)) == 8
    big = client.bb("GET", "/repositories/acme", params={"pagelen": 500}).json()
    assert big["pagelen"] == 100
    assert "next" not in big
    default = client.bb("GET", "/repositories/acme").json()
    assert default["pagelen"] == 10


def test_fields_trimming_keeps_next(client: Client) -> None:
    r = client.bb(
        "GET", "/repositories/acme", params={"pagelen": 2, "fields": "values.name,values.uuid,next"}
    )
    body = r.json()
    assert set(body) == {"values", "next"}
    assert set(body["values"][0]) == {"name", "uuid"}
    assert "fields=values.name" in body["next"]
    minus = client.bb(
        "GET", "/repositories/acme/api", params={"fields": "-links,-workspace"}
    ).json()
    assert "links" not in minus
    assert "workspace" not in minus
    assert minus["name"] == "api"


def test_workspace_and_repository_objects(client: Client) -> None:
    ws = client.bb("GET", "/workspaces/acme").json()
    assert ws["type"] == "workspace"
    assert ws["slug"] == "acme"
    by_uuid = client.bb("GET", "/workspaces/%7B7a1e0c3d-0000-4000-8000-0000000000ac%7D")
    assert by_uuid.json()["slug"] == "acme"
    repo = client.bb("GET", "/repositories/acme/api").json()
    assert repo["full_name"] == "acme/api"
    assert repo["mainbranch"]["name"] == "main"
    assert repo["is_private"] is True
    assert client.bb("GET", "/workspaces/other").status_code == 404


def test_bbql_filter_and_role(client: Client) -> None:
    r = client.bb("GET", "/repositories/acme", params={"q": 'name ~ "data" OR name = "web"'})
    assert sorted(v["name"] for v in r.json()["values"]) == ["data-pipeline", "web"]
    bad = client.bb("GET", "/repositories/acme", params={"q": "name = "})
    assert bad.status_code == 400
    alice = ("alice@acme.example", "bb-alice-token")
    admin_repos = client.bb("GET", "/repositories/acme", params={"role": "admin"}, auth=alice)
    names = sorted(v["name"] for v in admin_repos.json()["values"])
    assert names == ["api", "billing", "infra"]  # ci-admins: admin


def test_hook_events_are_public(client: Client) -> None:
    r = client.bb("GET", "/hook_events", auth=None)
    assert r.status_code == 200
    assert r.json()["repository"]["links"]["events"]["href"].endswith("/hook_events/repository")
    events = client.bb("GET", "/hook_events/repository", auth=None, params={"pagelen": 100})
    keys = {e["event"] for e in events.json()["values"]}
    assert len(keys) == 29
    assert "repo:push" in keys
    assert client.bb("GET", "/hook_events/team", auth=None).status_code == 404


def test_user_permissions_repositories(client: Client) -> None:
    alice = ("alice@acme.example", "bb-alice-token")
    r = client.bb(
        "GET",
        "/user/permissions/repositories",
        auth=alice,
        params={"q": 'repository.full_name="acme/api"'},
    )
    values = r.json()["values"]
    assert [(v["repository"]["full_name"], v["permission"]) for v in values] == [
        ("acme/api", "admin")
    ]
    assert values[0]["user"]["uuid"] == ALICE
