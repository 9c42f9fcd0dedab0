"""Drone 2.x API: current user, repositories (sync, activation, settings, repair, chown), users,
health and version (drone/API.md sections 3.1, 3.6, 3.7, 3.10)."""

from __future__ import annotations

import copy
import re
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Response

from . import dronecore as core
from .dronecore import GoDecodeError, error, go_decode, reply
from .seed import drone_repo_row
from .web import BadJson, Ctx, read_json

_PATCH_SPEC = {
    "visibility": "string",
    "config_path": "string",
    "trusted": "bool",
    "protected": "bool",
    "ignore_forks": "bool",
    "ignore_pull_requests": "bool",
    "auto_cancel_pull_requests": "bool",
    "auto_cancel_pushes": "bool",
    "auto_cancel_running": "bool",
    "timeout": "int64",
    "throttle": "int64",
    "counter": "int64",
}
SYSADMIN_ONLY = ("trusted", "timeout", "throttle", "counter")
_LOGIN = re.compile(r"^[.a-zA-Z0-9_-]+$")


def _body(ctx: Ctx, spec: dict[str, str], struct: str) -> dict[str, Any] | Response:
    try:
        return go_decode(read_json(ctx.request), spec, struct)
    except (BadJson, GoDecodeError) as exc:
        return error(400, str(exc))


def _visible_rows(ctx: Ctx, user: dict[str, Any]) -> list[dict[str, Any]]:
    rows = ctx.state.drone["repos"]
    if not user["admin"]:
        rows = [r for r in rows if core.perm_level(ctx.state, user, r)]
    return sorted(rows, key=lambda r: r["slug"])


def _sync(ctx: Ctx, user: dict[str, Any]) -> None:
    """Copy the Bitbucket repositories the linked account can see into repo rows; existing
    rows only get their SCM fields refreshed (Drone settings are never overwritten)."""
    link = user["bitbucket_user"]
    if not link:
        return
    state = ctx.state
    for ws_slug, ws in state.bitbucket["workspaces"].items():
        for slug, repo in ws["repositories"].items():
            if state.granted_permission(ws, repo, link) is None:
                continue
            row = state.drone_repo(ws_slug, slug)
            if row is None:
                fresh = drone_repo_row(ws_slug, slug, repo, core.now())
                fresh["id"] = state.next_id(state.drone["repos"])
                state.drone["repos"].append(fresh)
            else:
                row.update(
                    private=repo["is_private"],
                    default_branch=repo["mainbranch"],
                    uid=repo["uuid"],
                    synced=core.now(),
                )
    user["synced"] = core.now()


def user_self(ctx: Ctx, args: dict[str, str]) -> Response:
    user = core.caller(ctx)
    if user is None:
        return error(401, "Unauthorized")
    return reply(core.user_json(user))


def user_repos(ctx: Ctx, args: dict[str, str]) -> Response:
    user = core.caller(ctx)
    if user is None:
        return error(401, "Unauthorized")
    if ctx.request.method == "POST":
        _sync(ctx, user)
        if ctx.request.args.get("async") == "true":
            return Response(b"", status=204)
    return reply([core.repo_json(r) for r in _visible_rows(ctx, user)])


def all_repos(ctx: Ctx, args: dict[str, str]) -> Response:
    user = core.require_admin(ctx)
    if isinstance(user, Response):
        return user
    try:
        page = max(int(ctx.request.args.get("page", 1)), 1)
        per_page = int(ctx.request.args.get("per_page", 25))
    except ValueError:
        return error(400, "strconv.Atoi: parsing: invalid syntax")
    rows = sorted(ctx.state.drone["repos"], key=lambda r: r["id"])
    start = (page - 1) * per_page
    return reply([core.repo_json(r) for r in rows[start : start + per_page]])


def _activate(ctx: Ctx, user: dict[str, Any], row: dict[str, Any]) -> Response:
    staged = copy.deepcopy(row)
    staged["active"] = True
    staged["user_id"] = user["id"]
    staged["config_path"] = staged["config_path"] or ".drone.yml"
    staged["timeout"] = staged["timeout"] or 60
    staged["signer"] = staged["signer"] or core.random_token()
    staged["secret"] = staged["secret"] or core.random_token()
    failure = core.install_hook(ctx.state, staged, user)
    if failure:
        return error(500, failure)
    staged["updated"] = core.now()
    staged["version"] += 1
    row.update(staged)
    return reply(core.repo_json(row))


def _patch(ctx: Ctx, user: dict[str, Any], row: dict[str, Any]) -> Response:
    changes = _body(ctx, _PATCH_SPEC, "repos.repositoryInput")
    if isinstance(changes, Response):
        return changes
    if not user["admin"]:
        for key in SYSADMIN_ONLY:
            changes.pop(key, None)
    row.update(changes)
    row["updated"] = core.now()
    row["version"] += 1
    return reply(core.repo_json(row))


def _delete(ctx: Ctx, row: dict[str, Any]) -> Response:
    row["active"] = False
    row["updated"] = core.now()
    row["version"] += 1
    body = core.repo_json(row)
    if ctx.request.args.get("remove") == "true":
        drone = ctx.state.drone
        drone["repos"].remove(row)
        drone["secrets"] = [s for s in drone["secrets"] if s["repo_id"] != row["id"]]
        drone["cron"] = [c for c in drone["cron"] if c["repo_id"] != row["id"]]
    return reply(body)


def repo(ctx: Ctx, args: dict[str, str]) -> Response:
    method = ctx.request.method
    got = core.repo_access(ctx, args, "read" if method == "GET" else "admin")
    if isinstance(got, Response):
        return got
    user, row = got
    if method == "GET":
        return reply(core.repo_json(row, core.perms_json(ctx.state, user, row)))
    assert user is not None
    if method == "POST":
        return _activate(ctx, user, row)
    if method == "PATCH":
        return _patch(ctx, user, row)
    return _delete(ctx, row)


