"""Plan cases are data (tests/core/cases/*.yaml): desired + live + inventory -> expected changes.

Every case runs twice: the first plan's changes are applied to the live data by a tiny pure
simulator of apply, and the second plan must be empty (idempotence).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.models.address import Address, Kind
from reconciler.models.live import DroneHook, LiveState
from reconciler.models.resources import (
    DesiredResource,
    DesiredState,
    Inventory,
    LiveResource,
    PolicySettings,
    Prune,
    SecretRef,
    Source,
    Value,
    fingerprint_key,
)
from reconciler.plan import Action, Change, Plan, build_plan, extend_plan, live_fingerprint

CASES_DIR = Path(__file__).parent / "cases"


def _load_cases() -> list[Any]:
    params = []
    for path in sorted(CASES_DIR.glob("*.yaml")):
        for case in yaml.safe_load(path.read_text())["cases"]:
            params.append(pytest.param(case, id=f"{path.stem}: {case['name']}"))
    return params


def _value(raw: Any) -> Value:
    if isinstance(raw, list):
        return tuple(str(v) for v in raw)
    assert raw is None or isinstance(raw, str | int | bool)
    return raw


def _fields(raw: dict[str, Any] | None) -> dict[str, Value]:
    return {k: _value(v) for k, v in (raw or {}).items()}


def _source(text: str) -> Source:
    where, _, via = text.partition(", ")
    file, _, line = where.rpartition(":")
    return Source(file=file, line=int(line), via=via or None)


def _desired(case: dict[str, Any]) -> DesiredState:
    resources = {}
    for text, raw in (case.get("desired") or {}).items():
        address = Address.parse(text)
        resources[address] = DesiredResource(
            address=address,
            fields=_fields(raw.get("fields")),
            source=_source(raw["source"]),
            sensitive={k: SecretRef(**v) for k, v in (raw.get("sensitive") or {}).items()},
        )
    policy: dict[str, Any] = {
        k: v if k == "max_deletions" else Prune(v) for k, v in case.get("policy", {}).items()
    }
    return DesiredState(
        workspace=case.get("workspace", "acme"),
        resources=resources,
        repositories=(),
        policy=PolicySettings(**policy),
        scopes={k: frozenset(v) for k, v in (case.get("scopes") or {}).items()},
        revision="abc123",
    )


def _live(case: dict[str, Any]) -> LiveState:
    resources = {}
    for text, raw in (case.get("live") or {}).items():
        address = Address.parse(text)
        resources[address] = LiveResource(
            address=address,
            fields=_fields(raw.get("fields")),
            handle=raw.get("handle") or {},
            sensitive_set=frozenset(raw.get("sensitive_set") or ()),
        )
    return LiveState(resources=resources, missing_repos=frozenset(case.get("missing_repos", ())))


def _inventory(case: dict[str, Any]) -> Inventory:
    raw = case.get("inventory") or {}
    return Inventory(
        created=frozenset(Address.parse(a) for a in raw.get("created", ())),
        fingerprints=dict(raw.get("fingerprints") or {}),
    )


def _plan(case: dict[str, Any], live: LiveState, inventory: Inventory) -> Plan:
    return build_plan(
        _desired(case),
        live,
        inventory,
        desired_fingerprints=case.get("desired_fingerprints") or {},
        drone_admin=case.get("drone_admin", True),
        targets=tuple(case.get("targets", ())),
    )


def _check_change(change: Change, expected: dict[str, Any]) -> None:
    assert str(change.address) == expected["address"]
    assert change.action.value == expected["action"]
    wanted = {}
    for name, pair in (expected.get("fields") or {}).items():
        wanted[name] = "sensitive" if pair == "sensitive" else (_value(pair[0]), _value(pair[1]))
    got = {f.field: "sensitive" if f.sensitive else (f.before, f.after) for f in change.fields}
    if "fields" in expected:
        assert got == wanted
    if "sensitive" in expected:
        assert list(change.sensitive) == expected["sensitive"]
    assert expected.get("reason", "") in change.reason


def _simulate(
    plan: Plan, live: LiveState, inventory: Inventory, fingerprints: dict[str, str]
) -> tuple[LiveState, Inventory]:
    """What apply does, on data: create/replace set the desired fields, update sets the changed
    fields, delete removes (a drone_repo disable keeps the row), write-only fields record their
    fingerprint, and the inventory follows."""
    resources = dict(live.resources)
    created = set(inventory.created)
    prints = dict(inventory.fingerprints)
    for change in plan.changes:
        current = resources.get(change.address)
        fields = dict(current.fields) if current else {}
        secrets_set = set(current.sensitive_set) if current else set()
        if change.action is Action.DELETE and change.address.kind is not Kind.DRONE_REPO:
            del resources[change.address]
            created.discard(change.address)
            continue
        if change.action is Action.REPLACE:
            fields, secrets_set = {}, set()
        if change.action in (Action.CREATE, Action.REPLACE):
            fields.update(change.after or {})
            created.add(change.address)
        fields.update({f.field: f.after for f in change.fields if not f.sensitive})
        secrets_set.update(change.sensitive)
        for name in change.sensitive:
            key = fingerprint_key(change.address, name)
            if key in fingerprints:
                prints[key] = fingerprints[key]
        resources[change.address] = LiveResource(
            change.address, fields, handle={"id": 1}, sensitive_set=frozenset(secrets_set)
        )
    return (
        dataclasses.replace(live, resources=resources),
        Inventory(created=frozenset(created), fingerprints=prints),
    )


@pytest.mark.parametrize("case", _load_cases())
def test_plan_case(case: dict[str, Any]) -> None:
    live, inventory = _live(case), _inventory(case)
    plan = _plan(case, live, inventory)

    expected = case.get("expect") or []
    assert [str(c.address) for c in plan.changes] == [e["address"] for e in expected]
    for change, wanted in zip(plan.changes, expected, strict=True):
        _check_change(change, wanted)
    expected_warnings = case.get("warnings", [])
    assert len(plan.warnings) == len(expected_warnings), plan.warnings
    for warning, text in zip(plan.warnings, expected_warnings, strict=True):
        assert text in warning

    fingerprints = case.get("desired_fingerprints") or {}
    live2, inventory2 = _simulate(plan, live, inventory, fingerprints)
    second = _plan(case, live2, inventory2)
    assert second.changes == (), f"not idempotent: {second.changes}"


def test_every_kind_and_action_is_covered_by_a_case() -> None:
    seen: set[tuple[str, str]] = set()
    for param in _load_cases():
        for change in param.values[0].get("expect") or []:
            seen.add((change["address"].split(":")[0], change["action"]))
    kinds = {kind for kind, _ in seen}
    assert kinds == {k.value for k in Kind} - {"bitbucket_oauth_consumer"}
    assert {action for _, action in seen} == {"create", "update", "delete", "replace"}


def _simple_case() -> dict[str, Any]:
    return {
        "desired": {
            "drone_user:alice": {"fields": {"admin": True}, "source": "d.yaml:1"},
            "bitbucket_permission:acme/api/group:dev": {
                "fields": {"permission": "write"},
                "source": "d.yaml:2, role developers",
            },
        },
        "live": {"bitbucket_permission:acme/api/group:dev": {"fields": {"permission": "read"}}},
    }


def test_plan_is_deterministic_and_carries_revision_and_live_fingerprint() -> None:
    case = _simple_case()
    first = _plan(case, _live(case), _inventory(case))
    second = _plan(case, _live(case), _inventory(case))
    assert first == second
    assert first.revision == "abc123"
    assert first.live_fingerprint == live_fingerprint(_live(case))
    assert first.live_fingerprint.startswith("sha256:")


def test_live_fingerprint_moves_with_fields_handles_secrets_and_hooks() -> None:
    case = _simple_case()
    base = _live(case)
    address = Address.parse("bitbucket_permission:acme/api/group:dev")
    resource = base.resources[address]
    variants = [
        dataclasses.replace(resource, fields={"permission": "admin"}),
        dataclasses.replace(resource, handle={"id": 9}),
        dataclasses.replace(resource, sensitive_set=frozenset({"secret"})),
    ]
    prints = {live_fingerprint(base)}
    for variant in variants:
        prints.add(live_fingerprint(dataclasses.replace(base, resources={address: variant})))
    hook = DroneHook("acme/api", "{h}", "https://drone/hook?secret=***", ("repo:push",), True)
    prints.add(live_fingerprint(dataclasses.replace(base, drone_hooks={"acme/api": (hook,)})))
    assert len(prints) == 5
    # api call counts are timing data, not state
    assert live_fingerprint(dataclasses.replace(base, api_calls={"drone": 3})) == live_fingerprint(
        base
    )


def test_extend_plan_keeps_changes_sorted() -> None:
    case = _simple_case()
    plan = _plan(case, _live(case), _inventory(case))
    repair = Change(Address.parse("drone_repo:acme/api"), Action.REPAIR, reason="hook missing")
    extended = extend_plan(plan, changes=(repair,), warnings=("w",))
    assert [c.address.kind for c in extended.changes] == [
        Kind.BITBUCKET_PERMISSION,
        Kind.DRONE_REPO,
        Kind.DRONE_USER,
    ]
    assert extended.warnings == ("w",)
