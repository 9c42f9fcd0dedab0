"""The only mutator: executes a plan's changes in dependency order, one result per change.

A Drone repository is activated before its secrets and cron jobs are written; every create or
update comes before any delete, so a replacement hook exists before the old one goes. Apply stops
at the first failure and reports what was done, what failed and what was not attempted; because
each step is recorded in the store as it succeeds, a re-run converges without duplicates.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from reconciler.errors import ReconcilerError
from reconciler.models.address import Address, Kind
from reconciler.models.resources import DesiredResource, fingerprint_key
from reconciler.plan import Action, Change, Plan
from reconciler.providers.bitbucket import write as bitbucket_write
from reconciler.providers.bitbucket.client import BitbucketClient
from reconciler.providers.drone import write as drone_write
from reconciler.providers.drone.client import DroneClient
from reconciler.secrets import FingerprintFn, SecretResolver

# Creates and updates run in this order; deletes run in the reverse order, after them.
_KIND_ORDER = (
    Kind.DRONE_USER,
    Kind.DRONE_REPO,
    Kind.DRONE_ORG_SECRET,
    Kind.DRONE_SECRET,
    Kind.DRONE_CRON,
    Kind.BITBUCKET_PERMISSION,
    Kind.BITBUCKET_WEBHOOK,
    Kind.BITBUCKET_OAUTH_CONSUMER,
)
_PHASE = {
    Action.CREATE: 0,
    Action.UPDATE: 0,
    Action.REPLACE: 0,
    Action.REPAIR: 1,  # after activation: repair rebuilds the hook of an active repository
    Action.DELETE: 2,
    Action.MANUAL: 3,
}

Execute = Callable[[Change, Mapping[str, str]], None]


class Outcome(StrEnum):
    APPLIED = "applied"
    FAILED = "failed"
    NOT_ATTEMPTED = "not attempted"
    MANUAL = "manual"  # no API: left for a human, as the plan says


@dataclass(frozen=True)
class ChangeResult:
    address: Address
    action: Action
    outcome: Outcome
    message: str = ""


@dataclass(frozen=True)
class ApplyReport:
    results: tuple[ChangeResult, ...]

    @property
    def ok(self) -> bool:
        return all(r.outcome in (Outcome.APPLIED, Outcome.MANUAL) for r in self.results)

    def count(self, outcome: Outcome) -> int:
        return sum(1 for r in self.results if r.outcome is outcome)

    def summary(self) -> str:
        parts = [f"{self.count(Outcome.APPLIED)} applied"]
        for outcome in (Outcome.FAILED, Outcome.NOT_ATTEMPTED, Outcome.MANUAL):
            if self.count(outcome):
                parts.append(f"{self.count(outcome)} {outcome.value}")
        return "Apply " + ("complete" if self.ok else "stopped") + ": " + ", ".join(parts) + "."


class Recorder(Protocol):
    """What apply writes to the store as each change succeeds (Store implements it)."""

    def record_created(self, address: Address) -> None: ...

    def forget(self, address: Address) -> None: ...

    def record_fingerprint(self, key: str, fingerprint: str) -> None: ...

    def record_result(
        self, run_id: int, *, address: str, action: str, status: str, message: str
    ) -> None: ...


def execution_order(changes: tuple[Change, ...]) -> list[Change]:
    """Dependency order: creates and updates by kind, then repairs, then deletes (reversed)."""

    def key(change: Change) -> tuple[int, int, Address]:
        rank = _KIND_ORDER.index(change.address.kind)
        phase = _PHASE[change.action]
        return (phase, -rank if phase == 2 else rank, change.address)

    return sorted(changes, key=key)


def apply_changes(
    plan: Plan,
    *,
    desired: Mapping[Address, DesiredResource],
    execute: Execute,
    resolver: SecretResolver,
    fingerprint: FingerprintFn,
    store: Recorder,
    run_id: int,
    on_result: Callable[[ChangeResult], None] | None = None,
) -> ApplyReport:
    results: list[ChangeResult] = []
    failed = False
    for change in execution_order(plan.changes):
        if change.action is Action.MANUAL:
            result = ChangeResult(change.address, change.action, Outcome.MANUAL, change.reason)
        elif failed:
            result = ChangeResult(change.address, change.action, Outcome.NOT_ATTEMPTED)
        else:
            result = _apply_one(
                change,
                desired=desired,
                execute=execute,
                resolver=resolver,
                fingerprint=fingerprint,
                store=store,
            )
            failed = result.outcome is Outcome.FAILED
        store.record_result(
            run_id,
            address=str(result.address),
            action=result.action.value,
            status=result.outcome.value,
            message=result.message,
        )
        results.append(result)
        if on_result is not None:
            on_result(result)
    return ApplyReport(tuple(results))


def _apply_one(
    change: Change,
    *,
    desired: Mapping[Address, DesiredResource],
    execute: Execute,
    resolver: SecretResolver,
    fingerprint: FingerprintFn,
    store: Recorder,
) -> ChangeResult:
    resource = desired.get(change.address)
    try:
        values = _values(change, resource, resolver)
        execute(change, values)
    except ReconcilerError as exc:
        return ChangeResult(change.address, change.action, Outcome.FAILED, str(exc))
    if change.action in (Action.CREATE, Action.REPLACE):
        store.record_created(change.address)
    elif change.action is Action.DELETE and change.address.kind is not Kind.DRONE_REPO:
        store.forget(change.address)
    if resource is not None:
        for name in change.sensitive:
            ref = resource.sensitive[name]
            key = fingerprint_key(change.address, name)
            store.record_fingerprint(key, fingerprint(values[name], ref.version))
    return ChangeResult(change.address, change.action, Outcome.APPLIED)


def _values(
    change: Change, resource: DesiredResource | None, resolver: SecretResolver
) -> dict[str, str]:
    if not change.sensitive:
        return {}
    if resource is None:
        raise ReconcilerError(
            f"{change.address}: the plan writes {', '.join(change.sensitive)} but desired state "
            "no longer declares it; plan again"
        )
    values = resolver.values_for(resource)
    return {name: values[name] for name in change.sensitive}


def executor(bitbucket: BitbucketClient, drone: DroneClient) -> Execute:
    """Route each change to the provider that owns its kind."""

    def execute(change: Change, values: Mapping[str, str]) -> None:
        if change.address.kind.value.startswith("bitbucket_"):
            bitbucket_write.execute(bitbucket, change, values)
        else:
            drone_write.execute(drone, change, values)

    return execute
