"""The plan is a value: frozen changes sorted by address, built purely from desired, live and the
store's inventory. Same inputs, byte-identical plan.

How Drone's and Bitbucket's limits shape the plan (DESIGN section 4, Drone API 3.1.2-3.6):

* `drone_repo` activation is `create` (POST, then PATCH of the other changed settings) and
  deactivation is `delete` (DELETE, then PATCH of the other changed settings; Drone keeps the row,
  its secrets, cron jobs and settings). This matches what apply calls, and it puts disabling CI
  under the same safety gates as any deletion (max deletions, protected resources).
* A cron job's `expr` and a user's `machine` flag cannot be changed in place: `replace`.
* Write-only values are compared by keyed fingerprint. A value that exists live but was never
  written by this tool (no stored fingerprint) is sent once, so that the declared value is known
  to be the live one; after that only a changed fingerprint (value or `version`) re-sends it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from reconciler.models.address import Address, Kind
from reconciler.models.live import LiveState
from reconciler.models.resources import (
    DesiredResource,
    DesiredState,
    Inventory,
    LiveResource,
    PolicySettings,
    Prune,
    Source,
    Value,
    fingerprint_key,
)


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    REPLACE = "replace"  # delete then create: the API cannot update in place
    REPAIR = "repair"  # Drone rebuilds its own Bitbucket hook
    MANUAL = "manual"  # no API exists; `reason` says what a human must do


@dataclass(frozen=True)
class FieldChange:
    field: str
    before: Value
    after: Value
    sensitive: bool = False  # value masked in every rendering: "(sensitive value changed)"


@dataclass(frozen=True)
class Change:
    address: Address
    action: Action
    fields: tuple[FieldChange, ...] = ()
    before: Mapping[str, Value] | None = None  # live essence (None for create)
    # desired essence; None for delete, except a drone_repo disable (its row and settings stay)
    after: Mapping[str, Value] | None = None
    handle: Mapping[str, str | int] = field(default_factory=dict)  # server ids needed to execute
    sensitive: tuple[str, ...] = ()  # write-only fields whose value must be sent
    reason: str = ""
    source: Source | None = None


class CheckStatus(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"
    SKIP = "skip"


@dataclass(frozen=True)
class CheckResult:
    name: str  # e.g. "drone-hook", "oauth-consumer", "drone-owner", "ignored-settings"
    status: CheckStatus
    addresses: tuple[Address, ...]
    message: str
    remedy: str = ""


@dataclass(frozen=True)
class Plan:
    changes: tuple[Change, ...]
    checks: tuple[CheckResult, ...] = ()
    warnings: tuple[str, ...] = ()
    revision: str | None = None
    live_fingerprint: str = ""
    api_calls: Mapping[str, int] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.changes


def normalise(value: Value) -> Value:
    """Canonical form for comparison and display. Every tuple-valued field in the model is a set
    (webhook events, OAuth scopes), so order and repetition carry no meaning."""
    if isinstance(value, tuple | list):
        return tuple(sorted(set(value)))
    return value


# ---------------------------------------------------------------------------------------------
# build_plan

_PRUNE: Mapping[Kind, Callable[[PolicySettings], Prune]] = {
    Kind.BITBUCKET_PERMISSION: lambda p: p.prune_permissions,
    Kind.BITBUCKET_WEBHOOK: lambda p: p.prune_webhooks,
    Kind.DRONE_SECRET: lambda p: p.prune_secrets,
    Kind.DRONE_ORG_SECRET: lambda p: p.prune_secrets,
    Kind.DRONE_CRON: lambda p: p.prune_cron,
    Kind.DRONE_USER: lambda p: p.prune_users,
}
_PRUNE_NAME = {
    Kind.BITBUCKET_PERMISSION: "permissions",
    Kind.BITBUCKET_WEBHOOK: "webhooks",
    Kind.DRONE_SECRET: "secrets",
    Kind.DRONE_ORG_SECRET: "secrets",
    Kind.DRONE_CRON: "cron",
    Kind.DRONE_USER: "users",
}
# PATCH keys Drone silently drops unless the caller is a Drone system admin (API 3.1.2).
_ADMIN_ONLY = ("throttle", "timeout", "trusted")
# Fields Drone cannot change in place: a difference means delete and re-create.
_IMMUTABLE = {Kind.DRONE_CRON: "expr", Kind.DRONE_USER: "machine"}
_IMMUTABLE_WHY = {
    Kind.DRONE_CRON: "Drone cannot change a cron job's expr in place: delete and re-create",
    Kind.DRONE_USER: "Drone fixes a user's machine flag at creation: delete and re-create "
    "(new id, new token)",
}
# Kinds whose live record says whether a write-only value is set (Bitbucket's `secret_set`).
_REPORTS_SECRET_SET = frozenset({Kind.BITBUCKET_WEBHOOK})
_DRONE_REPO_KINDS = frozenset({Kind.DRONE_REPO, Kind.DRONE_SECRET, Kind.DRONE_CRON})


@dataclass
class _Notes:
    """What build_plan learns besides changes; turned into plan warnings at the end."""

    warnings: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # "drone_repo:acme/api (timeout)"
    unsynced: list[str] = field(default_factory=list)  # repo ids Drone does not know


def build_plan(
    desired: DesiredState,
    live: LiveState,
    inventory: Inventory,
    *,
    desired_fingerprints: Mapping[str, str],
    drone_admin: bool,
    targets: tuple[str, ...] = (),
) -> Plan:
    """The minimal changes that make live match desired, sorted by address.

    Pure and deterministic: the same inputs give an equal plan. OAuth consumers are verify-only
    and left to the checks engine. `targets` narrows the changes (not the warnings).
    """
    notes = _Notes()
    changes: list[Change] = []
    for address in sorted(desired.resources):
        if address.kind is Kind.BITBUCKET_OAUTH_CONSUMER:
            continue
        if _unsynced(address, live):
            _note_unsynced(address, notes)
            continue
        resource = desired.resources[address]
        current = live.resources.get(address)
        change = _plan_declared(
            resource,
            current,
            inventory,
            fingerprints=desired_fingerprints,
            drone_admin=drone_admin,
            notes=notes,
        )
        if change is not None:
            changes.append(change)
    for address in sorted(set(live.resources) - set(desired.resources)):
        pruned = _plan_prune(live.resources[address], desired, inventory)
        if pruned is not None:
            changes.append(pruned)
    if targets:
        changes = [c for c in changes if any(c.address.matches(t) for t in targets)]
    return Plan(
        changes=tuple(sorted(changes, key=lambda c: c.address)),
        warnings=tuple(_warnings(notes)),
        revision=desired.revision,
        live_fingerprint=live_fingerprint(live),
        api_calls=dict(sorted(live.api_calls.items())),
    )


def _unsynced(address: Address, live: LiveState) -> bool:
    """A Drone-side resource of a repository Drone has never synced: nothing can be written
    until a user with access logs in to Drone (activation of an unknown repo is a 404)."""
    if address.kind not in _DRONE_REPO_KINDS or address.repo is None:
        return False
    repo_address = Address(Kind.DRONE_REPO, address.repo)
    if repo_address in live.resources:
        return False
    return address.repo in live.missing_repos or address.kind is Kind.DRONE_REPO


def _note_unsynced(address: Address, notes: _Notes) -> None:
    if address.repo is not None and address.repo not in notes.unsynced:
        notes.unsynced.append(address.repo)


def _warnings(notes: _Notes) -> list[str]:
    out = list(notes.warnings)
    for repo in notes.unsynced:
        out.append(
            f"drone_repo:{repo}: Drone does not know {repo}, so its Drone settings, secrets and "
            "cron jobs are not planned. Log in to Drone as a user with access to the repository "
            "(or sync the repository list), then plan again."
        )
    if notes.ignored:
        out.append(
            "Drone ignores timeout, trusted and throttle unless the token belongs to a Drone "
            "system admin, so these are not planned: " + ", ".join(notes.ignored) + ". "
            "Use a Drone system-admin token (DRONE_TOKEN) to manage them."
        )
    return out


def _plan_declared(
    resource: DesiredResource,
    current: LiveResource | None,
    inventory: Inventory,
    *,
    fingerprints: Mapping[str, str],
    drone_admin: bool,
    notes: _Notes,
) -> Change | None:
    desired_fields = dict(resource.fields)
    if resource.address.kind is Kind.DRONE_REPO and not drone_admin:
        desired_fields = _without_admin_only(resource.address, desired_fields, current, notes)
    if current is None:
        return _create(resource, desired_fields, inventory)
    from reconciler.diff import diff_fields  # imported here: diff builds this module's types

    changed = diff_fields(desired_fields, current.fields)
    if resource.address.kind is Kind.DRONE_REPO:
        return _drone_repo_change(resource, desired_fields, current, changed)
    secrets, why = _sensitive_changes(resource, current, inventory, fingerprints, notes)
    immutable = _IMMUTABLE.get(resource.address.kind)
    if immutable is not None and any(c.field == immutable for c in changed):
        return _replace(resource, desired_fields, current, changed)
    if not changed and not secrets:
        return None
    return Change(
        address=resource.address,
        action=Action.UPDATE,
        fields=_by_field(changed + secrets),
        before=_essence(current.fields),
        after=_essence(desired_fields),
        handle=dict(current.handle),
        sensitive=tuple(c.field for c in secrets),
        reason="; ".join(why),
        source=resource.source,
    )


def _without_admin_only(
    address: Address,
    fields: dict[str, Value],
    current: LiveResource | None,
    notes: _Notes,
) -> dict[str, Value]:
    """Drop the settings a non-admin token cannot change; note those that differ from live."""
    live_fields = current.fields if current is not None else {}
    differing = [
        name for name in _ADMIN_ONLY if name in fields and fields[name] != live_fields.get(name)
    ]
    if differing:
        notes.ignored.append(f"{address} ({', '.join(differing)})")
    return {name: value for name, value in fields.items() if name not in _ADMIN_ONLY}


def _sensitive_changes(
    resource: DesiredResource,
    current: LiveResource,
    inventory: Inventory,
    fingerprints: Mapping[str, str],
    notes: _Notes,
) -> tuple[tuple[FieldChange, ...], list[str]]:
    """Write-only fields to re-send, with a reason each. See the module docstring for the
    never-fingerprinted rule."""
    out: list[FieldChange] = []
    why: list[str] = []
    for name in sorted(resource.sensitive):
        key = fingerprint_key(resource.address, name)
        wanted = fingerprints.get(key)
        stored = inventory.fingerprints.get(key)
        if resource.address.kind in _REPORTS_SECRET_SET and name not in current.sensitive_set:
            reason = f"{name}: not set live"
        elif wanted is None:
            notes.warnings.append(
                f"{resource.address}: the value of {name} could not be fingerprinted, "
                "so it is not compared"
            )
            continue
        elif stored is None:
            reason = f"{name}: never written by reconciler (sent once to take ownership)"
        elif stored != wanted:
            reason = f"{name}: sensitive value changed"
        else:
            continue
        out.append(_masked(name))
        why.append(reason)
    return tuple(out), why


def _create(resource: DesiredResource, fields: Mapping[str, Value], inventory: Inventory) -> Change:
    changes = tuple(FieldChange(name, None, normalise(value)) for name, value in fields.items())
    secrets = tuple(_masked(name) for name in resource.sensitive)
    known = resource.address in inventory.created or any(
        fingerprint_key(resource.address, name) in inventory.fingerprints
        for name in resource.sensitive
    )
    return Change(
        address=resource.address,
        action=Action.CREATE,
        fields=_by_field(changes + secrets),
        after=_essence(fields),
        sensitive=tuple(sorted(resource.sensitive)),
        reason="vanished live: re-created" if known else "",
        source=resource.source,
    )


def _replace(
    resource: DesiredResource,
    fields: Mapping[str, Value],
    current: LiveResource,
    changed: tuple[FieldChange, ...],
) -> Change:
    secrets = tuple(_masked(name) for name in resource.sensitive)
    return Change(
        address=resource.address,
        action=Action.REPLACE,
        fields=_by_field(changed + secrets),
        before=_essence(current.fields),
        after=_essence(fields),
        handle=dict(current.handle),
        sensitive=tuple(sorted(resource.sensitive)),
        reason=_IMMUTABLE_WHY[resource.address.kind],
        source=resource.source,
    )


def _drone_repo_change(
    resource: DesiredResource,
    fields: Mapping[str, Value],
    current: LiveResource,
    changed: tuple[FieldChange, ...],
) -> Change | None:
    """Activation is `create`, deactivation `delete` (module docstring); other settings ride
    along as field changes, so apply sends POST/DELETE and then one PATCH."""
    if not changed:
        return None
    active = next((c for c in changed if c.field == "active"), None)
    if active is not None and active.after is True:
        action, reason = Action.CREATE, "activate in Drone; Drone creates its hook on Bitbucket"
    elif active is not None and active.after is False:
        action = Action.DELETE
        reason = "disable in Drone: builds stop; secrets, cron jobs and settings are kept"
    else:
        action, reason = Action.UPDATE, ""
    return Change(
        address=resource.address,
        action=action,
        fields=changed,
        before=_essence(current.fields),
        after=_essence(fields),
        handle=dict(current.handle),
        reason=reason,
        source=resource.source,
    )


def _plan_prune(
    current: LiveResource, desired: DesiredState, inventory: Inventory
) -> Change | None:
    """A live object nobody declared is deleted only inside a declared scope, and only as far
    as the kind's prune policy allows. drone_repo and OAuth consumers are never pruned."""
    kind = current.address.kind
    setting = _PRUNE.get(kind)
    if setting is None:
        return None
    if _container(current.address) not in desired.scopes.get(kind.value, frozenset()):
        return None
    prune = setting(desired.policy)
    created = current.address in inventory.created
    if prune is Prune.NONE or (prune is Prune.MANAGED and not created):
        return None
    why = f"not declared (policy.prune.{_PRUNE_NAME[kind]}: {prune.value})"
    return Change(
        address=current.address,
        action=Action.DELETE,
        before=_essence(current.fields),
        handle=dict(current.handle),
        reason=why + ("; created by reconciler" if created else ""),
    )


