"""`reconciler comment` as a pipeline or an operator runs it (a real process), against the sandbox
with the example seed plus the config repository `acme/config` and its pull request #1."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.commands.comment import RepoRef, marker, upsert_comments
from reconciler.pipeline import Clients
from reconciler.sandbox import Sandbox
from reconciler.store import Store
from tests.conftest import EXAMPLE
from tests.serve.support import ME, Box, config_repo_seed, secrets_env

HEAD = "c0ffee" + "1" * 34
MAIN = "ba5e" + "2" * 36
ALICE = "{5b3c1a2e-0000-4000-8000-000000000001}"


@pytest.fixture(scope="module")
def _sandbox() -> Iterator[Sandbox]:
    sandbox = Sandbox.start()
    try:
        yield sandbox
    finally:
        sandbox.stop()


@pytest.fixture
def box(_sandbox: Sandbox) -> Box:
    box = Box(_sandbox.url)
    box.control("PUT", "state", config_repo_seed(main=MAIN))
    box.pull_request(1, "created", source=HEAD, main=MAIN)
    box.control("DELETE", "requests")
    return box


@pytest.fixture
def env(_sandbox: Sandbox, tmp_path: Path) -> dict[str, str]:
    return {
        **_sandbox.env(),
        **secrets_env(),
        "RECONCILER_STATE": str(tmp_path / "state.db"),
        "PATH": os.environ["PATH"],
        "NO_COLOR": "1",
    }


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reconciler.cli", *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )


def _comment_writes(box: Box) -> list[str]:
    return [w["method"] for w in box.writes() if "/comments" in w["path"]]


def _copy(tmp_path: Path, old: str = "", new: str = "", file: str = "workspace.yaml") -> Path:
    target = tmp_path / "desired-state"
    shutil.copytree(EXAMPLE, target)
    if old:
        path = target / file
        path.write_text(path.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")
    return target


def test_comment_posts_one_comment_then_edits_it_in_place(
    box: Box, env: dict[str, str], tmp_path: Path
) -> None:
    first = run(env, "comment", "--pr", "1", "--repo", "acme/config", str(EXAMPLE))
    assert first.returncode == 0, first.stderr
    assert first.stdout == (
        "acme/config PR #1: plan posted (1 comment); reconciler/plan SUCCESSFUL: "
        "36 to add, 3 to change, 2 to destroy\n"
    )
    [comment] = box.comments(1)
    assert comment["raw"].startswith(marker("plan", 1)) and comment["user"] == ME
    status = box.status(HEAD, "reconciler/plan")
    assert status is not None and status["state"] == "SUCCESSFUL"
    posted = [w["path"] for w in box.writes() if w["path"].endswith("/statuses/build")]
    assert posted == [f"/bitbucket/2.0/repositories/acme/config/commit/{HEAD}/statuses/build"]

    # Same plan again (repository from the environment): nothing to edit, one comment still.
    env_repo = {**env, "RECONCILER_CONFIG_REPO": "acme/config"}
    assert run(env_repo, "comment", "--pr", "1", str(EXAMPLE)).returncode == 0
    assert _comment_writes(box) == ["POST"]

    changed = _copy(tmp_path, "timeout: 90", "timeout: 120", file="repos/api.yaml")
    assert run(env_repo, "comment", "--pr", "1", str(changed)).returncode == 0
    assert _comment_writes(box) == ["POST", "PUT"]
    [edited] = box.comments(1)
    assert edited["id"] == comment["id"] and "+     timeout: 120" in edited["raw"]
    with Store.open(tmp_path / "state.db") as store:
        assert store.comment_ids("acme/config", 1) == (comment["id"],)


def test_comment_posts_a_saved_plan_file(box: Box, env: dict[str, str], tmp_path: Path) -> None:
    plan_file = tmp_path / "plan.json"
    planned = run(env, "plan", str(EXAMPLE), "--format", "markdown", "--out", str(plan_file))
    assert planned.returncode == 0, planned.stderr
    box.control("DELETE", "requests")

    posted = run(env, "comment", "--pr", "1", "--repo", "acme/config", "--plan", str(plan_file))
    assert posted.returncode == 0, posted.stderr
    [comment] = box.comments(1)
    assert planned.stdout.split("\n\n", 1)[1].strip() in comment["raw"]  # after the header
    reads = [r for r in box.control("GET", "requests") if r["system"] == "drone"]
    assert reads == []  # a saved plan is not planned again


def test_a_policy_refusal_fails_the_status_and_exits_3(
    box: Box, env: dict[str, str], tmp_path: Path
) -> None:
    strict = _copy(tmp_path, "max_deletions: 10", "max_deletions: 1")
    result = run(env, "comment", "--pr", "1", "--repo", "acme/config", str(strict))
    assert result.returncode == 3
    status = box.status(HEAD, "reconciler/plan")
    assert status is not None and status["state"] == "FAILED"
    assert status["description"].startswith("Refused by policy: the plan deletes 2 resources")
    [comment] = box.comments(1)
    assert "**Apply would be refused by policy:**" in comment["raw"]


def test_invalid_desired_state_fails_the_status_and_exits_1(
    box: Box, env: dict[str, str], tmp_path: Path
) -> None:
    broken = _copy(tmp_path, "max_deletions: 10", "max_deletions: many")
    result = run(env, "comment", "--pr", "1", "--repo", "acme/config", str(broken))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"{broken}/workspace.yaml:" in result.stderr
    status = box.status(HEAD, "reconciler/plan")
    assert status is not None and status["state"] == "FAILED"
    assert status["description"].startswith("Invalid desired state: 1 error")
    [comment] = box.comments(1)
    assert "workspace.yaml:" in comment["raw"] and "max_deletions" in comment["raw"]


def test_comment_needs_the_config_repository(env: dict[str, str]) -> None:
    result = run(env, "comment", "--pr", "1", str(EXAMPLE))
    assert result.returncode == 1
    assert result.stderr == (
        "error: the config repository is not set: pass --repo WORKSPACE/SLUG or set "
        "RECONCILER_CONFIG_REPO\n"
    )


def test_parts_grow_shrink_and_leave_other_comments_alone(
    box: Box, env: dict[str, str], tmp_path: Path
) -> None:
    """A long plan goes out in numbered parts; surplus parts are marked superseded and reused
    later; a human's comment that quotes our marker, and a deleted part, are handled."""
    repo = RepoRef("acme", "config")
    _seed_human_comment(box, raw=f"{marker('plan', 1)}\nquoted by a human")
    clients = Clients.from_env(env)
    try:
        with Store.open(tmp_path / "state.db") as store:

            def post(*bodies: str) -> tuple[int, ...]:
                return upsert_comments(
                    clients.bitbucket, store=store, repo=repo, pr=1, bodies=bodies, me=ME
                )

            three = post("one", "two", "three")
            assert [c["raw"].split("\n", 1)[1] for c in _ours(box)] == ["one", "two", "three"]
            one = post("only")
            assert one == three[:1]
            assert [c["raw"].split("\n", 1)[1] for c in _ours(box)] == [
                "only",
                "_(superseded: the current plan is above)_\n",
                "_(superseded: the current plan is above)_\n",
            ]
            assert post("a", "b") == three[:2]  # the superseded part 2 is reused

            clients.bitbucket.http.request(
                "DELETE", f"/repositories/acme/config/pullrequests/1/comments/{three[0]}"
            )
            again = post("a", "b")
            assert again[1] == three[1] and again[0] not in three
            assert store.comment_ids("acme/config", 1) == again
    finally:
        clients.close()
    human = [c for c in box.comments(1) if c["user"] == ALICE]
    assert [c["raw"] for c in human] == [f"{marker('plan', 1)}\nquoted by a human"]


def _ours(box: Box) -> list[dict[str, Any]]:
    return [c for c in box.comments(1) if c["user"] == ME]


def _seed_human_comment(box: Box, *, raw: str) -> None:
    state = box.state()
    config = state["bitbucket"]["workspaces"]["acme"]["repositories"]["config"]
    config["pullrequests"][0]["comments"].append({"id": 900, "raw": raw, "user": ALICE})
    box.control("PUT", "state", state)