def repair(ctx: Ctx, args: dict[str, str]) -> Response:
    got = core.repo_access(ctx, args, "admin")
    if isinstance(got, Response):
        return got
    _user, row = got
    owner = ctx.state.drone_user_by_id(row["user_id"])
    found = ctx.state.bb_repo_for(row)
    if owner is None or found is None:
        return error(404, core.NO_ROWS if owner is None else "Not Found")
    bb_repo = found[1]
    row.update(private=bb_repo["is_private"], default_branch=bb_repo["mainbranch"])
    failure = core.install_hook(ctx.state, row, owner)
    if failure:
        return error(500, failure)
    row["updated"] = core.now()
    row["version"] += 1
    return reply(core.repo_json(row))


def chown(ctx: Ctx, args: dict[str, str]) -> Response:
    got = core.repo_access(ctx, args, "admin")
    if isinstance(got, Response):
        return got
    user, row = got
    assert user is not None
    row["user_id"] = user["id"]
    row["version"] += 1
    return reply(core.repo_json(row))


# -- users (system admin) ----------------------------------------------------------------------


def _find_user(ctx: Ctx, login: str) -> dict[str, Any] | None:
    users: list[dict[str, Any]] = ctx.state.drone["users"]
    hit = next((u for u in users if u["login"].lower() == login.lower()), None)
    if hit is None and login.isdigit():
        hit = ctx.state.drone_user_by_id(int(login))
    return hit


def users(ctx: Ctx, args: dict[str, str]) -> Response:
    admin = core.require_admin(ctx)
    if isinstance(admin, Response):
        return admin
    everyone = ctx.state.drone["users"]
    if ctx.request.method == "GET":
        return reply([core.user_json(u) for u in sorted(everyone, key=lambda u: u["login"])])
    spec = {
        "login": "string",
        "email": "string",
        "admin": "bool",
        "machine": "bool",
        "token": "string",
    }
    body = _body(ctx, spec, "users.userInput")
    if isinstance(body, Response):
        return body
    login = body.get("login", "")
    if not 1 <= len(login.encode()) <= 50:
        return error(400, "Invalid username length")
    if not _LOGIN.match(login):
        return error(400, "Invalid character in username")
    if any(u["login"].lower() == login.lower() for u in everyone):
        return error(500, "UNIQUE constraint failed: users.user_login")
    token = body.get("token") or core.random_token()
    if any(u["token"] == token for u in everyone):
        return error(500, "UNIQUE constraint failed: users.user_hash")
    machine = body.get("machine", False)
    link = None
    email = ""
    if not machine:
        for bb in ctx.state.bitbucket["users"]:
            if bb["nickname"].lower() == login.lower():
                link, email, login = bb["uuid"], bb["email"] or "", bb["nickname"]
    ts = core.now()
    user = {
        "id": ctx.state.next_id(everyone),
        "login": login,
        "email": email,
        "machine": machine,
        "admin": body.get("admin", False),
        "active": True,
        "avatar": "",
        "token": token,
        "bitbucket_user": link,
        "repos": {},
        "syncing": False,
        "synced": 0,
        "created": ts,
        "updated": ts,
        "last_login": 0,
    }
    everyone.append(user)
    return reply(core.user_json(user, with_token=machine))


def user(ctx: Ctx, args: dict[str, str]) -> Response:
    admin = core.require_admin(ctx)
    if isinstance(admin, Response):
        return admin
    target = _find_user(ctx, args["login"])
    if target is None:
        return error(404, core.NO_ROWS)
    method = ctx.request.method
    if method == "DELETE":
        for row in ctx.state.drone["repos"]:
            if row["user_id"] == target["id"]:
                row["user_id"] = 0
        ctx.state.drone["users"].remove(target)
        return Response(b"", status=204)
    if method == "PATCH":
        body = _body(ctx, {"admin": "bool", "active": "bool"}, "users.userInput")
        if isinstance(body, Response):
            return body
        target.update(body)
        if not target["active"]:
            target["admin"] = False
            for row in ctx.state.drone["repos"]:
                if row["user_id"] == target["id"]:
                    row["user_id"] = 0
        target["updated"] = core.now()
    return reply(core.user_json(target))


def healthz(ctx: Ctx, args: dict[str, str]) -> Response:
    return Response("OK", content_type="text/plain")


def version(ctx: Ctx, args: dict[str, str]) -> Response:
    return reply(
        {
            "source": "https://github.com/harness/drone.git",
            "version": "2.25.0",
            "commit": "c32df38e62b39a78d2fc1a6163b9f223320bf7b9",
        }
    )


def rules() -> list[Rule]:
    api = "/drone/api"
    repo_path = f"{api}/repos/<owner>/<name>"
    return [
        Rule("/drone/healthz", endpoint=healthz, methods=["GET"]),
        Rule("/drone/version", endpoint=version, methods=["GET"]),
        Rule(f"{api}/user", endpoint=user_self, methods=["GET"]),
        Rule(f"{api}/user/repos", endpoint=user_repos, methods=["GET", "POST"]),
        Rule(f"{api}/repos", endpoint=all_repos, methods=["GET"]),
        Rule(repo_path, endpoint=repo, methods=["GET", "POST", "PATCH", "DELETE"]),
        Rule(f"{repo_path}/repair", endpoint=repair, methods=["POST"]),
        Rule(f"{repo_path}/chown", endpoint=chown, methods=["POST"]),
        Rule(f"{api}/users", endpoint=users, methods=["GET", "POST"]),
        Rule(f"{api}/users/<login>", endpoint=user, methods=["GET", "PATCH", "DELETE"]),
    ]
