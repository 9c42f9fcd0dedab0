"""desired -> live -> plan: the read-only half of every command (plan, apply, comment, serve,
doctor, demo). It holds no policy of its own: the pure core decides, this module fetches."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from reconciler.checks import run_checks
from reconciler.models.address import Address, Kind
from reconciler.models.live import LiveState, OAuthVerification, ReadScope
from reconciler.models.resources import DesiredResource, DesiredState
from reconciler.plan import Plan, build_plan, extend_plan
from reconciler.providers.bitbucket.client import BitbucketClient
from reconciler.providers.bitbucket.read import verify_oauth_consumer
from reconciler.providers.drone.client import DroneClient
from reconciler.providers.http import CallCounter
from reconciler.providers.live import clients_from_env, read_live
from reconciler.secrets import SecretResolver, desired_fingerprints
from reconciler.store import Store

Progress = Callable[[int, int], None]


@dataclass
class Clients:
    bitbucket: BitbucketClient
    drone: DroneClient
    counter: CallCounter = field(default_factory=CallCounter)

    @classmethod
    def from_env(cls, env: Mapping[str, str], *, concurrency: int = 8) -> Clients:
        counter = CallCounter()
        bitbucket, drone = clients_from_env(env, concurrency=concurrency, counter=counter)
        return cls(bitbucket, drone, counter)

    def close(self) -> None:
        self.bitbucket.close()
        self.drone.close()


@dataclass(frozen=True)
class Planned:
    desired: DesiredState
    live: LiveState
    plan: Plan
    seconds: float
    protected: frozenset[Address] = frozenset()  # policy refuses deleting these (checks)


def read_scope(desired: DesiredState) -> ReadScope:
    """Read only what desired state names."""

    def slugs(kind: Kind) -> tuple[str, ...]:
        found = desired.scopes.get(kind.value, frozenset())
        return tuple(sorted(repo.split("/", 1)[1] for repo in found))

    return ReadScope(
        workspace=desired.workspace,
        repositories=desired.repositories,
        drone_server=desired.drone_server,
        permission_repos=slugs(Kind.BITBUCKET_PERMISSION),
        drone_repos=slugs(Kind.DRONE_REPO),
        read_users="*" in desired.scopes.get(Kind.DRONE_USER.value, frozenset()),
        read_org_secrets=desired.workspace
        in desired.scopes.get(Kind.DRONE_ORG_SECRET.value, frozenset()),
    )


def writable(desired: DesiredState) -> dict[object, DesiredResource]:
    """Resources whose write-only values we write (OAuth consumers are only verified)."""
    return {
        address: resource
        for address, resource in desired.resources.items()
        if address.kind is not Kind.BITBUCKET_OAUTH_CONSUMER
    }


def verify_consumers(
    desired: DesiredState, *, bitbucket: BitbucketClient, resolver: SecretResolver
) -> dict[str, OAuthVerification]:
    """A client_credentials grant per declared consumer (Bitbucket has no consumer API)."""
    found: dict[str, OAuthVerification] = {}
    for address, resource in desired.resources.items():
        if address.kind is not Kind.BITBUCKET_OAUTH_CONSUMER:
            continue
        values = resolver.values_for(resource)
        name = address.id.rsplit("/", 1)[-1]
        found[name] = verify_oauth_consumer(
            bitbucket, client_id=values["client_id"], client_secret=values["client_secret"]
        )
    return found


def make_plan(
    desired: DesiredState,
    *,
    clients: Clients,
    store: Store,
    resolver: SecretResolver,
    targets: tuple[str, ...] = (),
    concurrency: int = 8,
    on_progress: Progress | None = None,
) -> Planned:
    started = time.monotonic()
    fingerprints = desired_fingerprints(writable(desired), resolver, store.fingerprint)
    live = read_live(
        scope=read_scope(desired),
        bitbucket=clients.bitbucket,
        drone=clients.drone,
        concurrency=concurrency,
        on_progress=on_progress,
    )
    oauth = verify_consumers(desired, bitbucket=clients.bitbucket, resolver=resolver)
    live = _with_oauth(live, oauth)
    plan = build_plan(
        desired,
        live,
        store.inventory(),
        desired_fingerprints=fingerprints,
        drone_admin=live.identity.drone_admin,
        targets=targets,
    )
    outcome = run_checks(desired, live, accounts=live.bitbucket_accounts)
    wanted = tuple(
        change
        for change in outcome.changes
        if not targets or any(change.address.matches(t) for t in targets)
    )
    plan = extend_plan(plan, changes=wanted, checks=outcome.checks)
    return Planned(desired, live, plan, time.monotonic() - started, outcome.protected)


def _with_oauth(live: LiveState, oauth: dict[str, OAuthVerification]) -> LiveState:
    from dataclasses import replace

    calls = dict(live.api_calls)
    calls["bitbucket"] = calls.get("bitbucket", 0) + len(oauth)
    return replace(live, oauth=oauth, api_calls=calls)
