"""`reconciler import` against the sandbox: round trip, determinism, safety, no secret values."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from tests.cli.conftest import CANARIES, World

DRONE_PUBLIC = "https://drone.acme.example"


def _import(world: World, out: str, *extra: str) -> Any:
    return world.run(
        "import", "--workspace", "acme", "--drone-server", DRONE_PUBLIC, "--out", out, *extra
    )


def _files(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def _variables(directory: Path) -> list[str]:
    text = (directory / "SECRETS-CHECKLIST.md").read_text()
    return re.findall(r"^\| `([A-Z0-9_]+)` \|", text, flags=re.M)


def _applied(world: World) -> None:
    applied = world.run("apply", "desired-state", "--auto-approve")
    assert applied.returncode == 0, applied.stderr


def test_round_trip_plans_only_unfingerprinted_secret_values(world: World) -> None:
    _applied(world)
    result = _import(world, "imported")
    assert result.returncode == 0, result.stderr
    out = world.tmp / "imported"
    assert (out / "workspace.yaml").exists()
    assert (out / "defaults.yaml").exists()
    assert (out / "repos" / "api.yaml").exists()

    validated = world.run("validate", "imported")
    assert validated.returncode == 0, validated.stdout + validated.stderr

    variables = _variables(out)
    assert "API_AWS_ACCESS_KEY" in variables
    # A fresh state store: nothing was fingerprinted by this tool yet.
    world.env = {
        **world.env,
        "RECONCILER_STATE": str(world.tmp / "fresh.db"),
        **dict.fromkeys(variables, "any-value"),
    }
    planned = world.run("plan", "imported", "--format", "json")
    assert planned.returncode == 0, planned.stderr
    doc = json.loads(planned.stdout)
    unexpected = [
        change
        for change in doc["changes"]
        if not (
            change["action"] == "update"
            and {f["field"] for f in change["fields"]} <= {"value", "secret"}
            and all(f.get("sensitive") for f in change["fields"])
        )
    ]
    assert unexpected == []
    assert doc["changes"], "the secret values are the documented exception"


def test_factoring_defaults_and_roles(world: World) -> None:
    _applied(world)
    assert _import(world, "imported").returncode == 0
    out = world.tmp / "imported"
    defaults = yaml.safe_load((out / "defaults.yaml").read_text())
    assert defaults["defaults"]["drone"]["config_path"] == ".drone.yml"
    assert "developers-write" in defaults["defaults"]["roles"]
    assert defaults["roles"]["developers-write"] == {
        "permission": "write",
        "groups": ["developers"],
    }
    workspace = yaml.safe_load((out / "workspace.yaml").read_text())
    assert workspace["drone"]["server"] == DRONE_PUBLIC
    assert workspace["drone"]["org_secrets"]["docker_password"]["value"] == {
        "env": "DOCKER_PASSWORD"
    }
    api = yaml.safe_load((out / "repos" / "api.yaml").read_text())["repositories"]["api"]
    assert api["drone"]["timeout"] == 90
    assert api["drone"]["secrets"]["aws_access_key"]["value"] == {"env": "API_AWS_ACCESS_KEY"}
    assert api["webhooks"]["deploy-notify"]["secret"] == {"env": "API_DEPLOY_NOTIFY_SECRET"}
    assert api["drone"]["cron"]["nightly"]["expr"] == "0 0 2 * * *"


def test_two_imports_are_byte_identical(world: World) -> None:
    _applied(world)
    assert _import(world, "one").returncode == 0
    assert _import(world, "two").returncode == 0
    assert _files(world.tmp / "one") == _files(world.tmp / "two")


def test_refuses_to_overwrite_without_force(world: World) -> None:
    out = world.tmp / "imported"
    (out / "repos").mkdir(parents=True)
    (out / "repos" / "api.yaml").write_text("# mine\n")
    refused = _import(world, "imported")
    assert refused.returncode == 1
    assert "api.yaml" in refused.stderr and "--force" in refused.stderr
    assert _files(out) == {"repos/api.yaml": b"# mine\n"}
    forced = _import(world, "imported", "--force")
    assert forced.returncode == 0, forced.stderr
    assert (out / "repos" / "api.yaml").read_text() != "# mine\n"


def test_repos_glob_and_required_drone_server(world: World) -> None:
    result = _import(world, "only", "--repos", "a*")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (world.tmp / "only" / "repos").iterdir()) == ["api.yaml"]
    missing = world.run("import", "--workspace", "acme", "--out", "x")
    assert missing.returncode == 1
    assert "--drone-server" in missing.stderr
    assert not (world.tmp / "x").exists()


def test_no_secret_value_is_written(world: World) -> None:
    _applied(world)
    result = _import(world, "imported")
    assert result.returncode == 0
    written = b"".join(_files(world.tmp / "imported").values()).decode()
    for value in CANARIES.values():
        assert value not in written
        assert value not in result.stdout + result.stderr


DRONE_HOOK_EVENTS = [
    "pullrequest:approved",
    "pullrequest:created",
    "pullrequest:fulfilled",
    "pullrequest:rejected",
    "pullrequest:unapproved",
    "pullrequest:updated",
    "repo:push",
]


def _drone_hook(n: int) -> dict[str, Any]:
    """The hook Drone's activation would have created (realistic: no repair planned)."""
    return {
        "description": "drone",
        "url": f"{DRONE_PUBLIC}/hook?secret=signer{n:026d}",
        "events": DRONE_HOOK_EVENTS,
        "active": True,
    }


