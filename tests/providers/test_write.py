"""Every write action against the sandbox, read back through the readers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from reconciler.models import address
from reconciler.models.address import Address
from reconciler.models.live import LiveState
from reconciler.models.resources import LiveResource, Value
from reconciler.plan import Action, Change, FieldChange
from reconciler.providers.bitbucket import write as bb_write
from reconciler.providers.drone import write as drone_write
from reconciler.providers.live import read_live
from tests.providers.conftest import ALICE, BOB, SECRET_CANARY, WS, Box, full_scope, standard_seed


def change(
    addr: Address,
    action: Action,
    after: Mapping[str, Value] | None = None,
    *,
    changed: Mapping[str, Value] | None = None,
    handle: Mapping[str, str | int] | None = None,
    sensitive: tuple[str, ...] = (),
) -> Change:
    """A Change as build_plan makes it: creates list every field, updates only changed ones."""
    listed = changed if changed is not None else (after or {})
    fields = tuple(FieldChange(k, None, v) for k, v in sorted(listed.items()))
    fields += tuple(FieldChange(k, None, None, sensitive=True) for k in sensitive)
    return Change(
        addr, action, fields=fields, after=after, handle=handle or {}, sensitive=sensitive
    )


def live(box: Box) -> LiveState:
    bitbucket, drone = box.clients()
    return read_live(scope=full_scope(standard_seed()), bitbucket=bitbucket, drone=drone)


def writes(box: Box) -> list[tuple[str, str, str]]:
    return [
        (e["method"], e["path"], str(e.get("query") or ""))
        for e in box.requests_log()
        if e["method"] != "GET"
    ]


def state_secret(box: Box, name: str) -> dict[str, Any]:
    found = [s for s in box.state()["drone"]["secrets"] if s["name"] == name]
    assert len(found) == 1, found
    return dict(found[0])


# -- Bitbucket ---------------------------------------------------------------------------------


def test_permission_create_update_delete(box: Box) -> None:
    bitbucket, _ = box.clients()
    qa = address.permission(WS, "repo00", "group", "qa")
    bb_write.execute(bitbucket, change(qa, Action.CREATE, {"permission": "read"}), {})
    bob = address.permission(WS, "repo00", "user", BOB)
    bb_write.execute(bitbucket, change(bob, Action.CREATE, {"permission": "write"}), {})
    dev = address.permission(WS, "repo00", "group", "developers")
    update = change(dev, Action.UPDATE, {"permission": "admin"})
    bb_write.execute(bitbucket, update, {})
    alice = address.permission(WS, "repo00", "user", ALICE)
    handle = {"principal_type": "user", "principal": ALICE}
    bb_write.execute(bitbucket, change(alice, Action.DELETE, handle=handle), {})

    res = live(box).resources
    assert res[qa].fields == {"permission": "read"}
    assert res[bob].fields == {"permission": "write"}
    assert res[dev].fields == {"permission": "admin"}
    assert alice not in res
    assert [m for m, _, _ in writes(box)] == ["PUT", "PUT", "PUT", "DELETE"]


def test_webhook_create_update_delete(box: Box) -> None:
    bitbucket, _ = box.clients()
    deploy = address.webhook(WS, "repo01", "deploy-notify")
    after = {"url": "https://hooks.acme.example/deploy", "events": ("repo:push",), "active": True}
    create = change(deploy, Action.CREATE, after, sensitive=("secret",))
    bb_write.execute(bitbucket, create, {"secret": SECRET_CANARY})
    created: LiveResource = live(box).resources[deploy]
    assert created.fields == after and created.sensitive_set == {"secret"}

    box.control("DELETE", "requests")
    update = change(
        deploy,
        Action.UPDATE,
        {**after, "active": False},
        changed={"active": False},
        handle=created.handle,
    )
    bb_write.execute(bitbucket, update, {})
    assert live(box).resources[deploy].fields["active"] is False
    (put,) = [e for e in box.requests_log() if e["method"] == "PUT"]
    assert put["path"].endswith(f"/repo01/hooks/{created.handle['uuid']}")
    assert (
        put["path"].endswith(str(created.handle["uuid"]).replace("{", "%7B").replace("}", "%7D"))
        or "{" in put["path"]
    )

    bb_write.execute(bitbucket, change(deploy, Action.DELETE, handle=created.handle), {})
    assert deploy not in live(box).resources


def test_webhook_replace_and_secret_rotation(box: Box) -> None:
    bitbucket, _ = box.clients()
    notify = address.webhook(WS, "repo02", "notify")
    current = live(box).resources[notify]
    rotate = change(
        notify,
        Action.UPDATE,
        dict(current.fields),
        changed={},
        handle=current.handle,
        sensitive=("secret",),
    )
    bb_write.execute(bitbucket, rotate, {"secret": "rotated-secret-value"})
    hooks = box.state()["bitbucket"]["workspaces"][WS]["repositories"]["repo02"]["hooks"]
    assert [h["secret"] for h in hooks if h["description"] == "notify"] == ["rotated-secret-value"]

    after = {"url": "https://hooks.acme.example/new", "events": ("repo:push",), "active": True}
    replace = change(notify, Action.REPLACE, after, handle=current.handle)
    bb_write.execute(bitbucket, replace, {})
    assert live(box).resources[notify].fields == after


def test_missing_sensitive_value_is_an_error_not_a_blank(box: Box) -> None:
    from reconciler.errors import SecretResolutionError

    bitbucket, _ = box.clients()
    hook = address.webhook(WS, "repo00", "x")
    with pytest.raises(SecretResolutionError):
        bb_write.execute(
            bitbucket,
            change(hook, Action.CREATE, {"url": "https://x.example/"}, sensitive=("secret",)),
            {},
        )
    assert writes(box) == []


# -- Drone -------------------------------------------------------------------------------------


def test_repo_disable_activate_update_repair(box: Box) -> None:
    _, drone = box.clients()
    repo = address.drone_repo(WS, "repo00")
    disable = change(
        repo,
        Action.DELETE,
        {"active": False, "timeout": 90},
        changed={"active": False, "timeout": 90},
    )
    drone_write.execute(drone, disable, {})
    assert live(box).resources[repo].fields["active"] is False

    activate = change(
        repo,
        Action.CREATE,
        {"active": True, "ignore_forks": True},
        changed={"active": True, "ignore_forks": True},
    )
    drone_write.execute(drone, activate, {})
    update = change(repo, Action.UPDATE, {"throttle": 2, "visibility": "internal"})
    drone_write.execute(drone, update, {})
    fields = live(box).resources[repo].fields
    assert fields["active"] is True and fields["ignore_forks"] is True
    assert fields["timeout"] == 90 and fields["throttle"] == 2
    assert fields["visibility"] == "internal"

    box.control("DELETE", "requests")
    drone_write.execute(drone, Change(repo, Action.REPAIR), {})
    assert ("POST", "/drone/api/repos/acme/repo00/repair") in [(m, p) for m, p, _ in writes(box)]
    assert [h.url for h in live(box).drone_hooks[f"{WS}/repo00"]] == [
        "https://drone.acme.example/hook?secret=***"
    ]


def test_patch_bodies_are_minimal(box: Box) -> None:
    _, drone = box.clients()
    secret = address.drone_secret(WS, "repo01", "aws_key")
    update = change(
        secret,
        Action.UPDATE,
        {"pull_request": False, "pull_request_push": False},
        changed={"pull_request": False},
    )
    drone_write.execute(drone, update, {})
    assert live(box).resources[secret].fields["pull_request"] is False
    assert [(m, p) for m, p, _ in writes(box)] == [
        ("PATCH", "/drone/api/repos/acme/repo01/secrets/aws_key")
    ]


def test_secret_create_update_delete(box: Box) -> None:
    _, drone = box.clients()
    npm = address.drone_secret(WS, "repo00", "npm_token")
    create = change(
        npm, Action.CREATE, {"pull_request": True, "pull_request_push": False}, sensitive=("value",)
    )
    drone_write.execute(drone, create, {"value": "npm-value-1"})
    assert live(box).resources[npm].fields == {"pull_request": True, "pull_request_push": False}
    assert state_secret(box, "npm_token")["data"] == "npm-value-1"

    rotate = change(
        npm,
        Action.UPDATE,
        {"pull_request": True, "pull_request_push": False},
        changed={},
        sensitive=("value",),
    )
    drone_write.execute(drone, rotate, {"value": "npm-value-2"})
    assert state_secret(box, "npm_token")["data"] == "npm-value-2"

    drone_write.execute(drone, change(npm, Action.DELETE), {})
    assert npm not in live(box).resources


def test_org_secret_create_update_delete(box: Box) -> None:
    _, drone = box.clients()
    org = address.drone_org_secret(WS, "slack_webhook")
    drone_write.execute(
        drone,
        change(
            org,
            Action.CREATE,
            {"pull_request": False, "pull_request_push": True},
            sensitive=("value",),
        ),
        {"value": "hook-1"},
    )
    assert live(box).resources[org].fields == {"pull_request": False, "pull_request_push": True}
    drone_write.execute(
        drone,
        change(
            org,
            Action.UPDATE,
            {"pull_request": True, "pull_request_push": True},
            changed={"pull_request": True},
        ),
        {},
    )
    assert live(box).resources[org].fields["pull_request"] is True
    drone_write.execute(drone, change(org, Action.DELETE), {})
    assert org not in live(box).resources


def test_cron_create_disabled_update_replace_delete(box: Box) -> None:
    _, drone = box.clients()
    weekly = address.drone_cron(WS, "repo00", "weekly")
    after = {"expr": "0 0 3 * * 1", "branch": "main", "disabled": True}
    drone_write.execute(drone, change(weekly, Action.CREATE, after), {})
    assert live(box).resources[weekly].fields == after

    update = change(
        weekly,
        Action.UPDATE,
        {**after, "branch": "release", "disabled": False},
        changed={"branch": "release", "disabled": False},
    )
    drone_write.execute(drone, update, {})
    assert live(box).resources[weekly].fields == {**after, "branch": "release", "disabled": False}

    replaced = {"expr": "0 30 3 * * 1", "branch": "release", "disabled": False}
    drone_write.execute(
        drone, change(weekly, Action.REPLACE, replaced, changed={"expr": "0 30 3 * * 1"}), {}
    )
    assert live(box).resources[weekly].fields == replaced

    drone_write.execute(drone, change(weekly, Action.DELETE), {})
    assert weekly not in live(box).resources


def test_user_create_update_replace_delete(box: Box) -> None:
    _, drone = box.clients()
    carol = address.drone_user("carol")
    drone_write.execute(
        drone, change(carol, Action.CREATE, {"admin": False, "active": True, "machine": True}), {}
    )
    assert live(box).resources[carol].fields == {"admin": False, "active": True, "machine": True}
    drone_write.execute(
        drone,
        change(
            carol,
            Action.UPDATE,
            {"admin": True, "active": True, "machine": True},
            changed={"admin": True},
        ),
        {},
    )
    assert live(box).resources[carol].fields["admin"] is True
    drone_write.execute(
        drone,
        change(
            carol,
            Action.REPLACE,
            {"admin": False, "active": True, "machine": False},
            changed={"machine": False},
        ),
        {},
    )
    assert live(box).resources[carol].fields == {"admin": False, "active": True, "machine": False}
    drone_write.execute(drone, change(carol, Action.DELETE), {})
    assert carol not in live(box).resources


def test_manual_changes_call_nothing(box: Box) -> None:
    bitbucket, drone = box.clients()
    consumer = address.oauth_consumer(WS, "drone")
    bb_write.execute(bitbucket, Change(consumer, Action.MANUAL, reason="edit in the UI"), {})
    drone_write.execute(drone, Change(address.drone_user("x"), Action.MANUAL), {})
    assert box.requests_log() == []
