"""Live state as read from both APIs: records keyed by address, plus what the checks need."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from reconciler.models.address import Address
from reconciler.models.resources import LiveResource


@dataclass(frozen=True)
class ReadScope:
    """What to read: only what desired state names."""

    workspace: str
    repositories: tuple[str, ...]  # slugs, in `workspace`
    drone_server: str | None = None  # Drone's public address; hooks on its host are Drone's own
    permission_repos: tuple[str, ...] = ()  # slugs whose explicit grants are read
    drone_repos: tuple[str, ...] = ()  # slugs whose Drone repo, secrets and cron are read
    read_users: bool = False
    read_org_secrets: bool = False


@dataclass(frozen=True)
class DroneHook:
    """A Bitbucket hook pointing at the Drone server's host. `url` is already redacted."""

    repo: str  # workspace/slug
    uuid: str
    url: str
    events: tuple[str, ...]
    active: bool


@dataclass(frozen=True)
class Identity:
    """Who the credentials belong to (credential preflight)."""

    bitbucket_user: str | None = None
    bitbucket_scopes: tuple[str, ...] = ()
    # scopes the product needs that X-OAuth-Scopes did not list (empty when the header is absent)
    bitbucket_missing_scopes: tuple[str, ...] = ()
    drone_login: str | None = None
    drone_admin: bool = False


@dataclass(frozen=True)
class OAuthVerification:
    """Result of a client_credentials grant against an OAuth consumer."""

    exists: bool
    secret_valid: bool
    private: bool
    scopes: tuple[str, ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class LiveState:
    resources: Mapping[Address, LiveResource]
    drone_hooks: Mapping[str, tuple[DroneHook, ...]] = field(default_factory=dict)
    missing_repos: frozenset[str] = frozenset()  # declared but absent on Bitbucket or Drone
    identity: Identity = Identity()
    oauth: Mapping[str, OAuthVerification] = field(default_factory=dict)  # by consumer name
    api_calls: Mapping[str, int] = field(default_factory=dict)  # by service
    drone_user_ids: Mapping[str, int] = field(default_factory=dict)  # Drone login -> user id
    # effective permissions from the workspace-wide listing: repo id -> account uuid -> permission
    effective_permissions: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # Bitbucket nickname -> account uuid (Drone logins on Bitbucket Cloud are nicknames)
    bitbucket_accounts: Mapping[str, str] = field(default_factory=dict)
    unavailable: tuple[str, ...] = ()  # what could not be read and why (e.g. users need sysadmin)
