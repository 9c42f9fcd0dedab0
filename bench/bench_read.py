"""Benchmark `read_live` against the sandbox: API calls, wall time, peak memory, lower bound.

    python bench/bench_read.py                      # 100, 1,000 and 5,000 repositories
    python bench/bench_read.py --sizes 100 --latency-ms 20 --concurrency 8

Each size gets a fresh workspace, seeded through the control API: every repository has one
webhook plus Drone's own, one explicit group and one explicit user grant, and an active Drone
repo with one secret and one cron job; every repository is in every part of the scope. The
sandbox adds `--latency-ms` to each request and runs in its own process, so neither its CPU time
(under the GIL) nor its memory is charged to the client.

Two runs per size: one timed, then one under tracemalloc for the peak (tracemalloc slows every
allocation, so its wall time is not reported). The lower bound is calls x latency / concurrency:
the time with perfect overlap and an infinitely fast client and server.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests

from reconciler.models.live import ReadScope
from reconciler.providers.http import CallCounter, RetryPolicy
from reconciler.providers.live import clients_from_env, read_live

WS = "acme"
ME = "{5b3c1a2e-0000-4000-8000-00000000000a}"
ALICE = "{5b3c1a2e-0000-4000-8000-000000000001}"
EMAIL = "reconciler@acme.example"
TOKEN = "bench-api-token"
DRONE_TOKEN = "bench-drone-token"
DRONE_SERVER = "https://drone.acme.example"


def workspace(size: int) -> dict[str, Any]:
    slugs = [f"repo{i:05d}" for i in range(size)]
    hooks = [
        {"description": "notify", "url": "https://hooks.acme.example/n", "events": ["repo:push"]},
        {"description": "drone", "url": f"{DRONE_SERVER}/hook?secret=x", "events": ["repo:push"]},
    ]
    grants = {"groups": {"developers": "write"}, "users": {ALICE: "admin"}}
    return {
        "bitbucket": {
            "users": [
                {"uuid": ME, "nickname": "reconciler", "email": EMAIL, "api_token": TOKEN},
                {"uuid": ALICE, "nickname": "alice", "email": "alice@acme.example"},
            ],
            "workspaces": {
                WS: {
                    "owners": [ME],
                    "groups": {"developers": {}},
                    "repositories": {s: {"permissions": grants, "hooks": hooks} for s in slugs},
                }
            },
        },
        "drone": {
            "server": DRONE_SERVER,
            "users": [
                {"login": "drone-bot", "admin": True, "token": DRONE_TOKEN, "bitbucket_user": ME}
            ],
            "repos": [{"namespace": WS, "name": s, "active": True, "user_id": 1} for s in slugs],
            "secrets": [{"repo": f"{WS}/{s}", "name": "key", "data": "x"} for s in slugs],
            "cron": [
                {"repo": f"{WS}/{s}", "name": "nightly", "expr": "0 0 2 * * *", "branch": "main"}
                for s in slugs
            ],
        },
    }


@contextmanager
def sandbox_process() -> Iterator[str]:
    """`reconciler.sandbox.serve_forever` in a child process on a free loopback port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = f"from reconciler.sandbox import serve_forever; serve_forever('127.0.0.1', {port}, None)"
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        child.stdout.readline()  # "# reconciler sandbox listening on …": the socket is bound
        yield f"http://127.0.0.1:{port}"
    finally:
        child.terminate()
        child.wait(timeout=10)


def prepare(url: str, size: int, *, latency_ms: int) -> ReadScope:
    control = f"{url}/_sandbox"
    seed = workspace(size)
    requests.put(f"{control}/faults", json={}, timeout=60).raise_for_status()
    requests.put(f"{control}/state", json=seed, timeout=600).raise_for_status()
    # The real webhook budget (1,000/h, the sandbox default) would throttle the larger sizes;
    # this measures the client, so the limit is lifted.
    faults = {"latency_ms": latency_ms, "rate_limits": {"bitbucket:webhooks": None}}
    requests.put(f"{control}/faults", json=faults, timeout=60).raise_for_status()
    slugs = tuple(sorted(seed["bitbucket"]["workspaces"][WS]["repositories"]))
    return ReadScope(WS, slugs, DRONE_SERVER, slugs, slugs, read_users=True, read_org_secrets=True)


def read_once(url: str, scope: ReadScope, *, concurrency: int) -> tuple[Any, CallCounter, float]:
    env = {
        "BITBUCKET_API_URL": f"{url}/bitbucket/2.0",
        "BITBUCKET_USERNAME": EMAIL,
        "BITBUCKET_API_TOKEN": TOKEN,
        "DRONE_SERVER": f"{url}/drone",
        "DRONE_TOKEN": DRONE_TOKEN,
    }
    requests.delete(f"{url}/_sandbox/requests", timeout=60).raise_for_status()
    counter = CallCounter()
    bitbucket, drone = clients_from_env(
        env, concurrency=concurrency, policy=RetryPolicy(), counter=counter
    )
    start = time.perf_counter()
    live = read_live(scope=scope, bitbucket=bitbucket, drone=drone, concurrency=concurrency)
    wall = time.perf_counter() - start
    bitbucket.close()
    drone.close()
    return live, counter, wall


def measure(url: str, size: int, *, latency_ms: int, concurrency: int) -> dict[str, Any]:
    scope = prepare(url, size, latency_ms=latency_ms)
    live, counter, wall = read_once(url, scope, concurrency=concurrency)
    logged = len(requests.get(f"{url}/_sandbox/requests", timeout=60).json())
    tracemalloc.start()
    read_once(url, scope, concurrency=concurrency)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    calls = sum(live.api_calls.values())
    return {
        "repos": size,
        "bitbucket": live.api_calls["bitbucket"],
        "drone": live.api_calls["drone"],
        "calls": calls,
        "logged": logged,
        "retries": sum(counter.retries.values()),
        "resources": len(live.resources),
        "wall": wall,
        "bound": calls * latency_ms / 1000 / concurrency,
        "peak_mib": peak / 2**20,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 5000])
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    print(f"latency {args.latency_ms} ms per request, concurrency {args.concurrency}")
    print(
        "| repos | Bitbucket calls | Drone calls | total (request log) | retries | resources "
        "| wall (s) | lower bound (s) | wall / bound | peak traced memory (MiB) |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    with sandbox_process() as url:
        for size in args.sizes:
            r = measure(url, size, latency_ms=args.latency_ms, concurrency=args.concurrency)
            print(
                f"| {r['repos']:,} | {r['bitbucket']:,} | {r['drone']:,} "
                f"| {r['calls']:,} ({r['logged']:,}) | {r['retries']} | {r['resources']:,} "
                f"| {r['wall']:.2f} | {r['bound']:.2f} | {r['wall'] / r['bound']:.2f} "
                f"| {r['peak_mib']:.1f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
