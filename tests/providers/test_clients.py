"""Client methods outside read/write paths (PR comments, statuses, commits, Drone sync/chown)
against the sandbox: each returns the raw JSON the endpoint documents."""

from __future__ import annotations

from reconciler.providers.drone.read import parse_repo
from tests.providers.conftest import DRONE_USER_TOKEN, ME, WS, Box, standard_seed

HEAD = "a" * 40


def with_pull_request() -> dict[str, object]:
    seed = standard_seed()
    repo = seed["bitbucket"]["workspaces"][WS]["repositories"]["repo00"]
    repo["branches"] = {"main": "b" * 40, "feature/x": HEAD}
    repo["pullrequests"] = [
        {
            "id": 7,
            "title": "Change roles",
            "source_branch": "feature/x",
            "source_hash": HEAD,
            "destination_branch": "main",
            "destination_hash": "b" * 40,
            "author": ME,
        }
    ]
    return seed


def test_pull_request_comments_statuses_and_commits(box: Box) -> None:
    box.load(with_pull_request())
    bitbucket, _ = box.clients()
    pr = bitbucket.get_pull_request(WS, "repo00", 7)
    short = pr["source"]["commit"]["hash"]
    assert len(short) == 12
    assert bitbucket.get_commit(WS, "repo00", short)["hash"] == HEAD

    created = bitbucket.create_pr_comment(WS, "repo00", 7, raw="plan: 1 to add")
    bitbucket.update_pr_comment(WS, "repo00", 7, created["id"], raw="plan: no changes")
    (comment,) = bitbucket.list_pr_comments(WS, "repo00", 7, fields="values.id,values.content.raw")
    assert comment == {"id": created["id"], "content": {"raw": "plan: no changes"}}

    status = {
        "key": "reconciler-plan",
        "state": "SUCCESSFUL",
        "name": "GitOps plan",
        "url": "https://ci.acme.example/plan/7",
        "refname": "feature/x",
    }
    bitbucket.create_build_status(WS, "repo00", HEAD, body=status)
    again = bitbucket.create_build_status(WS, "repo00", HEAD, body={**status, "state": "FAILED"})
    assert again["state"] == "FAILED"  # an upsert keyed by `key`


def test_drone_sync_chown_and_repository_views(box: Box) -> None:
    _, admin = box.clients()
    _, alice = box.clients(DRONE_TOKEN=DRONE_USER_TOKEN)
    synced = alice.sync_user_repos()
    assert {r["slug"] for r in synced} >= {f"{WS}/repo00"}
    assert parse_repo(admin.get_repo(WS, "repo00")).handle["user_id"] == 1
    owned = alice.chown_repo(WS, "repo00")
    assert parse_repo(owned).handle["user_id"] != 1
    everything = admin.list_all_repos()
    assert {r["slug"] for r in everything} >= {f"{WS}/repo00", f"{WS}/repo01", f"{WS}/repo02"}
