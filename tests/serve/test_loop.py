"""The interval loop: drift reported or healed per `policy.drift`, /metrics, /healthz, and a
graceful stop that lets a running apply finish."""

from __future__ import annotations

import json
from collections.abc import Callable

from reconciler.pipeline import Clients
from reconciler.serve.scheduler import Health
from tests.serve.conftest import Running, assert_no_secrets
from tests.serve.support import Box, ConfigGit, wait_until


def test_drift_is_reported_with_metrics_and_nothing_written(
    box: Box, start_serve: Callable[..., Running]
) -> None:
    serve = start_serve(interval=0.5)
    serve.wait_ticks(2)

    assert serve.metric("reconciler_ticks_total", result="drift") >= 2
    assert serve.metric("reconciler_drift_changes") == 41  # the example seed is far from desired
    assert serve.metric("reconciler_api_calls_total", service="bitbucket") > 0
    assert serve.metric("reconciler_api_calls_total", service="drone") > 0
    assert serve.metric("reconciler_api_retries_total", service="bitbucket") == 0
    assert serve.metric("reconciler_last_success_timestamp_seconds") > 1.7e9
    assert serve.metric("reconciler_changes_applied_total") == 0
    assert serve.runs() == ()
    managed = [w for w in box.writes() if "/acme/config/" not in w["path"]]
    assert [w for w in managed if "oauth2" not in w["path"]] == []  # report never writes

    health = serve.get("/healthz")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert any(e["event"] == "tick.drift" and e["changes"] == 41 for e in serve.log_events())
    assert_no_secrets(box, serve)


def test_drift_is_healed_when_policy_says_heal(
    box: Box, config_git: ConfigGit, start_serve: Callable[..., Running], env: dict[str, str]
) -> None:
    config_git.edit("workspace.yaml", "drift: report", "drift: heal")
    config_git.commit("heal drift")
    config_git.push("main")
    serve = start_serve(interval=0.5)
    wait_until(lambda: _finished(serve) >= 1, what="the first tick to heal")

    # An admin grants developers admin on api by hand; the next tick reverts it.
    clients = Clients.from_env(env)
    try:
        clients.bitbucket.put_group_permission("acme", "api", "developers", permission="admin")
    finally:
        clients.close()
    wait_until(lambda: _finished(serve) >= 2, what="the drift to be healed")

    healed = serve.runs()[0]
    assert [(r.address, r.action, r.status) for r in healed.results] == [
        ("bitbucket_permission:acme/api/group:developers", "update", "applied")
    ]
    assert box.repo("api")["permissions"]["groups"]["developers"] == "write"
    assert serve.metric("reconciler_ticks_total", result="healed") == 2
    assert serve.metric("reconciler_applies_total", trigger="heal", result="applied") == 2
    assert (
        serve.metric(
            "reconciler_changes_applied_total", kind="bitbucket_permission", action="update"
        )
        == 2
    )  # mobile's developers at the first heal, api's at the second
    assert_no_secrets(box, serve)


def test_healthz_is_503_while_main_is_invalid_and_200_once_fixed(
    config_git: ConfigGit, start_serve: Callable[..., Running]
) -> None:
    config_git.edit("roles.yaml", "permission: write, groups: [developers]", "permission: owner")
    config_git.commit("a permission Bitbucket does not have")
    config_git.push("main")
    serve = start_serve(interval=0.5)
    serve.wait_ticks(1)

    sick = serve.get("/healthz")
    assert sick.status_code == 503
    body = sick.json()
    assert body["status"] == "failing"
    assert body["reason"].startswith("the last re-plan failed: Invalid desired state: ")
    assert "desired-state/roles.yaml:" in serve.logs.getvalue()
    assert serve.metric("reconciler_ticks_total", result="error") >= 1

    config_git.repo.git.revert("--no-edit", "HEAD")
    config_git.push("main")
    wait_until(lambda: serve.get("/healthz").status_code == 200, what="healthz to recover")


def test_health_goes_stale_after_three_intervals() -> None:
    now = [1000.0]
    health = Health(interval=10, clock=lambda: now[0])
    assert health.status()[1]["status"] == "starting"
    health.record(ok=True, reason="No changes")
    assert health.status()[0] is True
    now[0] += 29
    assert health.status()[0] is True
    now[0] += 2
    healthy, body = health.status()
    assert not healthy and body["status"] == "stale" and "31 s" in body["reason"]
    health.record(ok=False, reason="Bitbucket API returned 503")
    assert health.status()[1]["reason"] == "the last re-plan failed: Bitbucket API returned 503"


def test_stop_lets_the_running_apply_finish(
    box: Box, config_git: ConfigGit, start_serve: Callable[..., Running]
) -> None:
    """What SIGTERM does: no new work, but the apply in hand completes and is recorded."""
    serve = start_serve()
    serve.wait_ticks(1)
    box.push(config_git.head())
    wait_until(serve.runs, what="the apply to start")
    serve.service.stop()

    [run] = serve.runs()
    assert run.status == "ok" and run.finished_at is not None and len(run.results) == 41
    events = [e["event"] for e in serve.log_events()]
    assert events.index("apply.applied") < events.index("serve.stopped")
    assert json.loads(serve.logs.getvalue().splitlines()[-1])["event"] == "serve.stopped"


def _finished(serve: Running) -> int:
    return sum(1 for run in serve.runs() if run.finished_at)
