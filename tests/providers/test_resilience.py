"""Reads and writes under injected faults: latency, 5xx, dropped connections, 429 storms."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest

from reconciler.errors import ApiError
from reconciler.models import address
from reconciler.models.live import LiveState
from reconciler.plan import Action, Change, FieldChange
from reconciler.providers.bitbucket import write as bb_write
from reconciler.providers.drone import write as drone_write
from reconciler.providers.http import CallCounter
from reconciler.providers.live import read_live
from tests.providers.conftest import FAST, WS, Box, full_scope, standard_seed

PATIENT = replace(FAST, max_attempts=20)  # even at 50 % faults a lost read is ~1e-6: no flake


def read(box: Box, counter: CallCounter | None = None) -> LiveState:
    bitbucket, drone = box.clients(policy=PATIENT, counter=counter)
    return read_live(scope=full_scope(standard_seed()), bitbucket=bitbucket, drone=drone)


def baseline(box: Box) -> LiveState:
    state = read(box)
    box.control("DELETE", "requests")
    return state


@pytest.mark.parametrize(
    "faults",
    [
        {"latency_ms": 30},
        {"error_rate": 0.3},
        {"drop_rate": 0.3},
        {"error_rate": 0.15, "drop_rate": 0.15, "latency_ms": 5},
    ],
    ids=["latency", "5xx", "drops", "mixed"],
)
def test_reads_survive_faults(box: Box, faults: dict[str, float]) -> None:
    expected = baseline(box)
    box.faults(seed=7, **faults)
    counter = CallCounter()
    got = read(box, counter)
    assert got.resources == expected.resources
    assert got.drone_hooks == expected.drone_hooks
    assert got.effective_permissions == expected.effective_permissions
    calls, retries = sum(counter.calls.values()), sum(counter.retries.values())
    first_tries = sum(expected.api_calls.values())
    assert calls == first_tries + retries  # every extra request is an accounted retry
    if "error_rate" in faults or "drop_rate" in faults:
        assert retries > 0
    assert retries <= first_tries * (PATIENT.max_attempts - 1)


def test_429_storm_is_waited_out(box: Box) -> None:
    expected = baseline(box)
    storm = {"limit": 4, "window_s": 0.3, "retry_after": 1}
    families = {"bitbucket:repositories": storm, "bitbucket:webhooks": storm, "drone": storm}
    box.faults(seed=3, rate_limits=families)
    counter = CallCounter()
    policy = replace(FAST, max_attempts=30, retry_after_cap=0.3)
    bitbucket, drone = box.clients(policy=policy, counter=counter)
    got = read_live(scope=full_scope(standard_seed()), bitbucket=bitbucket, drone=drone)
    assert got.resources == expected.resources
    statuses = Counter(e["status"] for e in box.requests_log())
    assert statuses[429] > 0
    assert sum(counter.retries.values()) == statuses[429]


def test_retries_are_bounded_and_the_error_is_one_line(box: Box) -> None:
    box.faults(seed=1, error_rate=1.0)
    counter = CallCounter()
    bitbucket, _ = box.clients(counter=counter)
    with pytest.raises(ApiError) as caught:
        bitbucket.list_hooks(WS, "repo00")
    assert caught.value.status is not None and caught.value.status >= 500
    assert "\n" not in str(caught.value)
    assert counter.calls == {"bitbucket": FAST.max_attempts}
    assert counter.retries == {"bitbucket": FAST.max_attempts - 1}


def _creates(box: Box, path_end: str) -> list[int]:
    return [
        e["status"]
        for e in box.requests_log()
        if e["method"] == "POST" and e["path"].endswith(path_end)
    ]


def test_ambiguous_creates_make_no_duplicates(box: Box) -> None:
    """With a third of connections dropped, each create either lands once or is confirmed by a
    re-read; never two objects, never two successful POSTs."""
    bitbucket, drone = box.clients(policy=PATIENT)
    box.faults(seed=11, drop_rate=0.35, error_rate=0.1)
    for i in range(6):
        name = f"token_{i}"
        secret = address.drone_secret(WS, "repo00", name)
        fields = (FieldChange("value", None, None, sensitive=True),)
        after = {"pull_request": False, "pull_request_push": False}
        create = Change(secret, Action.CREATE, fields=fields, after=after, sensitive=("value",))
        drone_write.execute(drone, create, {"value": f"v{i}"})
        hook = address.webhook(WS, "repo00", f"hook-{i}")
        hook_after = {
            "url": f"https://hooks.acme.example/{i}",
            "events": ("repo:push",),
            "active": True,
        }
        bb_write.execute(bitbucket, Change(hook, Action.CREATE, after=hook_after), {})
    box.faults(seed=1)
    state = box.state()
    names = Counter(s["name"] for s in state["drone"]["secrets"])
    assert all(names[f"token_{i}"] == 1 for i in range(6))
    assert all(
        s["data"] == f"v{i}"
        for i in range(6)
        for s in state["drone"]["secrets"]
        if s["name"] == f"token_{i}"
    )
    hooks = state["bitbucket"]["workspaces"][WS]["repositories"]["repo00"]["hooks"]
    descriptions = Counter(h["description"] for h in hooks)
    assert all(descriptions[f"hook-{i}"] == 1 for i in range(6))
    for path_end in ("/repo00/secrets", "/repo00/hooks"):
        answered = [s for s in _creates(box, path_end) if 200 <= s < 300]
        assert len(answered) == 6


def test_a_create_that_already_happened_is_confirmed_not_duplicated(box: Box) -> None:
    """Drone answers a duplicate create with 500 (as when a dropped response hid the first
    POST's success): the writer re-reads, finds the secret and PATCHes the declared value."""
    _, drone = box.clients()
    secret = address.drone_secret(WS, "repo01", "aws_key")  # already in the seed
    fields = (FieldChange("value", None, None, sensitive=True),)
    after = {"pull_request": False, "pull_request_push": False}
    create = Change(secret, Action.CREATE, fields=fields, after=after, sensitive=("value",))
    drone_write.execute(drone, create, {"value": "declared-value"})
    state = box.state()["drone"]
    repo_id = next(r["id"] for r in state["repos"] if r["slug"] == f"{WS}/repo01")
    found = [s for s in state["secrets"] if s["name"] == "aws_key" and s["repo_id"] == repo_id]
    assert len(found) == 1
    assert found[0]["data"] == "declared-value" and found[0]["pull_request"] is False
    calls = [(e["method"], e["status"]) for e in box.requests_log()]
    assert calls == [("POST", 500), ("GET", 200), ("PATCH", 200)]


def test_a_webhook_post_whose_answer_was_lost_is_confirmed_by_a_re_read(box: Box) -> None:
    """The POST outlives the client's read timeout but the server creates the hook anyway: the
    writer must not POST again (Bitbucket would make a second hook with the same description).

    Latency per request is drawn from [0, 1000] ms with seed 1227: ~614 ms for the POST (past the
    500 ms read timeout), ~317 ms for the confirming GET (handled after the POST landed), ~269 ms
    for the converging PUT."""
    bitbucket, _ = box.clients(policy=replace(FAST, read_timeout=0.5))
    box.faults(seed=1227, latency_ms=[0, 1000])
    hook = address.webhook(WS, "repo01", "deploy")
    after = {"url": "https://hooks.acme.example/deploy", "events": ("repo:push",), "active": True}
    fields = (FieldChange("secret", None, None, sensitive=True),)
    create = Change(hook, Action.CREATE, fields=fields, after=after, sensitive=("secret",))
    bb_write.execute(bitbucket, create, {"secret": "declared-secret"})
    box.faults(seed=1)
    calls = [(e["method"], e["status"]) for e in box.requests_log()]
    assert calls == [("POST", 201), ("GET", 200), ("PUT", 200)]
    hooks = box.state()["bitbucket"]["workspaces"][WS]["repositories"]["repo01"]["hooks"]
    (found,) = [h for h in hooks if h["description"] == "deploy"]
    assert found["secret"] == "declared-secret"
