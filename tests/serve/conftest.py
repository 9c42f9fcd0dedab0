"""Fixtures for the GitOps loop: sandbox (one per module, re-seeded per test), a git config
repository, and `start_serve`, which runs the real service (waitress on 127.0.0.1, real SQLite
store) and registers its webhook on the sandbox's `acme/config` through the Bitbucket API."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from reconciler.commands.comment import RepoRef
from reconciler.commands.demo import DEMO_SECRETS
from reconciler.pipeline import Clients
from reconciler.sandbox import Sandbox
from reconciler.serve import ServeConfig, Service
from reconciler.serve.logs import EventLog, secret_values
from reconciler.store import Run, Store
from tests.serve.support import (
    CONFIG,
    DOCKER_PASSWORD,
    HOOK_EVENTS,
    WEBHOOK_SECRET,
    Box,
    ConfigGit,
    config_repo_seed,
    secrets_env,
    wait_until,
)


@pytest.fixture(scope="module")
def _sandbox() -> Iterator[Sandbox]:
    sandbox = Sandbox.start()
    try:
        yield sandbox
    finally:
        sandbox.stop()


@pytest.fixture
def config_git(tmp_path: Path) -> Iterator[ConfigGit]:
    repo = ConfigGit(tmp_path / "git")
    try:
        yield repo
    finally:
        repo.close()


@pytest.fixture
def box(_sandbox: Sandbox, config_git: ConfigGit) -> Box:
    box = Box(_sandbox.url)
    box.control("PUT", "state", config_repo_seed(main=config_git.head()))
    box.control("DELETE", "requests")
    box.control("DELETE", "deliveries")
    return box


@pytest.fixture
def env(_sandbox: Sandbox) -> dict[str, str]:
    return {**_sandbox.env(), **secrets_env(), "RECONCILER_WEBHOOK_SECRET": WEBHOOK_SECRET}


@dataclass
class Running:
    service: Service
    store: Store
    logs: io.StringIO
    responses: list[str]  # every body serve answered in this test (canary checks)

    @property
    def url(self) -> str:
        return self.service.url

    def get(self, path: str) -> requests.Response:
        response = requests.get(f"{self.url}{path}", timeout=10)
        self.responses.append(response.text)
        return response

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> requests.Response:
        response = requests.post(f"{self.url}{path}", data=body, headers=headers, timeout=10)
        self.responses.append(response.text)
        return response

    def metric(self, name: str, **labels: str) -> float:
        """Sum of a sample's values over the series matching `labels`."""
        text = self.get("/metrics").text
        total = 0.0
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name and all(
                    sample.labels.get(k) == v for k, v in labels.items()
                ):
                    total += sample.value
        return total

    def runs(self) -> tuple[Run, ...]:
        return self.store.runs(limit=100)

    def log_events(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.logs.getvalue().splitlines()]

    def wait_ticks(self, n: int, *, timeout: float = 20.0) -> None:
        wait_until(
            lambda: self.metric("reconciler_ticks_total") >= n, what=f"{n} ticks", timeout=timeout
        )

    def wait_idle(self, *, timeout: float = 20.0) -> None:
        """No job pending or running: the worker's queue is empty and no job is in hand."""
        wait_until(self.service.idle, what="the worker to be idle", timeout=timeout)


@pytest.fixture
def start_serve(
    tmp_path: Path, box: Box, config_git: ConfigGit, env: dict[str, str]
) -> Iterator[Callable[..., Running]]:
    started: list[Running] = []

    def start(
        *,
        interval: float = 3600.0,
        webhook_secret: str = WEBHOOK_SECRET,
        hook_secret: str | None = None,
    ) -> Running:
        store = Store.open(tmp_path / "state.db")
        logs = io.StringIO()
        run_env = {**env, "RECONCILER_WEBHOOK_SECRET": webhook_secret}
        log = EventLog(stream=logs, json_lines=True, secrets=secret_values(run_env))
        config = ServeConfig(
            config_url=str(config_git.bare),
            repo=RepoRef.parse(CONFIG, where="test"),
            workdir=tmp_path / "serve-work",
            secret=webhook_secret.encode(),
            interval=interval,
            host="127.0.0.1",
            port=0,
        )
        service = Service.start(config, env=run_env, store=store, log=log)
        running = Running(service, store, logs, [])
        started.append(running)
        _register_hook(env, url=f"{service.url}/webhook", secret=hook_secret or webhook_secret)
        return running

    yield start
    for running in started:
        running.service.stop()
        running.store.close()


def _register_hook(env: dict[str, str], *, url: str, secret: str) -> None:
    """What an operator does once: a webhook on the config repository pointing at serve."""
    clients = Clients.from_env(env)
    try:
        workspace, slug = CONFIG.split("/")
        clients.bitbucket.create_hook(
            workspace,
            slug,
            body={
                "description": "reconciler",
                "url": url,
                "active": True,
                "events": HOOK_EVENTS,
                "secret": secret,
            },
        )
    finally:
        clients.close()


def assert_no_secrets(box: Box, serve: Running) -> None:
    """Canaries: secret values from the environment appear in no log, comment or response."""
    comments = [c["raw"] for pr in box.repo("config")["pullrequests"] for c in pr["comments"]]
    places = {
        "logs": serve.logs.getvalue(),
        "comments": "\n".join(comments),
        "responses": "\n".join(serve.responses),
    }
    secrets = [
        WEBHOOK_SECRET,
        DOCKER_PASSWORD,
        DEMO_SECRETS["NOTIFY_HOOK_SECRET"],
        "bb-sandbox-token",
    ]
    for where, text in places.items():
        for secret in secrets:
            assert secret not in text, f"a secret value leaked into {where}"
    assert serve.logs.getvalue(), "serve logged nothing"
