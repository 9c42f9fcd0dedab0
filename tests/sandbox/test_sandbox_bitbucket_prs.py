"""Pull requests, PR comments, commits and build statuses; and the OAuth token endpoint."""

from __future__ import annotations

from typing import TYPE_CHECKING

import requests

if TYPE_CHECKING:
    from tests.sandbox.conftest import Client

SRC = "1111111111111111111111111111111111111abc"
DST = "29f587ed65c317e28b8b6f7cd3c3cc10ea289cf2"  # api main in the example seed
REPO = "/repositories/acme/api"
ALICE = ("alice@acme.example", "bb-alice-token")


def _open_pr(client: Client, pid: int = 7) -> None:
    client.control(
        "POST",
        "events/pullrequest",
        {
            "repo": "api",
            "id": pid,
            "action": "created",
            "title": "Add thing",
            "source_branch": "feature/x",
            "source_hash": SRC,
            "destination_branch": "main",
            "destination_hash": DST,
            "author": "{5b3c1a2e-0000-4000-8000-000000000001}",
        },
    )


def test_pull_request_has_abbreviated_hashes(client: Client) -> None:
    _open_pr(client)
    pr = client.bb("GET", f"{REPO}/pullrequests/7").json()
    assert pr["type"] == "pullrequest"
    assert pr["state"] == "OPEN"
    assert pr["source"]["commit"]["hash"] == SRC[:12]
    assert pr["destination"]["commit"]["hash"] == DST[:12]
    assert pr["source"]["branch"]["name"] == "feature/x"
    assert pr["author"]["nickname"] == "alice"
    assert pr["merge_commit"] is None
    assert pr["closed_by"] is None
    assert "reviewers" in pr and "participants" in pr
    assert client.bb("GET", f"{REPO}/pullrequests/8").status_code == 404
    listing = client.bb("GET", f"{REPO}/pullrequests").json()
    assert [p["id"] for p in listing["values"]] == [7]
    assert "reviewers" not in listing["values"][0]
    assert (
        client.bb("GET", f"{REPO}/pullrequests", params={"state": "MERGED"}).json()["values"] == []
    )


def test_commit_lookup_expands_abbreviated_hash(client: Client) -> None:
    _open_pr(client)
    commit = client.bb("GET", f"{REPO}/commit/{SRC[:12]}")
    assert commit.status_code == 200
    assert commit.json()["hash"] == SRC
    assert client.bb("GET", f"{REPO}/commit/{'f' * 40}").status_code == 404


def test_comments_crud_and_author_only_edit(client: Client) -> None:
    _open_pr(client)
    base = f"{REPO}/pullrequests/7/comments"
    r = client.bb("POST", base, json={"content": {"raw": "plan: 1 to add"}})
    assert r.status_code == 201
    comment = r.json()
    assert comment["type"] == "pullrequest_comment"
    assert comment["content"]["raw"] == "plan: 1 to add"
    assert comment["content"]["markup"] == "markdown"
    assert comment["user"]["nickname"] == "drone-bot"
    assert r.headers["Location"].endswith(f"/comments/{comment['id']}")
    cid = comment["id"]
    put = client.bb("PUT", f"{base}/{cid}", json={"content": {"raw": "plan: nothing"}})
    assert put.status_code == 200
    assert put.json()["content"]["raw"] == "plan: nothing"
    assert (
        client.bb("PUT", f"{base}/{cid}", json={"content": {"raw": "x"}}, auth=ALICE).status_code
        == 403
    )
    assert client.bb("POST", base, json={"content": {}}).status_code == 400
    assert [c["id"] for c in client.bb("GET", base).json()["values"]] == [cid]
    assert client.bb("DELETE", f"{base}/{cid}").status_code == 204
    assert client.bb("GET", f"{base}/{cid}").status_code == 404


