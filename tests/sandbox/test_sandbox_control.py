"""Control API: state round trip, request log, faults; server start-up and public API."""

from __future__ import annotations

import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import requests

from reconciler.sandbox import EXAMPLE_SEED, Sandbox, SeedError, load_seed
from reconciler.sandbox.seed import normalise

if TYPE_CHECKING:
    from tests.sandbox.conftest import Client


def test_start_is_fast_and_env_points_at_the_sandbox() -> None:
    started = time.perf_counter()
    sb = Sandbox.start()
    try:
        assert time.perf_counter() - started < 0.5
        env = sb.env()
        assert sb.url.startswith("http://127.0.0.1:")
        assert env == {
            "BITBUCKET_API_URL": f"{sb.url}/bitbucket/2.0",
            "BITBUCKET_OAUTH_URL": f"{sb.url}/bitbucket/site/oauth2/access_token",
            "BITBUCKET_USERNAME": "reconciler@acme.example",
            "BITBUCKET_API_TOKEN": "bb-sandbox-token",
            "DRONE_SERVER": f"{sb.url}/drone",
            "DRONE_TOKEN": "drone-sandbox-token",
        }
        with requests.Session() as http:
            http.trust_env = False
            user = http.get(
                f"{env['BITBUCKET_API_URL']}/user",
                timeout=5,
                auth=(env["BITBUCKET_USERNAME"], env["BITBUCKET_API_TOKEN"]),
            )
            assert user.status_code == 200
            ws = http.get(
                f"{env['BITBUCKET_API_URL']}/workspaces/acme",
                timeout=5,
                auth=(env["BITBUCKET_USERNAME"], env["BITBUCKET_API_TOKEN"]),
            )
            assert ws.status_code == 200
            me = http.get(
                f"{env['DRONE_SERVER']}/api/user",
                timeout=5,
                headers={"Authorization": f"Bearer {env['DRONE_TOKEN']}"},
            )
            assert me.json()["admin"] is True
    finally:
        sb.stop()


def test_refuses_non_loopback_bind() -> None:
    with pytest.raises(ValueError, match="loopback"):
        Sandbox.start(host="0.0.0.0")


def test_seed_normalisation_is_idempotent_and_validated() -> None:
    once = normalise(load_seed(EXAMPLE_SEED))
    assert normalise(once) == once
    with pytest.raises(SeedError, match="permission"):
        normalise(
            {
                "bitbucket": {
                    "workspaces": {
                        "acme": {
                            "groups": {"g": {}},
                            "repositories": {"r": {"permissions": {"groups": {"g": "owner"}}}},
                        }
                    }
                }
            }
        )
    with pytest.raises(SeedError, match="unknown top-level"):
        normalise({"gitlab": {}})


def test_state_round_trip_and_bad_put(client: Client) -> None:
    state = client.state()
    assert state["bitbucket"]["users"][0]["api_token"] == "bb-sandbox-token"
    assert client.control("PUT", "state", state) == state
    r = client.http.put(f"{client.url}/_sandbox/state", json={"drone": {"users": "x"}}, timeout=5)
    assert r.status_code == 400
    assert client.state() == state
    state["drone"]["secrets"].append({"repo": "acme/api", "name": "k", "data": "v"})
    new = client.control("PUT", "state", state)
    assert new["drone"]["secrets"][0]["repo_id"] == 1
    assert client.drone("GET", "/api/repos/acme/api/secrets").json()[0]["name"] == "k"
    client.bb("DELETE", "/repositories/acme/web/hooks/{d1e2f3a4-0000-4000-8000-00000000de01}")
    client.control("POST", "reset")
    assert len(client.bb("GET", "/repositories/acme/web/hooks").json()["values"]) == 1


def test_request_log_records_api_calls_but_not_control(client: Client) -> None:
    client.bb("GET", "/user")
    client.drone("POST", "/api/repos/acme/api")
    client.state()
    log = client.log()
    assert [(e["system"], e["method"], e["path"], e["status"]) for e in log] == [
        ("bitbucket", "GET", "/bitbucket/2.0/user", 200),
        ("drone", "POST", "/drone/api/repos/acme/api", 200),
    ]
    assert all(e["duration_ms"] >= 0 for e in log)
    writes = client.control("GET", "requests?writes=true")
    assert [e["path"] for e in writes] == ["/drone/api/repos/acme/api"]
    client.bb("GET", "/repositories/acme?pagelen=2")
    assert client.log()[-1]["query"] == "pagelen=2"
    client.control("DELETE", "requests")
    assert client.log() == []


