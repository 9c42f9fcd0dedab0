"""Real parts for the GitOps-loop tests: a git config repository (bare + working clone), the
sandbox with the example seed plus the config repository `acme/config`, and polling helpers.
Nothing of ours is mocked; everything talks over 127.0.0.1."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import git
import requests

from reconciler.commands.demo import DEMO_SECRETS
from reconciler.sandbox import EXAMPLE_SEED, load_seed
from tests.conftest import EXAMPLE

T = TypeVar("T")

CONFIG = "acme/config"
ME = "{5b3c1a2e-0000-4000-8000-00000000000a}"  # the API caller of the example seed
WEBHOOK_SECRET = "whsec-canary-8d41c7e2"  # a canary: must never appear in output
DOCKER_PASSWORD = "docker-password-canary-51ab"
HOOK_EVENTS = ["repo:push", "pullrequest:created", "pullrequest:updated", "pullrequest:fulfilled"]


def secrets_env() -> dict[str, str]:
    """The values desired-state/ references, with canaries where a leak would matter."""
    return {**DEMO_SECRETS, "DOCKER_PASSWORD": DOCKER_PASSWORD}


def wait_until(check: Callable[[], T | None], *, what: str, timeout: float = 20.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


class ConfigGit:
    """The config repository: `bare` is what serve clones; `work` is where a human commits."""

    def __init__(self, root: Path) -> None:
        self.bare = root / "config.git"
        self.work_dir = root / "work"
        git.Repo.init(self.bare, bare=True, initial_branch="main").close()
        self.repo = git.Repo.clone_from(str(self.bare), self.work_dir)
        self.repo.git.config("user.email", "dev@acme.example")
        self.repo.git.config("user.name", "Dev")
        self.repo.git.checkout("-b", "main")
        shutil.copytree(EXAMPLE, self.work_dir / "desired-state")
        self.commit("Initial desired state")
        self.push("main")

    @property
    def desired(self) -> Path:
        return self.work_dir / "desired-state"

    def close(self) -> None:
        self.repo.close()

    def edit(self, relative: str, old: str, new: str) -> None:
        path = self.desired / relative
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {relative}"
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    def commit(self, message: str) -> str:
        self.repo.git.add("-A")
        self.repo.git.commit("-m", message)
        return self.head()

    def head(self) -> str:
        return str(self.repo.head.commit.hexsha)

    def push(self, branch: str) -> None:
        self.repo.git.push("origin", f"{branch}:{branch}", "--force")

    def switch(self, branch: str, *, create: bool = False) -> None:
        self.repo.git.checkout(*(["-b", branch] if create else [branch]))

    def merge(self, branch: str) -> str:
        self.repo.git.merge("--no-ff", "-m", f"Merge {branch}", branch)
        return self.head()


def config_repo_seed(*, main: str) -> dict[str, Any]:
    """The example seed plus the config repository (which desired-state/ does not manage)."""
    seed = load_seed(EXAMPLE_SEED)
    repos = seed["bitbucket"]["workspaces"]["acme"]["repositories"]
    repos["config"] = {
        "description": "Desired state of the acme workspace",
        "admins": [ME],
        "branches": {"main": main},
    }
    return seed


@dataclass
class Box:
    """The sandbox's control API, and the events a developer's actions make Bitbucket send."""

    url: str

    def control(self, method: str, path: str, body: Any = None) -> Any:
        response = requests.request(method, f"{self.url}/_sandbox/{path}", json=body, timeout=60)
        response.raise_for_status()
        return response.json() if response.content.strip() else None

    def state(self) -> dict[str, Any]:
        result: dict[str, Any] = self.control("GET", "state")
        return result

    def repo(self, slug: str) -> dict[str, Any]:
        result: dict[str, Any] = self.state()["bitbucket"]["workspaces"]["acme"]["repositories"][
            slug
        ]
        return result

    def comments(self, pr: int) -> list[dict[str, Any]]:
        found = [p for p in self.repo("config")["pullrequests"] if p["id"] == pr]
        return list(found[0]["comments"]) if found else []

    def status(self, commit: str, key: str) -> dict[str, Any] | None:
        for status in self.repo("config")["statuses"]:
            if status["commit"] == commit and status["key"] == key:
                return dict(status)
        return None

    def writes(self) -> list[dict[str, Any]]:
        return list(self.control("GET", "requests?writes=true"))

    def pull_request(self, pr: int, action: str, *, source: str = "", main: str = "") -> Any:
        body: dict[str, Any] = {"repo": CONFIG, "id": pr, "action": action}
        if source:
            body |= {"source_branch": f"feature-{pr}", "source_hash": source}
        if main:
            body |= {"destination_branch": "main", "destination_hash": main}
        if action == "created":
            body["title"] = f"Change {pr}"
        return self.control("POST", "events/pullrequest", body)

    def push(self, commit: str, *, branch: str = "main") -> Any:
        return self.control(
            "POST", "events/push", {"repo": CONFIG, "branch": branch, "hash": commit}
        )
