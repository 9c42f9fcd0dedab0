"""`reconciler plan` and `apply` end to end: real CLI process, sandbox over HTTP, SQLite store."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

from reconciler.store import Store
from tests.cli.conftest import CANARIES, World


def converge(world: World) -> None:
    result = world.run("apply", "desired-state", "--auto-approve")
    assert result.returncode == 0, result.stderr
    assert "Apply complete" in result.stdout


def test_plan_shows_changes_and_detailed_exitcode(world: World) -> None:
    result = world.run("plan", "desired-state", "--detailed-exitcode")
    assert result.returncode == 2, result.stderr
    assert "+ drone_secret:acme/api/aws_access_key" in result.stdout
    assert "(desired-state/repos/api.yaml:16)" in result.stdout
    assert "Plan:" in result.stdout
    assert "API calls" in result.stderr
    assert world.writes() == [], "plan must never write"


def test_apply_then_second_plan_is_empty_and_makes_no_writes(world: World) -> None:
    converge(world)
    world.clear_log()
    second = world.run("plan", "desired-state", "--detailed-exitcode")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "No changes" in second.stdout
    again = world.run("apply", "desired-state", "--auto-approve")
    assert again.returncode == 0
    assert world.writes() == [], "a run with nothing to change makes zero write calls"


def test_changed_resource_costs_exactly_the_writes_it_needs(world: World) -> None:
    converge(world)
    import requests

    drone = world.env["DRONE_SERVER"]
    headers = {"Authorization": f"Bearer {world.env['DRONE_TOKEN']}"}
    requests.patch(
        f"{drone}/api/repos/acme/web", json={"timeout": 30}, headers=headers, timeout=10
    ).raise_for_status()
    world.clear_log()
    converge(world)
    assert world.writes() == [("PATCH", "/drone/api/repos/acme/web")]
    patch = [e for e in world.requests_log() if e["method"] == "PATCH"]
    assert len(patch) == 1


def test_json_plan_is_deterministic_and_masked(world: World) -> None:
    first = world.run("plan", "desired-state", "--format", "json")
    second = world.run("plan", "desired-state", "--format", "json")
    assert first.returncode == 0
    assert first.stdout == second.stdout, "same inputs, byte-identical plan"
    doc = json.loads(first.stdout)
    assert doc["format_version"] == 1
    assert doc["summary"]["create"] > 0
    assert doc["changes"] == sorted(doc["changes"], key=lambda c: c["address"])


def test_stale_plan_is_refused(world: World) -> None:
    out = world.tmp / "plan.json"
    assert world.run("plan", "desired-state", "--out", str(out)).returncode == 0
    import requests

    headers = {"Authorization": f"Bearer {world.env['DRONE_TOKEN']}"}
    requests.patch(
        f"{world.env['DRONE_SERVER']}/api/repos/acme/docs",
        json={"config_path": "ci.yml"},
        headers=headers,
        timeout=10,
    ).raise_for_status()
    world.clear_log()
    result = world.run("apply", "desired-state", "--plan", str(out), "--auto-approve")
    assert result.returncode == 1
    assert "live state changed since the plan was made" in result.stderr
    assert "Traceback" not in result.stderr
    assert world.writes() == []


def test_saved_plan_applies_when_nothing_moved(world: World) -> None:
    out = world.tmp / "plan.json"
    assert world.run("plan", "desired-state", "--out", str(out)).returncode == 0
    result = world.run("apply", "desired-state", "--plan", str(out), "--auto-approve")
    assert result.returncode == 0, result.stderr
    assert world.run("plan", "desired-state", "--detailed-exitcode").returncode == 0


def test_deletion_gate_exits_3_until_allowed(world: World) -> None:
    policy = world.desired / "workspace.yaml"
    policy.write_text(policy.read_text().replace("max_deletions: 10", "max_deletions: 0"))
    world.clear_log()
    refused = world.run("apply", "desired-state", "--auto-approve")
    assert refused.returncode == 3, refused.stderr
    assert "bitbucket_permission:acme/billing/group:contractors" in refused.stderr
    assert world.writes() == []
    allowed = world.run("apply", "desired-state", "--auto-approve", "--allow-deletions", "2")
    assert allowed.returncode == 0, allowed.stderr


def test_apply_without_tty_or_auto_approve_refuses(world: World) -> None:
    result = world.run("apply", "desired-state", stdin="yes\n")
    assert result.returncode == 1
    assert "--auto-approve" in result.stderr
    assert world.writes() == []


def test_target_limits_the_plan(world: World) -> None:
    result = world.run(
        "apply", "desired-state", "--auto-approve", "--target", "drone_secret:acme/api/*"
    )
    assert result.returncode == 0, result.stderr
    posts = [w for w in world.writes() if w[0] == "POST"]
    assert sorted(posts) == [
        ("POST", "/drone/api/repos/acme/api/secrets"),
        ("POST", "/drone/api/repos/acme/api/secrets"),
    ]


def test_partial_failure_reports_and_rerun_converges(world: World) -> None:
    # Every Drone write fails: apply stops at the first, reports the rest as not attempted.
    world.control(
        "PUT",
        "faults",
        {
            "seed": 7,
            "error_rate": 1.0,
            "scope": {"systems": ["drone"], "methods": ["POST", "PATCH"]},
        },
    )
    failed = world.run("apply", "desired-state", "--auto-approve")
    assert failed.returncode == 1
    assert "failed" in failed.stderr and "not attempted" in failed.stderr
    assert "Traceback" not in failed.stderr
    world.control("PUT", "faults", {"seed": 7})
    converge(world)
    assert world.run("plan", "desired-state", "--detailed-exitcode").returncode == 0
    state = world.control("GET", "state")["drone"]
    keys = [(s["repo_id"], s["name"]) for s in state["secrets"]]
    keys += [(c["repo_id"], c["name"]) for c in state["cron"]]
    assert len(state["secrets"]) == 6 and len(state["cron"]) == 5
    assert len(keys) == len(set(keys)), "no duplicate creates"


def _hold_lock(
    path: str, ready: multiprocessing.synchronize.Event, done: multiprocessing.synchronize.Event
) -> None:
    store = Store.open(Path(path))
    with store.writer_lock():
        ready.set()
        done.wait(30)


def test_second_concurrent_apply_fails_fast(world: World) -> None:
    ctx = multiprocessing.get_context("spawn")
    ready, done = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_lock, args=(world.env["RECONCILER_STATE"], ready, done))
    holder.start()
    try:
        assert ready.wait(30)
        result = world.run("apply", "desired-state", "--auto-approve")
        assert result.returncode == 1
        assert "holds the lock" in result.stderr
    finally:
        done.set()
        holder.join(30)
    assert world.writes() == []


def test_canaries_never_leak(world: World) -> None:
    outputs = []
    for args in (
        ("plan", "desired-state", "--format", "json", "--out", str(world.tmp / "p.json")),
        ("plan", "desired-state", "--format", "markdown"),
        ("plan", "desired-state"),
        ("apply", "desired-state", "--auto-approve"),
        ("plan", "desired-state"),
    ):
        result = world.run(*args)
        outputs += [result.stdout, result.stderr]
    outputs.append((world.tmp / "p.json").read_text())
    store_bytes = Path(world.env["RECONCILER_STATE"]).read_bytes()
    for value in CANARIES.values():
        assert all(value not in text for text in outputs), value
        assert value.encode() not in store_bytes, value
    # and the values did reach the sandbox, so the test is not vacuous
    state = json.dumps(world.control("GET", "state"))
    assert CANARIES["API_AWS_ACCESS_KEY"] in state


def test_missing_credential_is_one_line(world: World) -> None:
    del world.env["DRONE_TOKEN"]
    result = world.run("plan", "desired-state")
    assert result.returncode == 1
    assert "DRONE_TOKEN" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
