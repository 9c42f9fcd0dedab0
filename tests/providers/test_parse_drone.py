"""Drone parsers on recorded payloads (../shared/reference/drone/fixtures/drone-go)."""

from __future__ import annotations

import json
from typing import Any

from reconciler.models.address import Address, Kind
from reconciler.providers.drone.read import (
    parse_crons,
    parse_org_secrets,
    parse_repo,
    parse_repos,
    parse_secrets,
    parse_user,
    parse_users,
)
from tests.conftest import shared_path


def load(name: str) -> Any:
    path = shared_path("reference", "drone", "fixtures", "drone-go", name)
    return json.loads(path.read_text(encoding="utf-8"))


def test_repo_fields_fill_drone_omissions() -> None:
    repo = parse_repo(load("repo.json"))
    assert repo.address == Address(Kind.DRONE_REPO, "octocat/hello-world")
    assert repo.fields == {
        "active": True,
        "auto_cancel_pull_requests": False,
        "auto_cancel_pushes": False,
        "auto_cancel_running": False,
        "config_path": ".drone.yml",
        "ignore_forks": False,
        "ignore_pull_requests": False,
        "protected": False,
        "throttle": 0,
        "timeout": 60,
        "trusted": False,
        "visibility": "private",
    }
    assert repo.handle == {"id": 181, "user_id": 2, "uid": "13933572"}


def test_repos_listing_keeps_wanted_and_reports_missing() -> None:
    found = parse_repos(load("repos.json"), wanted={"octocat/hello-world", "octocat/absent"})
    assert list(found.found) == ["octocat/hello-world"]
    assert found.missing == {"octocat/absent"}
    assert parse_repos(load("repos.json"), wanted={"Octocat/hello-world"}).found == {}


def test_crons() -> None:
    (cron,) = parse_crons("octocat/hello-world", load("crons.json"))
    assert str(cron.address) == "drone_cron:octocat/hello-world/every-10-minutes"
    assert cron.fields == {"expr": "0 */5 * * * *", "branch": "master", "disabled": False}
    assert cron.handle == {"id": 3}


def test_users_and_ids() -> None:
    users = parse_users(load("users.json"))
    (user,) = users.resources
    assert user.address == Address(Kind.DRONE_USER, "bradrydzewski")
    assert user.fields == {"admin": True, "active": True, "machine": False}
    assert users.ids == {"bradrydzewski": 2}
    me = parse_user(load("user.json"))
    assert (me.login, me.admin) == ("octocat", True)


def test_secrets_are_omit_empty_and_write_only() -> None:
    # drone-go records no secret payload; this is the documented shape (API.md 3.2 and 4):
    # omit-empty booleans, and never a `data` member.
    listed = [
        {"id": 1, "repo_id": 181, "name": "aws_key", "pull_request": True},
        {"id": 2, "name": "npm"},
    ]
    first, second = parse_secrets("octocat/hello-world", listed)
    assert first.fields == {"pull_request": True, "pull_request_push": False}
    assert second.fields == {"pull_request": False, "pull_request_push": False}
    assert first.sensitive_set == {"value"}
    (org,) = parse_org_secrets("octocat", [{"id": 9, "namespace": "octocat", "name": "docker"}])
    assert str(org.address) == "drone_org_secret:octocat/docker"
