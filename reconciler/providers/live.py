"""Read live state from both services, economically: only what the scope names, concurrently.

Cost for N repositories in scope, P of them with managed permissions and D Drone-managed:

    Bitbucket = 1 (/user) + N (hook listings) + 2P (explicit group and user grants)
                + max(1, ceil(E / 100)) pages of the workspace's E effective permission entries
    Drone     = 1 (/api/user) + 1 (/api/user/repos, all repositories at once) + D secret listings
                + D cron listings + 1 (users, if read) + 1 (org secrets, if read)

Every listing asks for `pagelen=100` and trims the payload with `fields=`, so N, P and D only grow
past one request each for repositories with more than 100 hooks or grants. Secrets and cron are
read only for repositories Drone knows (the others are `missing_repos`, and would answer 404).
"""

from __future__ import annotations

import queue
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from reconciler.errors import ApiError, CredentialError
from reconciler.models.address import Address
from reconciler.models.live import DroneHook, LiveState, ReadScope
from reconciler.models.resources import LiveResource
from reconciler.providers import preflight
from reconciler.providers.bitbucket import read as bb
from reconciler.providers.bitbucket.client import BitbucketClient
from reconciler.providers.config import BitbucketSettings, DroneSettings
from reconciler.providers.drone import read as dr
from reconciler.providers.drone.client import DroneClient
from reconciler.providers.http import CallCounter, RetryPolicy

NOT_IMPLEMENTED = "not available on this Drone server (501: an oss build)"
NEEDS_SYSADMIN = "needs a Drone system-admin token (DRONE_TOKEN got {status})"


@dataclass
class _Part:
    """What one task learned; merged on the calling thread, so tasks share no mutable state."""

    resources: tuple[LiveResource, ...] = ()
    drone_hooks: Mapping[str, tuple[DroneHook, ...]] = field(default_factory=dict)
    missing: frozenset[str] = frozenset()
    unavailable: tuple[str, ...] = ()
    effective: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    accounts: Mapping[str, str] = field(default_factory=dict)
    user_ids: Mapping[str, int] = field(default_factory=dict)
    bitbucket_user: bb.BitbucketUser | None = None
    drone_user: dr.DroneUser | None = None
    drone_repos: dr.Repos | None = None  # arrival triggers the per-repository Drone reads


Task = Callable[[], _Part]


def clients_from_env(
    env: Mapping[str, str],
    *,
    concurrency: int = 8,
    policy: RetryPolicy | None = None,
    counter: CallCounter | None = None,
) -> tuple[BitbucketClient, DroneClient]:
    """Both clients sharing one counter, with connection pools sized for `read_live`."""
    counter = counter or CallCounter()
    bitbucket = BitbucketClient.from_settings(
        BitbucketSettings.from_env(env), policy=policy, counter=counter, pool_maxsize=concurrency
    )
    drone = DroneClient.from_settings(
        DroneSettings.from_env(env), policy=policy, counter=counter, pool_maxsize=concurrency
    )
    return bitbucket, drone


def _tolerate(task: Task, *, what: str, reasons: Mapping[int, str]) -> Task:
    """Turn the listed statuses into an `unavailable` note instead of an exception."""

    def run() -> _Part:
        try:
            return task()
        except ApiError as error:
            reason = reasons.get(error.status) if error.status is not None else None
            if reason is None:
                raise
            return _Part(unavailable=(f"{what}: {reason.format(status=error.status)}",))

    return run


def _missing_on_404(task: Task, repo: str) -> Task:
    """Bitbucket answers 404 for a missing repository and for one the token cannot see."""

    def run() -> _Part:
        try:
            return task()
        except ApiError as error:
            if error.status == 404:
                return _Part(missing=frozenset({repo}))
            raise

    return run


# -- tasks -------------------------------------------------------------------------------------


def _bitbucket_tasks(scope: ReadScope, client: BitbucketClient) -> list[Task]:
    ws = scope.workspace
    drone_host = bb.host_of(scope.drone_server)
    tasks: list[Task] = [lambda: _Part(bitbucket_user=preflight.check_bitbucket(client))]

    def hooks(slug: str) -> Task:
        def run() -> _Part:
            found = bb.read_hooks(client, ws, slug, drone_host=drone_host)
            repo = f"{ws}/{slug}"
            return _Part(found.resources, {repo: found.drone_hooks} if found.drone_hooks else {})

        return _missing_on_404(run, f"{ws}/{slug}")

    def grants(slug: str, reader: Callable[..., tuple[LiveResource, ...]]) -> Task:
        return _missing_on_404(lambda: _Part(reader(client, ws, slug)), f"{ws}/{slug}")

    def effective() -> _Part:
        repos = {f"{ws}/{slug}" for slug in scope.repositories}
        effective, accounts = bb.read_effective_permissions(client, ws, repos=repos)
        return _Part(effective=effective, accounts=accounts)

    tasks += [hooks(slug) for slug in scope.repositories]
    for slug in scope.permission_repos:
        tasks += [grants(slug, bb.read_group_permissions), grants(slug, bb.read_user_permissions)]
    if scope.repositories:
        tasks.append(
            _tolerate(
                effective,
                what="bitbucket effective permissions",
                reasons={403: "needs a workspace admin (403)"},
            )
        )
    return tasks


