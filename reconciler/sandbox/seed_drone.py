"""Seed normalisation for the ``drone`` section."""

from __future__ import annotations

import copy
import time
from typing import Any

from .seed_bitbucket import resolve_user
from .seedutil import (
    DEFAULT_DRONE_SERVER,
    DEFAULT_DRONE_USER,
    SeedError,
    as_bool,
    as_dict,
    as_int,
    as_list,
    as_perm,
    as_str,
    stable_uuid,
)


def _drone_user(raw: Any, idx: int, bb: dict[str, Any], now: int) -> dict[str, Any]:
    where = f"drone.users[{idx}]"
    u = as_dict(raw, where)
    login = as_str(u.get("login"), f"{where}.login")
    if not login:
        raise SeedError(f"{where}.login: required")
    link = u.get("bitbucket_user")
    repos_raw = u.get("repos")
    if isinstance(repos_raw, list):
        repos = {as_str(s, f"{where}.repos"): "read" for s in repos_raw}
    else:
        repos = {
            as_str(k, f"{where}.repos"): as_perm(v, f"{where}.repos.{k}")
            for k, v in as_dict(repos_raw, f"{where}.repos").items()
        }
    active = as_bool(u.get("active"), f"{where}.active", True)
    return {
        "id": as_int(u.get("id"), f"{where}.id", idx + 1),
        "login": login,
        "email": as_str(u.get("email"), where),
        "machine": as_bool(u.get("machine"), f"{where}.machine"),
        "admin": as_bool(u.get("admin"), f"{where}.admin") and active,
        "active": active,
        "avatar": as_str(u.get("avatar"), where),
        "token": as_str(u.get("token"), f"{where}.token") or stable_uuid(f"token:{login}")[1:33],
        "bitbucket_user": resolve_user(link, bb["users"], f"{where}.bitbucket_user")
        if link
        else None,
        "repos": repos,
        "syncing": False,
        "synced": as_int(u.get("synced"), where, now),
        "created": as_int(u.get("created"), where, now),
        "updated": as_int(u.get("updated"), where, now),
        "last_login": as_int(u.get("last_login"), where, now),
    }


REPO_BOOLS = (
    "trusted",
    "protected",
    "ignore_forks",
    "ignore_pull_requests",
    "auto_cancel_pull_requests",
    "auto_cancel_pushes",
    "auto_cancel_running",
)