def _container(address: Address) -> str:
    if address.repo is not None:
        return address.repo
    if address.kind is Kind.DRONE_ORG_SECRET:
        return address.id.split("/", 1)[0]
    return "*"


def _masked(name: str) -> FieldChange:
    return FieldChange(field=name, before=None, after=None, sensitive=True)


def _by_field(changes: tuple[FieldChange, ...]) -> tuple[FieldChange, ...]:
    return tuple(sorted(changes, key=lambda c: c.field))


def _essence(fields: Mapping[str, Value]) -> dict[str, Value]:
    return {name: normalise(fields[name]) for name in sorted(fields)}


# ---------------------------------------------------------------------------------------------
# identity of live state and of plan documents


def live_fingerprint(live: LiveState) -> str:
    """A digest of everything a plan's changes were computed from, so apply can refuse a plan
    whose live state has moved. Timing data (api_calls) is deliberately excluded."""
    resources = [
        {
            "address": str(r.address),
            "fields": _jsonable(r.fields),
            "handle": dict(r.handle),
            "sensitive_set": sorted(r.sensitive_set),
        }
        for _, r in sorted(live.resources.items())
    ]
    hooks = {
        repo: sorted(
            (
                {"uuid": h.uuid, "url": h.url, "events": sorted(h.events), "active": h.active}
                for h in hooks
            ),
            key=lambda h: str(h["uuid"]),
        )
        for repo, hooks in live.drone_hooks.items()
    }
    return _digest({"resources": resources, "drone_hooks": hooks})


def plan_hash(doc: Mapping[str, Any]) -> str:
    """Identity of a plan document (the masked JSON), recorded in the audit log."""
    return _digest(doc)


def extend_plan(
    plan: Plan,
    *,
    changes: tuple[Change, ...] = (),
    checks: tuple[CheckResult, ...] = (),
    warnings: tuple[str, ...] = (),
) -> Plan:
    """Add what the checks engine found (repair/manual changes, check results), keeping the
    changes sorted by address."""
    return replace(
        plan,
        changes=tuple(sorted((*plan.changes, *changes), key=lambda c: c.address)),
        checks=(*plan.checks, *checks),
        warnings=(*plan.warnings, *warnings),
    )


def _jsonable(fields: Mapping[str, Value]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in sorted(fields.items())}


def _digest(doc: Any) -> str:
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()
