"""Drone secrets, organization secrets, cron jobs and users."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from reconciler.sandbox.cron import CronError, next_run, parse, slugify

if TYPE_CHECKING:
    from tests.sandbox.conftest import Client

SECRETS = "/api/repos/acme/api/secrets"
CRON = "/api/repos/acme/api/cron"


def test_repo_secrets_write_only_and_omit_empty(client: Client) -> None:
    r = client.drone("POST", SECRETS, json={"name": "aws_key", "data": "v4lue-canary"})
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"id", "repo_id", "name"}  # false booleans are absent
    r = client.drone("POST", SECRETS, json={"name": "npm.token", "data": "x", "pull_request": True})
    assert r.json()["pull_request"] is True
    listing = client.drone("GET", SECRETS)
    assert [s["name"] for s in listing.json()] == ["aws_key", "npm.token"]
    assert "v4lue-canary" not in listing.text
    assert "data" not in client.drone("GET", f"{SECRETS}/aws_key").json()
    patched = client.drone("PATCH", f"{SECRETS}/aws_key", json={"pull_request_push": True})
    assert patched.json()["pull_request_push"] is True
    assert client.drone("PATCH", f"{SECRETS}/aws_key", json={"data": ""}).status_code == 400
    client.drone("PATCH", f"{SECRETS}/aws_key", json={"data": "rotated"})
    assert "rotated" in json.dumps(client.state())
    assert client.drone("DELETE", f"{SECRETS}/aws_key").status_code == 204
    missing = client.drone("GET", f"{SECRETS}/aws_key")
    assert missing.status_code == 404
    assert missing.json()["message"] == "sql: no rows in result set"


def test_repo_secret_validation_and_duplicate_500(client: Client) -> None:
    bad_name = client.drone("POST", SECRETS, json={"name": "bad name", "data": "x"})
    assert (bad_name.status_code, bad_name.json()) == (400, {"message": "Invalid Secret Name"})
    no_value = client.drone("POST", SECRETS, json={"name": "ok", "data": ""})
    assert (no_value.status_code, no_value.json()) == (400, {"message": "Invalid Secret Value"})
    client.drone("POST", SECRETS, json={"name": "dup", "data": "x"})
    dup = client.drone("POST", SECRETS, json={"name": "dup", "data": "y"})
    assert dup.status_code == 500
    assert dup.json() == {
        "message": "UNIQUE constraint failed: secrets.secret_repo_id, secrets.secret_name"
    }
    # secrets need repo write: alice has only read on mobile
    assert (
        client.drone("GET", "/api/repos/acme/mobile/secrets", token="drone-alice-token").status_code
        == 404
    )


def test_org_secrets_admin_only_on_bitbucket(client: Client) -> None:
    alice = "drone-alice-token"
    denied = client.drone("GET", "/api/secrets/acme", token=alice)
    assert (denied.status_code, denied.json()) == (401, {"message": "Forbidden"})
    assert client.drone("GET", "/api/secrets/acme", token=None).json() == {
        "message": "Unauthorized"
    }
    assert client.drone("GET", "/api/secrets", token=alice).status_code == 403
    r = client.drone("POST", "/api/secrets/acme", json={"name": "docker_password", "data": "pw"})
    assert r.json() == {"id": 1, "namespace": "acme", "name": "docker_password"}
    dup = client.drone("POST", "/api/secrets/ACME", json={"name": "DOCKER_PASSWORD", "data": "x"})
    assert dup.status_code == 500
    upd = client.drone("POST", "/api/secrets/acme/docker_password", json={"pull_request": True})
    assert upd.json()["pull_request"] is True
    patch = client.drone("PATCH", "/api/secrets/acme/docker_password", json={"data": "pw2"})
    assert patch.status_code == 200
    assert [s["name"] for s in client.drone("GET", "/api/secrets").json()] == ["docker_password"]
    # a user acting on the namespace equal to their login passes the membership check
    assert client.drone("GET", "/api/secrets/alice", token=alice).status_code == 200
    assert client.drone("DELETE", "/api/secrets/acme/docker_password").status_code == 204


def test_cron_name_normalisation_and_create_rules(client: Client) -> None:
    r = client.drone(
        "POST",
        CRON,
        json={
            "name": "Nightly Build & Test",
            "expr": "0 0 2 * * *",
            "branch": "main",
            "disabled": True,
            "target": "prod",
        },
    )
    assert r.status_code == 200
    job = r.json()
    assert job["name"] == "nightly-build-and-test"
    assert job["disabled"] is False  # ignored on create
    assert "target" not in job  # ignored on create, omit-empty
    assert job["event"] == "push"
    assert job["next"] > time.time()
    assert client.drone("GET", f"{CRON}/nightly-build-and-test").json()["id"] == job["id"]
    dup = client.drone(
        "POST", CRON, json={"name": "nightly build and test", "expr": "@daily", "branch": "main"}
    )
    assert dup.status_code == 500
    assert "UNIQUE constraint failed" in dup.json()["message"]
    bad = client.drone("POST", CRON, json={"name": "x", "expr": "0 0 2 * * * *", "branch": "main"})
    assert bad.json() == {"message": "Invalid Cronjob Expression"}
    nob = client.drone("POST", CRON, json={"name": "x", "expr": "@hourly", "branch": ""})
    assert nob.json() == {"message": "Invalid Cronjob Branch"}
    non = client.drone("POST", CRON, json={"name": "---", "expr": "@hourly", "branch": "main"})
    assert non.json() == {"message": "Invalid Cronjob Name"}


def test_cron_patch_run_delete(client: Client) -> None:
    client.drone("POST", CRON, json={"name": "nightly", "expr": "0 0 2 * * *", "branch": "main"})
    p = client.drone(
        "PATCH", f"{CRON}/nightly", json={"disabled": True, "target": "prod", "expr": "@hourly"}
    )
    job = p.json()
    assert job["disabled"] is True and job["target"] == "prod"
    assert job["expr"] == "0 0 2 * * *"  # not patchable
    assert client.drone("PATCH", f"{CRON}/nightly", data=b"garbage").status_code == 200
    build = client.drone("POST", f"{CRON}/nightly").json()
    assert build["event"] == "cron"
    assert build["after"] == "29f587ed65c317e28b8b6f7cd3c3cc10ea289cf2"
    assert client.drone("DELETE", f"{CRON}/nightly").status_code == 204
    assert client.drone("GET", f"{CRON}/nightly").status_code == 404


def test_users_crud_sysadmin_only(client: Client) -> None:
    assert client.drone("GET", "/api/users", token=None).status_code == 401
    assert client.drone("GET", "/api/users", token="drone-alice-token").status_code == 403
    human = client.drone("POST", "/api/users", json={"login": "bob", "admin": False})
    assert human.status_code == 200
    assert "token" not in human.json()
    assert human.json()["active"] is True
    machine = client.drone("POST", "/api/users", json={"login": "ci-bot", "machine": True})
    assert len(machine.json()["token"]) == 32
    assert client.drone("POST", "/api/users", json={"login": "BOB"}).status_code == 500
    assert client.drone("POST", "/api/users", json={"login": "a b"}).json() == {
        "message": "Invalid character in username"
    }
    assert client.drone("POST", "/api/users", json={"login": ""}).json() == {
        "message": "Invalid username length"
    }
    upd = client.drone("PATCH", "/api/users/bob", json={"admin": True, "machine": True})
    assert upd.json()["admin"] is True and upd.json()["machine"] is False
    off = client.drone("PATCH", "/api/users/bob", json={"active": False})
    assert off.json()["active"] is False and off.json()["admin"] is False
    logins = [u["login"] for u in client.drone("GET", "/api/users").json()]
    assert logins == sorted(logins)
    by_id = client.drone("GET", f"/api/users/{human.json()['id']}")
    assert by_id.json()["login"] == "bob"
    assert client.drone("DELETE", "/api/users/bob").status_code == 204
    assert client.drone("GET", "/api/users/bob").status_code == 404


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Nightly Build", "nightly-build"),
        ("  R&D @ Night  ", "randd-at-night"),
        ("it's--done__now", "its-done__now"),
        ("Café Crème", "cafe-creme"),
        ("!!!", ""),
    ],
)
def test_slugify(name: str, slug: str) -> None:
    assert slugify(name) == slug


def test_cron_parse_five_and_six_fields() -> None:
    now = datetime(2026, 3, 10, 12, 34, 56, tzinfo=UTC)
    # six fields: seconds first -> 02:00:00 daily
    assert datetime.fromtimestamp(next_run("0 0 2 * * *", now), UTC) == datetime(
        2026, 3, 11, 2, 0, 0, tzinfo=UTC
    )
    # five fields: "0 0 * * *" is second 0, minute 0, every hour -> hourly
    assert datetime.fromtimestamp(next_run("0 0 * * *", now), UTC) == datetime(
        2026, 3, 10, 13, 0, 0, tzinfo=UTC
    )
    assert datetime.fromtimestamp(next_run("0 */5 * * * *", now), UTC).minute == 35
    assert datetime.fromtimestamp(next_run("@weekly", now), UTC).weekday() == 6  # Sunday
    assert next_run("@every 1h30m", now) - int(now.timestamp()) == 5400
    assert datetime.fromtimestamp(next_run("0 0 0 1 jan *", now), UTC).year == 2027
    for bad in (
        "",
        "* * * *",
        "0 0 0 0 * *",
        "0 0 24 * * *",
        "0 0 0 * * 7",
        " @daily",
        "@fortnightly",
        "@every 1d",
        "0 0 5-1 * * *",
        "0 0 */0 * * *",
        "0 0 L * * *",
    ):
        with pytest.raises(CronError):
            parse(bad)