def test_latency_is_measurable(client: Client) -> None:
    client.control("PUT", "faults", {"latency_ms": 120})
    started = time.perf_counter()
    client.bb("GET", "/user")
    assert time.perf_counter() - started >= 0.12
    client.control("PUT", "faults", {"latency_ms": [0, 5], "scope": {"systems": ["drone"]}})
    started = time.perf_counter()
    client.bb("GET", "/user")
    assert time.perf_counter() - started < 0.1


def _statuses(client: Client, seed: int) -> list[int]:
    client.control("PUT", "faults", {"seed": seed, "error_rate": 0.5})
    return [client.bb("GET", "/user").status_code for _ in range(30)]


def test_error_rate_is_reproducible_for_a_seed(client: Client) -> None:
    first = _statuses(client, 7)
    assert first == _statuses(client, 7)
    assert {s for s in first if s != 200} <= {500, 502, 503}
    assert 5 < first.count(200) < 25
    assert first != _statuses(client, 8)
    failed = [e for e in client.log() if e["fault"] == "error"]
    assert failed
    client.control("PUT", "faults", {"error_rate": 1.0, "scope": {"methods": ["POST"]}})
    assert client.bb("GET", "/user").status_code == 200
    r = client.drone("POST", "/api/repos/acme/api")
    assert r.status_code >= 500
    assert "message" in r.json()


def test_rate_limit_429_with_retry_after(client: Client) -> None:
    faults = client.control("GET", "faults")
    assert faults["rate_limits"]["bitbucket:webhooks"]["limit"] == 1000
    client.control(
        "PUT",
        "faults",
        {"rate_limits": {"bitbucket:webhooks": {"limit": 3, "window_s": 60, "retry_after": 2}}},
    )
    codes = [client.bb("GET", "/repositories/acme/web/hooks").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    r = client.bb("GET", "/repositories/acme/web/hooks")
    assert r.headers["Retry-After"] == "2"
    assert r.json()["error"]["message"] == "Rate limit for this resource has been exceeded"
    # other families are not counted against the webhook budget
    assert client.bb("GET", "/repositories/acme/web").status_code == 200
    # per credential: alice has her own window (and is refused for lack of admin, not budget)
    alice = ("alice@acme.example", "bb-alice-token")
    assert client.bb("GET", "/repositories/acme/web/hooks", auth=alice).status_code == 403
    client.control("PUT", "faults", {"rate_limits": {"bitbucket:webhooks": None}})
    assert client.bb("GET", "/repositories/acme/web/hooks").status_code == 200
    bad = client.http.put(
        f"{client.url}/_sandbox/faults", json={"rate_limits": {"x": {}}}, timeout=5
    )
    assert bad.status_code == 400


def test_drop_closes_connection_without_response(client: Client) -> None:
    client.control("PUT", "faults", {"seed": 1, "drop_rate": 1.0})
    with pytest.raises(requests.ConnectionError):
        client.bb("GET", "/user")
    assert client.log()[-1]["fault"] == "drop"
    client.control("DELETE", "faults")
    assert client.bb("GET", "/user").status_code == 200


def test_concurrent_writes_are_atomic(client: Client) -> None:
    def create(i: int) -> int:
        body = {
            "description": f"h{i}",
            "url": f"https://hooks.acme.example/{i}",
            "events": ["repo:push"],
        }
        return client.bb("POST", "/repositories/acme/infra/hooks", json=body).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(create, range(40)))
    assert codes == [201] * 40
    hooks = client.bb("GET", "/repositories/acme/infra/hooks", params={"pagelen": 100}).json()
    assert len({h["uuid"] for h in hooks["values"]}) == 40


def test_start_from_seed_path_and_serve_forever_prints_env(tmp_path: Path) -> None:
    with Sandbox.start(EXAMPLE_SEED) as sb:
        assert len(sb.state.data["drone"]["repos"]) == 8
    code = "from reconciler.sandbox import serve_forever; serve_forever('127.0.0.1', 0, None)"
    proc = subprocess.Popen([sys.executable, "-u", "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(7)]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout:
            proc.stdout.close()
    exports = dict(line.removeprefix("export ").strip().split("=", 1) for line in lines[1:])
    assert exports["BITBUCKET_USERNAME"] == "reconciler@acme.example"
    assert exports["DRONE_SERVER"].startswith("http://127.0.0.1:")
    assert exports["DRONE_SERVER"].endswith("/drone")
