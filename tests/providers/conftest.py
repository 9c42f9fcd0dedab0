"""Provider tests run over real HTTP against the sandbox on 127.0.0.1.

One sandbox per module; before each test its state, request log and faults are reset through the
control API, so tests are independent. Clients use a retry policy with millisecond delays.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from reconciler.models.live import ReadScope
from reconciler.providers.bitbucket.client import BitbucketClient
from reconciler.providers.drone.client import DroneClient
from reconciler.providers.http import CallCounter, RetryPolicy
from reconciler.providers.live import clients_from_env
from reconciler.sandbox import Sandbox

FAST = RetryPolicy(
    max_attempts=4,
    base_delay=0.001,
    max_delay=0.01,
    retry_after_cap=0.5,
    connect_timeout=2.0,
    read_timeout=10.0,
)

WS = "acme"
DRONE_SERVER = "https://drone.acme.example"
ME = "{5b3c1a2e-0000-4000-8000-00000000000a}"
ALICE = "{5b3c1a2e-0000-4000-8000-000000000001}"
BOB = "{5b3c1a2e-0000-4000-8000-000000000002}"
API_TOKEN = "bb-api-token-canary-1f9e"
DRONE_ADMIN_TOKEN = "drone-admin-token-canary-77aa"
DRONE_USER_TOKEN = "drone-user-token-canary-88bb"
SECRET_CANARY = "s3cr3t-value-canary-5c2d"


def standard_seed(*, repos: int = 3, hooks_per_repo: int = 1) -> dict[str, Any]:
    """A small workspace: every repo has a notify hook (+ Drone's own when active), explicit
    group and user grants, and an active Drone repo with one secret and one cron job."""
    slugs = [f"repo{i:02d}" for i in range(repos)]
    repositories = {
        slug: {
            "permissions": {"groups": {"developers": "write"}, "users": {ALICE: "admin"}},
            "hooks": [
                {
                    "description": f"notify-{h}" if h else "notify",
                    "url": f"https://hooks.acme.example/{slug}/{h}",
                    "events": ["repo:push", "pullrequest:fulfilled"],
                    "secret": SECRET_CANARY if h == 0 else None,
                }
                for h in range(hooks_per_repo)
            ]
            + [
                {
                    "description": "drone",
                    "url": f"{DRONE_SERVER}/hook?secret=signer-canary-{slug}",
                    "events": ["repo:push", "pullrequest:created"],
                }
            ],
        }
        for slug in slugs
    }
    return {
        "bitbucket": {
            "users": [
                {
                    "uuid": ME,
                    "nickname": "reconciler",
                    "email": "reconciler@acme.example",
                    "api_token": API_TOKEN,
                },
                {"uuid": ALICE, "nickname": "alice", "email": "alice@acme.example"},
                {"uuid": BOB, "nickname": "bob", "email": "bob@acme.example"},
            ],
            "workspaces": {
                WS: {
                    "owners": [ME],
                    "groups": {"developers": {"name": "Developers"}, "qa": {"name": "QA"}},
                    "members": {"developers": [BOB], "qa": [ALICE, BOB]},
                    "repositories": repositories,
                }
            },
            "oauth_consumers": [
                {
                    "key": "drone-key",
                    "secret": "drone-consumer-secret",
                    "name": "drone",
                    "private": True,
                    "scopes": ["account", "repository", "webhook"],
                    "owner": ME,
                },
                {"key": "public-key", "secret": "public-secret", "name": "pub", "private": False},
            ],
        },
        "drone": {
            "server": DRONE_SERVER,
            "users": [
                {
                    "login": "drone-bot",
                    "admin": True,
                    "token": DRONE_ADMIN_TOKEN,
                    "bitbucket_user": ME,
                },
                {
                    "login": "alice",
                    "admin": False,
                    "token": DRONE_USER_TOKEN,
                    "bitbucket_user": ALICE,
                },
                {"login": "ci-machine", "machine": True},
            ],
            "repos": [
                {
                    "namespace": WS,
                    "name": slug,
                    "active": True,
                    "config_path": ".drone.yml",
                    "timeout": 60,
                    "user_id": 1,
                    "signer": f"signer-canary-{slug}",
                }
                for slug in slugs
            ],
            "secrets": [
                {
                    "repo": f"{WS}/{slug}",
                    "name": "aws_key",
                    "data": SECRET_CANARY,
                    "pull_request": True,
                }
                for slug in slugs
            ],
            "org_secrets": [{"namespace": WS, "name": "docker_password", "data": SECRET_CANARY}],
            "cron": [
                {"repo": f"{WS}/{slug}", "name": "nightly", "expr": "0 0 2 * * *", "branch": "main"}
                for slug in slugs
            ],
        },
    }


def full_scope(seed: dict[str, Any], **overrides: Any) -> ReadScope:
    slugs = tuple(sorted(seed["bitbucket"]["workspaces"][WS]["repositories"]))
    values: dict[str, Any] = {
        "workspace": WS,
        "repositories": slugs,
        "drone_server": DRONE_SERVER,
        "permission_repos": slugs,
        "drone_repos": slugs,
        "read_users": True,
        "read_org_secrets": True,
    }
    values.update(overrides)
    return ReadScope(**values)


@dataclass
class Box:
    """A running sandbox plus helpers for its control API."""

    url: str
    base_env: dict[str, str]

    def control(self, method: str, path: str, body: Any = None) -> Any:
        response = requests.request(method, f"{self.url}/_sandbox/{path}", json=body, timeout=60)
        response.raise_for_status()
        return response.json() if response.content.strip() else None

    def load(self, seed: dict[str, Any]) -> None:
        self.control("PUT", "state", seed)
        self.control("DELETE", "requests")

    def faults(self, **faults: Any) -> None:
        self.control("PUT", "faults", faults)

    def state(self) -> Any:
        return self.control("GET", "state")

    def requests_log(self) -> list[dict[str, Any]]:
        log = self.control("GET", "requests")
        return list(log["requests"] if isinstance(log, dict) else log)

    def env(self, **overrides: str) -> dict[str, str]:
        env = dict(self.base_env)
        env.update(
            BITBUCKET_USERNAME="reconciler@acme.example",
            BITBUCKET_API_TOKEN=API_TOKEN,
            DRONE_TOKEN=DRONE_ADMIN_TOKEN,
        )
        env.update(overrides)
        return env

    def clients(
        self,
        *,
        policy: RetryPolicy = FAST,
        concurrency: int = 8,
        counter: CallCounter | None = None,
        **env: str,
    ) -> tuple[BitbucketClient, DroneClient]:
        return clients_from_env(
            self.env(**env), concurrency=concurrency, policy=policy, counter=counter
        )


@pytest.fixture(scope="module")
def _sandbox() -> Iterator[Box]:
    sb = Sandbox.start(seed=standard_seed())
    try:
        assert urlsplit(sb.url).hostname == "127.0.0.1"
        yield Box(sb.url, dict(sb.env()))
    finally:
        sb.stop()


@pytest.fixture
def box(_sandbox: Box) -> Box:
    _sandbox.faults(seed=1, latency_ms=0, error_rate=0, drop_rate=0, rate_limits={})
    _sandbox.load(standard_seed())
    return _sandbox