def drone_repo_row(
    namespace: str,
    name: str,
    bb_repo: dict[str, Any] | None,
    now: int,
    given: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A Drone repository row as a user sync creates it (SCM fields copied from Bitbucket),
    overlaid with the ``given`` seed fields."""
    given = given or {}
    where = f"drone.repos[{namespace}/{name}]"
    private = bb_repo["is_private"] if bb_repo else True
    link = f"https://bitbucket.org/{namespace}/{name}"
    row: dict[str, Any] = {
        "id": as_int(given.get("id"), f"{where}.id"),
        "uid": as_str(given.get("uid"), where) or (bb_repo["uuid"] if bb_repo else ""),
        "user_id": as_int(given.get("user_id"), f"{where}.user_id"),
        "namespace": namespace,
        "name": name,
        "slug": f"{namespace}/{name}",
        "scm": "",
        "git_http_url": f"{link}.git",
        "git_ssh_url": f"git@bitbucket.org:{namespace}/{name}.git",
        "link": link,
        "default_branch": as_str(given.get("default_branch"), where)
        or (bb_repo["mainbranch"] if bb_repo else "main"),
        "private": as_bool(given.get("private"), where, private),
        "visibility": as_str(given.get("visibility"), where)
        or ("private" if private else "public"),
        "active": as_bool(given.get("active"), f"{where}.active"),
        "config_path": as_str(given.get("config_path"), where),
    }
    for key in REPO_BOOLS:
        row[key] = as_bool(given.get(key), f"{where}.{key}")
    row.update(
        {
            "timeout": as_int(given.get("timeout"), f"{where}.timeout"),
            "throttle": as_int(given.get("throttle"), f"{where}.throttle"),
            "counter": as_int(given.get("counter"), f"{where}.counter"),
            "synced": as_int(given.get("synced"), where, now),
            "created": as_int(given.get("created"), where, now),
            "updated": as_int(given.get("updated"), where, now),
            "version": as_int(given.get("version"), where, 1),
            "archived": as_bool(given.get("archived"), where),
            "signer": as_str(given.get("signer"), f"{where}.signer"),
            "secret": as_str(given.get("secret"), f"{where}.secret"),
        }
    )
    return row


def _repo_ref(item: dict[str, Any], rows: list[dict[str, Any]], where: str) -> int:
    if item.get("repo_id") is not None:
        rid = as_int(item.get("repo_id"), f"{where}.repo_id")
        if not any(r["id"] == rid for r in rows):
            raise SeedError(f"{where}.repo_id: no Drone repo with id {rid}")
        return rid
    slug = as_str(item.get("repo"), f"{where}.repo")
    for r in rows:
        if r["slug"] == slug:
            return int(r["id"])
    raise SeedError(f"{where}.repo: no Drone repo {slug!r}")


def _secret(raw: Any, where: str, rows: list[dict[str, Any]] | None) -> dict[str, Any]:
    s = as_dict(raw, where)
    out: dict[str, Any] = {"id": as_int(s.get("id"), f"{where}.id")}
    if rows is None:
        out["namespace"] = as_str(s.get("namespace"), f"{where}.namespace")
    else:
        out["repo_id"] = _repo_ref(s, rows, where)
    out.update(
        {
            "name": as_str(s.get("name"), f"{where}.name"),
            "data": as_str(s.get("data"), f"{where}.data"),
            "pull_request": as_bool(s.get("pull_request"), where),
            "pull_request_push": as_bool(s.get("pull_request_push"), where),
        }
    )
    return out


def _cron(raw: Any, where: str, rows: list[dict[str, Any]], now: int) -> dict[str, Any]:
    c = as_dict(raw, where)
    return {
        "id": as_int(c.get("id"), f"{where}.id"),
        "repo_id": _repo_ref(c, rows, where),
        "name": as_str(c.get("name"), f"{where}.name"),
        "expr": as_str(c.get("expr"), f"{where}.expr"),
        "next": as_int(c.get("next"), where),
        "prev": as_int(c.get("prev"), where),
        "event": "push",
        "branch": as_str(c.get("branch"), f"{where}.branch"),
        "target": as_str(c.get("target"), where),
        "disabled": as_bool(c.get("disabled"), where),
        "created": as_int(c.get("created"), where),
        "updated": as_int(c.get("updated"), where),
        "version": as_int(c.get("version"), where),
    }


def _fill_ids(items: list[dict[str, Any]]) -> None:
    used = {i["id"] for i in items if i["id"]}
    nxt = max(used, default=0) + 1
    for item in items:
        if not item["id"]:
            item["id"] = nxt
            nxt += 1


def normalise_drone(raw: Any, bb: dict[str, Any]) -> dict[str, Any]:
    d = as_dict(raw, "drone")
    now = int(time.time())
    users = [
        _drone_user(u, i, bb, now) for i, u in enumerate(as_list(d.get("users"), "drone.users"))
    ]
    if not users:
        fallback = dict(DEFAULT_DRONE_USER)
        fallback["bitbucket_user"] = bb["users"][0]["uuid"]
        users = [_drone_user(fallback, 0, bb, now)]
    rows = []
    for i, r in enumerate(as_list(d.get("repos"), "drone.repos")):
        rd = as_dict(r, f"drone.repos[{i}]")
        ns = as_str(rd.get("namespace"), f"drone.repos[{i}].namespace")
        name = as_str(rd.get("name"), f"drone.repos[{i}].name")
        if not ns or not name:
            raise SeedError(f"drone.repos[{i}]: namespace and name are required")
        ws = bb["workspaces"].get(ns)
        bb_repo = ws["repositories"].get(name) if ws else None
        rows.append(drone_repo_row(ns, name, bb_repo, now, rd))
    _fill_ids(rows)
    secrets = [
        _secret(s, f"drone.secrets[{i}]", rows)
        for i, s in enumerate(as_list(d.get("secrets"), "s"))
    ]
    org = [
        _secret(s, f"drone.org_secrets[{i}]", None)
        for i, s in enumerate(as_list(d.get("org_secrets"), "o"))
    ]
    crons = [
        _cron(c, f"drone.cron[{i}]", rows, now) for i, c in enumerate(as_list(d.get("cron"), "c"))
    ]
    for group in (secrets, org, crons):
        _fill_ids(group)
    builds = [
        copy.deepcopy(as_dict(b, "drone.builds")) for b in as_list(d.get("builds"), "drone.builds")
    ]
    server = as_str(d.get("server"), "drone.server", DEFAULT_DRONE_SERVER).rstrip("/")
    if not server.startswith(("http://", "https://")):
        raise SeedError("drone.server: an absolute http(s) URL is required")
    return {
        "server": server,
        "users": users,
        "repos": rows,
        "secrets": secrets,
        "org_secrets": org,
        "cron": crons,
        "builds": builds,
    }
