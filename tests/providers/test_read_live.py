"""read_live over real HTTP: content, exact cost from the request log, pagination, concurrency."""

from __future__ import annotations

import math
import time
from collections import Counter
from typing import Any

from reconciler.models.address import Address, Kind
from reconciler.providers.http import CallCounter
from reconciler.providers.live import read_live
from tests.providers.conftest import (
    ALICE,
    BOB,
    DRONE_USER_TOKEN,
    ME,
    WS,
    Box,
    full_scope,
    standard_seed,
)


def by_system(log: list[dict[str, Any]]) -> Counter[str]:
    return Counter(entry["system"] for entry in log)


def test_reads_every_kind_in_scope(box: Box) -> None:
    bitbucket, drone = box.clients()
    live = read_live(scope=full_scope(standard_seed()), bitbucket=bitbucket, drone=drone)
    res = live.resources

    hook = res[Address(Kind.BITBUCKET_WEBHOOK, f"{WS}/repo00/notify")]
    assert hook.fields == {
        "url": "https://hooks.acme.example/repo00/0",
        "events": ("pullrequest:fulfilled", "repo:push"),
        "active": True,
    }
    assert hook.sensitive_set == {"secret"}
    assert str(hook.handle["uuid"]).startswith("{")
    group = res[Address(Kind.BITBUCKET_PERMISSION, f"{WS}/repo01/group:developers")]
    assert group.fields == {"permission": "write"}
    user = res[Address(Kind.BITBUCKET_PERMISSION, f"{WS}/repo01/user:{ALICE}")]
    assert user.handle == {"principal_type": "user", "principal": ALICE}

    repo = res[Address(Kind.DRONE_REPO, f"{WS}/repo02")]
    assert repo.fields["active"] is True and repo.fields["throttle"] == 0
    secret = res[Address(Kind.DRONE_SECRET, f"{WS}/repo02/aws_key")]
    assert secret.fields == {"pull_request": True, "pull_request_push": False}
    assert secret.sensitive_set == {"value"}
    cron = res[Address(Kind.DRONE_CRON, f"{WS}/repo02/nightly")]
    assert cron.fields == {"expr": "0 0 2 * * *", "branch": "main", "disabled": False}
    assert res[Address(Kind.DRONE_ORG_SECRET, f"{WS}/docker_password")].sensitive_set == {"value"}
    assert res[Address(Kind.DRONE_USER, "ci-machine")].fields["machine"] is True
    assert set(live.drone_user_ids) == {"drone-bot", "alice", "ci-machine"}

    # Drone's own hooks are kept apart, redacted, and never resources
    (drone_hook,) = live.drone_hooks[f"{WS}/repo00"]
    assert drone_hook.url == "https://drone.acme.example/hook?secret=***"
    assert not any(a.id.endswith("/drone") for a in res if a.kind is Kind.BITBUCKET_WEBHOOK)
    assert "signer-canary" not in repr(live)

    assert live.effective_permissions[f"{WS}/repo00"][ME] == "admin"
    assert live.effective_permissions[f"{WS}/repo00"][BOB] == "write"
    assert live.identity.bitbucket_user == "reconciler"
    assert live.identity.drone_login == "drone-bot" and live.identity.drone_admin
    assert live.missing_repos == frozenset() and live.unavailable == ()


def test_read_cost_is_exactly_the_formula(box: Box) -> None:
    seed = standard_seed(repos=5)
    box.load(seed)
    counter = CallCounter()
    bitbucket, drone = box.clients(counter=counter)
    scope = full_scope(seed, permission_repos=("repo00", "repo01"), drone_repos=("repo03",))
    live = read_live(scope=scope, bitbucket=bitbucket, drone=drone)

    n, p, d = len(scope.repositories), len(scope.permission_repos), len(scope.drone_repos)
    effective_entries = sum(len(v) for v in live.effective_permissions.values())
    expected_bitbucket = 1 + n + 2 * p + max(1, math.ceil(effective_entries / 100))
    expected_drone = 1 + 1 + d + d + 1 + 1
    log = box.requests_log()
    assert by_system(log) == {"bitbucket": expected_bitbucket, "drone": expected_drone}
    assert live.api_calls == {"bitbucket": expected_bitbucket, "drone": expected_drone}
    assert all(entry["method"] == "GET" for entry in log)
    listings = [e for e in log if e["system"] == "bitbucket" and e["path"].endswith("/hooks")]
    assert all("pagelen=100" in str(e.get("query")) for e in listings)
    assert all("fields=" in str(e.get("query")) for e in listings)


def test_pagination_follows_next(box: Box) -> None:
    seed = standard_seed(repos=1, hooks_per_repo=230)
    extra = {f"repo{i:03d}": {} for i in range(1, 120)}  # many repos -> > 100 effective entries
    seed["bitbucket"]["workspaces"][WS]["repositories"].update(extra)
    box.load(seed)
    bitbucket, drone = box.clients()
    scope = full_scope(seed, repositories=("repo00",), permission_repos=(), drone_repos=())
    live = read_live(scope=scope, bitbucket=bitbucket, drone=drone)
    hooks = [a for a in live.resources if a.kind is Kind.BITBUCKET_WEBHOOK]
    assert len(hooks) == 230
    log = box.requests_log()
    hook_pages = [e for e in log if e["path"].endswith("/repo00/hooks")]
    assert len(hook_pages) == 3
    workspace_pages = [e for e in log if e["path"].endswith("/permissions/repositories")]
    assert len(workspace_pages) >= 2  # 120 repositories x their admins exceed one page


def test_missing_repositories_and_progress(box: Box) -> None:
    bitbucket, drone = box.clients()
    seed = standard_seed()
    scope = full_scope(
        seed,
        repositories=("repo00", "ghost"),
        permission_repos=("repo00",),
        drone_repos=("repo00", "ghost"),
    )
    seen: list[tuple[int, int]] = []
    live = read_live(
        scope=scope, bitbucket=bitbucket, drone=drone, on_progress=lambda d, t: seen.append((d, t))
    )
    assert live.missing_repos == {f"{WS}/ghost"}
    assert seen[-1][0] == seen[-1][1]
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    log = box.requests_log()
    assert not any("ghost/secrets" in e["path"] or "ghost/cron" in e["path"] for e in log)


def test_non_admin_drone_token_marks_admin_reads_unavailable(box: Box) -> None:
    bitbucket, drone = box.clients(DRONE_TOKEN=DRONE_USER_TOKEN)
    live = read_live(scope=full_scope(standard_seed()), bitbucket=bitbucket, drone=drone)
    assert live.identity.drone_admin is False
    assert any(u.startswith("drone users: needs a Drone system-admin") for u in live.unavailable)
    assert any(u.startswith("drone organization secrets") for u in live.unavailable)
    assert not any(a.kind is Kind.DRONE_USER for a in live.resources)


def test_concurrency_is_bounded_and_used(box: Box) -> None:
    seed = standard_seed(repos=12)
    box.load(seed)
    box.faults(seed=1, latency_ms=40)
    scope = full_scope(seed)
    timings = {}
    for concurrency in (2, 8):
        counter = CallCounter()
        bitbucket, drone = box.clients(counter=counter, concurrency=concurrency)
        start = time.perf_counter()
        live = read_live(scope=scope, bitbucket=bitbucket, drone=drone, concurrency=concurrency)
        timings[concurrency] = time.perf_counter() - start
        calls = sum(live.api_calls.values())
        assert counter.peak_total_in_flight == concurrency
        assert timings[concurrency] >= calls * 0.040 / concurrency * 0.9
    assert timings[8] < timings[2] / 2
