"""Normalised resources: what desired state asks for and what live state holds, in one shape.

Both sides describe a resource as an address plus `fields`, a flat mapping of the managed fields
in canonical form (event lists as sorted tuples, Drone's omitted booleans as False). Server handles
(hook UUIDs, numeric ids) live in `handle`, never inside `fields`, so they are never compared.
Write-only values (Drone secret values, webhook secrets, OAuth client credentials) never appear in
`fields`: desired state carries a `SecretRef` for them, live state only knows whether one is set.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from reconciler.models.address import Address

Value = str | int | bool | tuple[str, ...] | None


@dataclass(frozen=True)
class Source:
    """Where a desired resource came from: the declaring file and line, and the default or role
    it came through (`defaults`, `role developers`)."""

    file: str
    line: int
    via: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}"
        return f"{where}, {self.via}" if self.via else where


@dataclass(frozen=True)
class SecretRef:
    """A reference to a secret value: `{env: NAME}` or `{file: PATH}`, with an optional `version`
    that is bumped to force a rotation. The value itself is resolved lazily, outside the core."""

    env: str | None = None
    file: str | None = None
    version: int | None = None

    def describe(self) -> str:
        where = f"env {self.env}" if self.env else f"file {self.file}"
        return f"{where} (version {self.version})" if self.version is not None else where


@dataclass(frozen=True)
class DesiredResource:
    address: Address
    fields: Mapping[str, Value]
    source: Source
    sensitive: Mapping[str, SecretRef] = field(default_factory=dict)


class Prune(StrEnum):
    ALL = "all"  # the declared set is authoritative: undeclared live objects are deleted
    MANAGED = "managed"  # delete only what this tool created (the store's inventory)
    NONE = "none"  # never delete


class Drift(StrEnum):
    REPORT = "report"
    HEAL = "heal"


@dataclass(frozen=True)
class PolicySettings:
    max_deletions: int = 10
    prune_permissions: Prune = Prune.ALL
    prune_webhooks: Prune = Prune.MANAGED
    prune_secrets: Prune = Prune.MANAGED
    prune_cron: Prune = Prune.MANAGED
    prune_users: Prune = Prune.NONE
    drift: Drift = Drift.REPORT


@dataclass(frozen=True)
class DesiredState:
    """The whole normalised desired state, with `defaults` and `roles` already expanded.

    `scopes` says, per kind, which containers the declared set is authoritative for: a live
    resource of that kind inside one of them that is not declared is a pruning candidate.
    Containers are repository ids (`acme/api`) for repository-scoped kinds, the workspace for
    org secrets, and `*` for Drone users.
    """

    workspace: str
    resources: Mapping[Address, DesiredResource]
    repositories: tuple[str, ...]
    policy: PolicySettings = PolicySettings()
    drone_server: str | None = None
    drone_owner: str | None = None
    scopes: Mapping[str, frozenset[str]] = field(default_factory=dict)
    revision: str | None = None


@dataclass(frozen=True)
class LiveResource:
    address: Address
    fields: Mapping[str, Value]
    handle: Mapping[str, str | int] = field(default_factory=dict)
    sensitive_set: frozenset[str] = frozenset()


def fingerprint_key(address: Address, field_name: str) -> str:
    """The key under which a write-only field's fingerprint is stored: `kind:id#field`."""
    return f"{address}#{field_name}"


@dataclass(frozen=True)
class Inventory:
    """What the store remembers: objects this tool created, and keyed fingerprints (HMAC-SHA256,
    version included) of the write-only values it last wrote, by `fingerprint_key`."""

    created: frozenset[Address] = frozenset()
    fingerprints: Mapping[str, str] = field(default_factory=dict)