def _drone_tasks(scope: ReadScope, client: DroneClient) -> list[Task]:
    tasks: list[Task] = []
    if scope.drone_repos:
        wanted = {f"{scope.workspace}/{slug}" for slug in scope.drone_repos}
        tasks.append(lambda: _Part(drone_repos=dr.read_repos(client, wanted=wanted)))
    if scope.drone_repos or scope.read_users or scope.read_org_secrets:
        tasks.append(lambda: _Part(drone_user=preflight.check_drone(client)))
    sysadmin = {401: NEEDS_SYSADMIN, 403: NEEDS_SYSADMIN, 501: NOT_IMPLEMENTED}
    if scope.read_users:

        def users() -> _Part:
            found = dr.read_users(client)
            return _Part(found.resources, user_ids=found.ids)

        tasks.append(_tolerate(users, what="drone users", reasons=sysadmin))
    if scope.read_org_secrets:
        ns = scope.workspace
        org = _tolerate(
            lambda: _Part(dr.read_org_secrets(client, ns)),
            what="drone organization secrets",
            reasons=sysadmin,
        )
        tasks.append(org)
    return tasks


def _drone_repo_tasks(repos: dr.Repos, client: DroneClient) -> list[Task]:
    """Secrets and cron of the repositories Drone knows; an oss build answers 501 to both."""
    oss = {501: NOT_IMPLEMENTED}

    def secrets(ws: str, slug: str) -> Task:
        return _tolerate(
            lambda: _Part(dr.read_secrets(client, ws, slug)), what="drone secrets", reasons=oss
        )

    def crons(ws: str, slug: str) -> Task:
        return _tolerate(
            lambda: _Part(dr.read_crons(client, ws, slug)), what="drone cron", reasons=oss
        )

    tasks: list[Task] = []
    for repo in sorted(repos.found):
        ws, slug = repo.split("/", 1)
        tasks += [secrets(ws, slug), crons(ws, slug)]
    return tasks


# -- merging -----------------------------------------------------------------------------------


class _Builder:
    def __init__(self) -> None:
        self.resources: dict[Address, LiveResource] = {}
        self.drone_hooks: dict[str, tuple[DroneHook, ...]] = {}
        self.missing: set[str] = set()
        self.unavailable: set[str] = set()
        self.effective: dict[str, Mapping[str, str]] = {}
        self.accounts: dict[str, str] = {}
        self.user_ids: dict[str, int] = {}
        self.bitbucket_user: bb.BitbucketUser | None = None
        self.drone_user: dr.DroneUser | None = None

    def add(self, part: _Part) -> None:
        self.resources.update((r.address, r) for r in part.resources)
        self.drone_hooks.update(part.drone_hooks)
        self.missing |= part.missing
        self.unavailable.update(part.unavailable)
        self.effective.update(part.effective)
        self.accounts.update(part.accounts)
        self.user_ids.update(part.user_ids)
        self.bitbucket_user = part.bitbucket_user or self.bitbucket_user
        self.drone_user = part.drone_user or self.drone_user
        if part.drone_repos is not None:
            self.resources.update((r.address, r) for r in part.drone_repos.found.values())
            self.missing |= part.drone_repos.missing

    def build(self, api_calls: Mapping[str, int]) -> LiveState:
        return LiveState(
            resources=dict(sorted(self.resources.items())),
            drone_hooks=dict(sorted(self.drone_hooks.items())),
            missing_repos=frozenset(self.missing),
            identity=preflight.identity(self.bitbucket_user, self.drone_user),
            api_calls=api_calls,
            drone_user_ids=dict(sorted(self.user_ids.items())),
            effective_permissions=dict(sorted(self.effective.items())),
            bitbucket_accounts=dict(sorted(self.accounts.items())),
            unavailable=tuple(sorted(self.unavailable)),
        )


def _result(future: Future[_Part], bitbucket: BitbucketClient) -> _Part:
    """A 401 that reaches here (the tolerated ones were handled in their task) means the
    credential was rejected: say which variable to fix."""
    try:
        return future.result()
    except ApiError as error:
        if error.status != 401:
            raise
        variable = (
            bitbucket.settings.credential_variable
            if error.service == "bitbucket"
            else "DRONE_TOKEN"
        )
        raise CredentialError(f"{variable} was rejected (401): {error.message}") from None


def _calls(bitbucket: BitbucketClient, drone: DroneClient) -> dict[str, int]:
    return {
        "bitbucket": bitbucket.http.counter.calls.get("bitbucket", 0),
        "drone": drone.http.counter.calls.get("drone", 0),
    }


def read_live(
    *,
    scope: ReadScope,
    bitbucket: BitbucketClient,
    drone: DroneClient,
    concurrency: int = 8,
    on_progress: Callable[[int, int], None] | None = None,
) -> LiveState:
    """Everything the scope names, at most `concurrency` requests in flight.

    Finished tasks arrive on a queue (O(1) each; `concurrent.futures.wait` would rescan every
    pending future per completion, which is quadratic at thousands of repositories).
    `on_progress(done, total)` is called on this thread after each task (one listing each);
    `total` counts the per-repository Drone reads up front, and ones skipped because Drone
    lacks the repository count as done."""
    before = _calls(bitbucket, drone)
    tasks = _drone_tasks(scope, drone) + _bitbucket_tasks(scope, bitbucket)
    total, done = len(tasks) + 2 * len(scope.drone_repos), 0
    builder = _Builder()
    finished: queue.SimpleQueue[Future[_Part]] = queue.SimpleQueue()
    pool = ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="read-live")

    def submit(batch: list[Task]) -> int:
        for task in batch:
            pool.submit(task).add_done_callback(finished.put)
        return len(batch)

    try:
        outstanding = submit(tasks)
        while outstanding:
            part = _result(finished.get(), bitbucket)
            outstanding -= 1
            builder.add(part)
            done += 1
            if part.drone_repos is not None:
                more = _drone_repo_tasks(part.drone_repos, drone)
                outstanding += submit(more)
                done += 2 * len(scope.drone_repos) - len(more)
            if on_progress is not None:
                on_progress(done, total)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    after = _calls(bitbucket, drone)
    return builder.build({service: after[service] - before[service] for service in after})
