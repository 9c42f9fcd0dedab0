"""The sandbox's in-memory world: one JSON document (the seed format) behind one lock.

Every handler that reads or mutates ``data`` holds ``lock`` for its whole run, so each API call
is atomic. Slow work (latency faults, outbound webhook deliveries) happens outside the lock.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

from .seed import PERM_RANK, normalise

MAX_LOG = 200_000


class SandboxState:
    """Live state plus the request and delivery logs (the logs are not part of the document)."""

    def __init__(self, seed: dict[str, Any] | None = None) -> None:
        self.lock = threading.RLock()
        self._initial = normalise(seed)
        self.data: dict[str, Any] = copy.deepcopy(self._initial)
        self.requests: list[dict[str, Any]] = []
        self.deliveries: list[dict[str, Any]] = []
        self.drone_hooks: list[dict[str, Any]] = []

    # -- whole document ------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(self.data)

    def replace(self, seed: dict[str, Any]) -> dict[str, Any]:
        """Swap in a new document (validated first, so a bad one leaves the old state)."""
        fresh = normalise(seed)
        with self.lock:
            self.data = fresh
            return copy.deepcopy(fresh)

    def reset(self) -> None:
        with self.lock:
            self.data = copy.deepcopy(self._initial)
            self.requests.clear()
            self.deliveries.clear()
            self.drone_hooks.clear()

    @property
    def bitbucket(self) -> dict[str, Any]:
        result: dict[str, Any] = self.data["bitbucket"]
        return result

    @property
    def drone(self) -> dict[str, Any]:
        result: dict[str, Any] = self.data["drone"]
        return result

    def log_request(self, entry: dict[str, Any]) -> None:
        with self.lock:
            if len(self.requests) >= MAX_LOG:
                del self.requests[: MAX_LOG // 10]
            self.requests.append(entry)

    # -- Bitbucket lookups ---------------------------------------------------------------------

    def bb_user(self, ref: str | None) -> dict[str, Any] | None:
        """A Bitbucket account by ``{uuid}`` (braces optional) or account_id."""
        if not ref:
            return None
        bare = ref.strip("{}").lower()
        for u in self.bitbucket["users"]:
            if u["uuid"].strip("{}").lower() == bare or u["account_id"] == ref:
                return dict(u)
        return None

    def workspace(self, ref: str) -> tuple[str, dict[str, Any]] | None:
        wss: dict[str, Any] = self.bitbucket["workspaces"]
        if ref in wss:
            return ref, wss[ref]
        bare = ref.strip("{}").lower()
        for slug, ws in wss.items():
            if ws["uuid"].strip("{}").lower() == bare:
                return slug, ws
        return None

    @staticmethod
    def repository(ws: dict[str, Any], ref: str) -> tuple[str, dict[str, Any]] | None:
        repos: dict[str, Any] = ws["repositories"]
        if ref in repos:
            return ref, repos[ref]
        bare = ref.strip("{}").lower()
        for slug, repo in repos.items():
            if repo["uuid"].strip("{}").lower() == bare:
                return slug, repo
        return None

    @staticmethod
    def is_member(ws: dict[str, Any], uuid: str) -> bool:
        if uuid in ws["owners"]:
            return True
        if any(uuid in members for members in ws["members"].values()):
            return True
        return any(
            uuid in r["admins"] or uuid in r["permissions"]["users"]
            for r in ws["repositories"].values()
        )

    @staticmethod
    def granted_permission(ws: dict[str, Any], repo: dict[str, Any], uuid: str) -> str | None:
        """Highest of owner, inherited admin, explicit user grant and group grants."""
        if uuid in ws["owners"] or uuid in repo["admins"]:
            return "admin"
        best = repo["permissions"]["users"].get(uuid, "none")
        for group, perm in repo["permissions"]["groups"].items():
            if uuid in ws["members"].get(group, []) and PERM_RANK[perm] > PERM_RANK[best]:
                best = perm
        return None if best == "none" else str(best)

    def access(self, ws: dict[str, Any], repo: dict[str, Any], uuid: str | None) -> str | None:
        """What a caller may do: grants, or read on a public repository."""
        granted = self.granted_permission(ws, repo, uuid) if uuid else None
        if granted is None and not repo["is_private"]:
            return "read"
        return granted

    @staticmethod
    def resolve_commit(repo: dict[str, Any], ref: str) -> dict[str, Any] | None:
        """A known commit by full or abbreviated hash (unique prefix), or by branch name."""
        ref = ref.lower()
        head = repo["branches"].get(ref)
        if head:
            ref = head
        if len(ref) < 4:
            return None
        hits = [c for c in repo["commits"] if c["hash"].startswith(ref)]
        return hits[0] if len(hits) == 1 else None

    @staticmethod
    def add_commit(
        repo: dict[str, Any],
        full_hash: str,
        *,
        message: str = "Sandbox commit\n",
        author: str | None = None,
        branch: str | None = None,
        date: str = "",
    ) -> dict[str, Any]:
        for c in repo["commits"]:
            if c["hash"] == full_hash:
                return dict(c)
        from .seed import iso_now

        commit = {
            "hash": full_hash,
            "message": message,
            "date": date or iso_now(),
            "author": author,
            "branch": branch,
        }
        repo["commits"].append(commit)
        return commit

    # -- Drone lookups -------------------------------------------------------------------------

    def drone_user_by_token(self, token: str) -> dict[str, Any] | None:
        if not token:
            return None
        for u in self.drone["users"]:
            if u["token"] == token:
                user: dict[str, Any] = u
                return user
        return None

    def drone_user_by_id(self, uid: int) -> dict[str, Any] | None:
        for u in self.drone["users"]:
            if u["id"] == uid:
                user: dict[str, Any] = u
                return user
        return None

    def drone_repo(self, namespace: str, name: str) -> dict[str, Any] | None:
        for r in self.drone["repos"]:
            if r["namespace"] == namespace and r["name"] == name:
                row: dict[str, Any] = r
                return row
        return None

    def bb_repo_for(self, row: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """The Bitbucket workspace and repository behind a Drone repository row."""
        found = self.workspace(row["namespace"])
        if not found:
            return None
        ws = found[1]
        hit = self.repository(ws, row["name"])
        return (ws, hit[1]) if hit else None

    @staticmethod
    def next_id(items: list[dict[str, Any]], key: str = "id") -> int:
        return max((int(i[key]) for i in items), default=0) + 1