def test_build_status_upsert_and_lists(client: Client) -> None:
    _open_pr(client)
    url = f"{REPO}/commit/{SRC[:12]}/statuses/build"
    body = {
        "key": "gitops-plan",
        "state": "INPROGRESS",
        "name": "GitOps plan",
        "url": "https://ci.example/plan/7",
        "refname": "feature/x",
    }
    r = client.bb("POST", url, json=body)
    assert r.status_code == 201
    status = r.json()
    assert status["commit"]["hash"] == SRC
    assert status["type"] == "build"
    r = client.bb("POST", url, json=dict(body, state="SUCCESSFUL", description="1 to add"))
    assert r.status_code == 201
    listing = client.bb("GET", f"{REPO}/commit/{SRC}/statuses").json()["values"]
    assert [(s["key"], s["state"]) for s in listing] == [("gitops-plan", "SUCCESSFUL")]
    one = client.bb("GET", f"{url}/gitops-plan").json()
    assert one["description"] == "1 to add"
    upd = client.bb("PUT", f"{url}/gitops-plan", json={"state": "FAILED"})
    assert upd.json()["state"] == "FAILED"
    assert upd.json()["key"] == "gitops-plan"
    assert client.bb("GET", f"{url}/other").status_code == 404
    pr_statuses = client.bb("GET", f"{REPO}/pullrequests/7/statuses").json()["values"]
    assert [s["key"] for s in pr_statuses] == ["gitops-plan"]
    bad = client.bb("POST", url, json={"key": "k", "state": "DONE", "url": "https://x"})
    assert bad.status_code == 400
    assert "state" in bad.json()["error"]["fields"]
    slashed = client.bb("POST", url, json=dict(body, key="continuous-integration/drone/pr"))
    assert slashed.status_code == 201
    assert client.bb("GET", f"{url}/continuous-integration/drone/pr").status_code == 200


TOKEN_PATH = "/bitbucket/site/oauth2/access_token"


def _grant(
    client: Client, key: str, secret: str, grant: str = "client_credentials"
) -> requests.Response:
    return client.http.post(
        f"{client.url}{TOKEN_PATH}", auth=(key, secret), data={"grant_type": grant}, timeout=10
    )


def test_oauth_client_credentials_for_private_consumer(client: Client) -> None:
    r = _grant(client, "drone-client-id-canary", "drone-client-secret-canary")
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 7200
    assert body["state"] == "client_credentials"
    assert body["scopes"] == "account email team repository webhook"
    assert body["refresh_token"]
    bearer = {"Authorization": f"Bearer {body['access_token']}"}
    me = client.bb("GET", "/user", auth=None, headers=bearer)
    assert me.status_code == 200
    assert me.headers["X-OAuth-Scopes"] == "account, email, team, repository, webhook"
    assert client.bb("GET", f"{REPO}/hooks", auth=None, headers=bearer).status_code == 200
    # no pullrequest scope
    assert client.bb("GET", f"{REPO}/pullrequests", auth=None, headers=bearer).status_code == 403
    # permissions-config writes need an API token
    put = client.bb(
        "PUT",
        f"{REPO}/permissions-config/groups/qa",
        json={"permission": "read"},
        auth=None,
        headers=bearer,
    )
    assert put.status_code == 403


def test_oauth_public_consumer_and_bad_credentials(client: Client) -> None:
    state = client.state()
    state["bitbucket"]["oauth_consumers"][0]["private"] = False
    client.control("PUT", "state", state)
    r = _grant(client, "drone-client-id-canary", "drone-client-secret-canary")
    assert r.status_code == 400
    assert r.json()["error"] == "unauthorized_client"
    bad = _grant(client, "drone-client-id-canary", "wrong")
    assert bad.status_code in (400, 401)
    assert bad.json()["error"] == "invalid_client"
    unknown = _grant(client, "nope", "nope")
    assert unknown.json()["error"] == "invalid_client"
    grant = _grant(client, "drone-client-id-canary", "drone-client-secret-canary", "password")
    assert grant.status_code == 400
