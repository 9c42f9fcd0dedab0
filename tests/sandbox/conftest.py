"""Sandbox tests: a fresh sandbox with the example seed on 127.0.0.1, spoken to over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from reconciler.sandbox import EXAMPLE_SEED, Sandbox, load_seed

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
ME = "{5b3c1a2e-0000-4000-8000-00000000000a}"
ALICE = "{5b3c1a2e-0000-4000-8000-000000000001}"
BOB = "{5b3c1a2e-0000-4000-8000-000000000002}"
CAROL = "{5b3c1a2e-0000-4000-8000-000000000003}"


def shared_file(*parts: str) -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is absent (a clone without ../shared); CI always has it")
    return SHARED.joinpath(*parts)


@dataclass
class Client:
    """HTTP helpers bound to one sandbox; credentials default to the seed's API callers."""

    sb: Sandbox
    http: requests.Session

    @property
    def url(self) -> str:
        return self.sb.url

    def bb(
        self,
        method: str,
        path: str,
        *,
        auth: Any = ("reconciler@acme.example", "bb-sandbox-token"),
        **kw: Any,
    ) -> requests.Response:
        return self.http.request(
            method, f"{self.url}/bitbucket/2.0{path}", auth=auth, timeout=10, **kw
        )

    def drone(
        self, method: str, path: str, *, token: str | None = "drone-sandbox-token", **kw: Any
    ) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.http.request(
            method, f"{self.url}/drone{path}", headers=headers, timeout=10, **kw
        )

    def control(self, method: str, path: str, body: Any = None) -> Any:
        response = self.http.request(method, f"{self.url}/_sandbox/{path}", json=body, timeout=30)
        assert response.status_code < 300, response.text
        return response.json() if response.content else None

    def state(self) -> Any:
        return self.control("GET", "state")

    def log(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.control("GET", "requests")
        return result


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    sandbox = Sandbox.start(load_seed(EXAMPLE_SEED))
    try:
        yield sandbox
    finally:
        sandbox.stop()


@pytest.fixture
def client(sb: Sandbox) -> Iterator[Client]:
    with requests.Session() as http:
        http.trust_env = False  # never route loopback calls through an environment proxy
        yield Client(sb, http)
