"""End-to-end fixtures: the sandbox in-process on 127.0.0.1 and the real CLI in a subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from reconciler.sandbox import EXAMPLE_SEED, Sandbox, load_seed
from tests.conftest import EXAMPLE

# Canary secret values: none of them may ever appear in any output, file or log.
CANARIES = {
    "DOCKER_USERNAME": "canary-docker-user-7d1a",
    "DOCKER_PASSWORD": "canary-docker-pass-91bc",
    "DRONE_BITBUCKET_CLIENT_ID": "drone-client-id-canary",
    "DRONE_BITBUCKET_CLIENT_SECRET": "drone-client-secret-canary",
    "NOTIFY_HOOK_SECRET": "canary-notify-hook-3f0e",
    "API_AWS_ACCESS_KEY": "canary-aws-key-51d2",
    "API_SENTRY_DSN": "canary-sentry-dsn-0a7c",
    "WEB_NPM_TOKEN": "canary-npm-token-c4e8",
    "BILLING_STRIPE_KEY": "canary-stripe-key-2b9f",
    "MOBILE_SIGNING_KEY": "canary-signing-key-e6d3",
    "DATA_WAREHOUSE_PASSWORD": "canary-warehouse-pass-88aa",
}
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass
class World:
    sandbox: Sandbox
    tmp: Path
    desired: Path
    env: dict[str, str]

    def run(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "reconciler.cli", *args],
            capture_output=True,
            text=True,
            env=self.env,
            cwd=self.tmp,
            input=stdin,
            check=False,
            timeout=120,
        )

    def control(self, method: str, path: str, body: Any = None) -> Any:
        response = requests.request(
            method, f"{self.sandbox.url}/_sandbox/{path}", json=body, timeout=10
        )
        response.raise_for_status()
        return response.json() if response.content else None

    def requests_log(self) -> list[dict[str, Any]]:
        found = self.control("GET", "requests")
        return list(found["requests"] if isinstance(found, dict) else found)

    def clear_log(self) -> None:
        self.control("DELETE", "requests")

    def writes(self) -> list[tuple[str, str]]:
        """Mutating calls to either API (the OAuth token grant is a read: it changes nothing)."""
        return [
            (entry["method"], entry["path"])
            for entry in self.requests_log()
            if entry["method"] in WRITE_METHODS and "oauth2/access_token" not in entry["path"]
        ]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    sandbox = Sandbox.start(seed=load_seed(EXAMPLE_SEED))
    desired = tmp_path / "desired-state"
    shutil.copytree(EXAMPLE, desired)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "NO_COLOR": "1",
        "RECONCILER_STATE": str(tmp_path / "state.db"),
        **sandbox.env(),
        **CANARIES,
    }
    try:
        yield World(sandbox=sandbox, tmp=tmp_path, desired=desired, env=env)
    finally:
        sandbox.stop()