def test_two_hundred_repositories(world: World) -> None:
    state = world.control("GET", "state")
    repos = state["bitbucket"]["workspaces"]["acme"]["repositories"]
    for n in range(200):
        slug = f"svc-{n:03d}"
        groups = {"developers": "write"} if n % 4 else {"developers": "admin"}
        repos[slug] = {"permissions": {"groups": groups}, "hooks": [_drone_hook(n)]}
        state["drone"]["repos"].append(
            {
                "namespace": "acme",
                "name": slug,
                "active": True,
                "config_path": ".drone.yml" if n % 10 else "ci/drone.yml",
                "visibility": "private",
                "ignore_forks": n % 2 == 0,
            }
        )
        if n % 50 == 0:
            state["drone"]["secrets"].append({"repo": f"acme/{slug}", "name": "token"})
    world.control("PUT", "state", state)

    result = _import(world, "big", "--repos", "svc-*")
    assert result.returncode == 0, result.stderr
    out = world.tmp / "big"
    assert len(list((out / "repos").iterdir())) == 200
    assert world.run("validate", "big").returncode == 0
    defaults = yaml.safe_load((out / "defaults.yaml").read_text())
    assert defaults["defaults"]["roles"] == ["developers-write"]
    assert defaults["defaults"]["drone"]["config_path"] == ".drone.yml"
    assert "ignore_forks" not in defaults["defaults"]["drone"]  # 100 of 200: no majority
    odd = yaml.safe_load((out / "repos" / "svc-000.yaml").read_text())["repositories"]["svc-000"]
    assert odd["roles"] == []
    assert odd["permissions"] == {"groups": {"developers": "admin"}}
    assert odd["drone"]["config_path"] == "ci/drone.yml"

    world.env = {
        **world.env,
        "RECONCILER_STATE": str(world.tmp / "fresh.db"),
        **dict.fromkeys(_variables(out), "x"),
    }
    planned = world.run("plan", "big", "--format", "json")
    assert planned.returncode == 0, planned.stderr
    changes = json.loads(planned.stdout)["changes"]
    assert [c for c in changes if c["address"].startswith("drone_repo")] == []
    assert {c["address"].split(":")[0] for c in changes} <= {"drone_secret", "drone_org_secret"}
    assert all({f["field"] for f in c["fields"]} == {"value"} for c in changes)
