"""Integration checks end to end: doctor, and Drone's hook healed by repair, never rewritten."""

from __future__ import annotations

import json

import requests

from tests.cli.conftest import World

DRONE_HOST = "https://drone.acme.example"


def hooks(world: World, slug: str) -> list[dict[str, object]]:
    response = requests.get(
        f"{world.env['BITBUCKET_API_URL']}/repositories/acme/{slug}/hooks",
        auth=(world.env["BITBUCKET_USERNAME"], world.env["BITBUCKET_API_TOKEN"]),
        params={"pagelen": 100},
        timeout=10,
    )
    response.raise_for_status()
    return list(response.json()["values"])


def drone_hooks(world: World, slug: str) -> list[dict[str, object]]:
    return [h for h in hooks(world, slug) if str(h["url"]).startswith(DRONE_HOST)]


def delete_hook(world: World, slug: str, uuid: str) -> None:
    requests.delete(
        f"{world.env['BITBUCKET_API_URL']}/repositories/acme/{slug}/hooks/{uuid}",
        auth=(world.env["BITBUCKET_USERNAME"], world.env["BITBUCKET_API_TOKEN"]),
        timeout=10,
    ).raise_for_status()


def converge(world: World) -> None:
    result = world.run("apply", "desired-state", "--auto-approve")
    assert result.returncode == 0, result.stdout + result.stderr


def test_activation_creates_one_drone_hook_and_doctor_passes(world: World) -> None:
    converge(world)
    for slug in ("api", "web", "docs"):
        assert len(drone_hooks(world, slug)) == 1
    result = world.run("doctor", "desired-state")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "drone-hook" in result.stdout and "FAIL" not in result.stdout


def test_deleted_drone_hook_fails_the_check_and_repair_heals_it(world: World) -> None:
    converge(world)
    (hook,) = drone_hooks(world, "web")
    delete_hook(world, "web", str(hook["uuid"]))
    doctor = world.run("doctor", "desired-state")
    assert doctor.returncode == 1
    assert "FAIL drone-hook" in doctor.stdout and "acme/web" in doctor.stdout
    plan = world.run("plan", "desired-state", "--format", "json")
    doc = json.loads(plan.stdout)
    repairs = [c["address"] for c in doc["changes"] if c["action"] == "repair"]
    assert repairs == ["drone_repo:acme/web"]
    world.clear_log()
    converge(world)
    assert world.writes() == [("POST", "/drone/api/repos/acme/web/repair")], (
        "healed by Drone's repair, never by writing Drone's hook ourselves"
    )
    assert len(drone_hooks(world, "web")) == 1
    assert world.run("doctor", "desired-state").returncode == 0


def test_duplicated_drone_hook_is_repaired_and_extra_deleted(world: World) -> None:
    converge(world)
    (hook,) = drone_hooks(world, "api")
    # A second hook on Drone's host, as a hand-made copy would be (recorded-fixture shape).
    response = requests.post(
        f"{world.env['BITBUCKET_API_URL']}/repositories/acme/api/hooks",
        auth=(world.env["BITBUCKET_USERNAME"], world.env["BITBUCKET_API_TOKEN"]),
        json={
            "description": "drone",
            "url": f"{DRONE_HOST}/hook?secret=canary-signer-copy-42",
            "active": True,
            "events": ["repo:push"],
        },
        timeout=10,
    )
    response.raise_for_status()
    outputs = []
    for args in (
        ("plan", "desired-state"),
        ("plan", "desired-state", "--format", "markdown"),
        ("plan", "desired-state", "--format", "json"),
        ("doctor", "desired-state"),
    ):
        result = world.run(*args)
        outputs += [result.stdout, result.stderr]
    assert any("duplicated" in text or "2 hooks" in text for text in outputs), outputs[0]
    converge(world)
    assert len(drone_hooks(world, "api")) == 1
    assert world.run("plan", "desired-state", "--detailed-exitcode").returncode == 0
    state = json.dumps(world.control("GET", "state"))
    signer_values = {
        str(h["url"]).split("secret=", 1)[1]
        for h in json.loads(state)["bitbucket"]["workspaces"]["acme"]["repositories"]["api"][
            "hooks"
        ]
        if "secret=" in str(h["url"])
    } | {"canary-signer-copy-42"}
    del hook
    for text in outputs:
        for signer in signer_values:
            assert signer not in text, "a Drone hook ?secret= value leaked"


def test_no_signer_in_any_output(world: World) -> None:
    texts = []
    for args in (
        ("apply", "desired-state", "--auto-approve"),
        ("plan", "desired-state", "--format", "json"),
        ("plan", "desired-state", "--format", "markdown"),
        ("doctor", "desired-state"),
    ):
        result = world.run(*args)
        texts += [result.stdout, result.stderr]
    signers = [
        str(h["url"]).split("secret=", 1)[1]
        for slug in ("api", "web", "docs")
        for h in drone_hooks(world, slug)
    ]
    assert len(signers) == 3 and all(signers)
    for text in texts:
        for signer in signers:
            assert signer not in text


def test_wrong_drone_owner_is_chowned_by_the_owner_token(world: World) -> None:
    converge(world)
    state = world.control("GET", "state")
    alice = next(u["id"] for u in state["drone"]["users"] if u["login"] == "alice")
    for repo in state["drone"]["repos"]:
        if repo["slug"] == "acme/web":
            repo["user_id"] = alice
    world.control("PUT", "state", state)
    doc = json.loads(world.run("plan", "desired-state", "--format", "json").stdout)
    owner_changes = [c for c in doc["changes"] if any(f["field"] == "owner" for f in c["fields"])]
    assert [c["address"] for c in owner_changes] == ["drone_repo:acme/web"]
    world.clear_log()
    converge(world)
    assert world.writes() == [("POST", "/drone/api/repos/acme/web/chown")]
    assert world.run("plan", "desired-state", "--detailed-exitcode").returncode == 0
