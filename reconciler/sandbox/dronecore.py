"""Drone helpers: token auth, the permission checks of ``handler/api/acl``, Go-style JSON
decoding, response shapes, and the Bitbucket hook that activation and repair install."""

from __future__ import annotations

import secrets
import string
import time
from typing import Any
from urllib.parse import urlsplit

from werkzeug.wrappers import Response

from .bbhooks import new_hook
from .hookevents import DRONE_HOOK_EVENTS
from .seed import PERM_RANK
from .state import SandboxState
from .web import Ctx, json_response

NO_ROWS = "sql: no rows in result set"


def reply(data: Any, status: int = 200) -> Response:
    """Drone writes one JSON value followed by a newline."""
    return json_response(data, status, newline=True)


def error(status: int, message: str) -> Response:
    return reply({"message": message}, status)


def random_token(length: int = 32) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


def now() -> int:
    return int(time.time())


def caller(ctx: Ctx) -> dict[str, Any] | None:
    """The Drone user for the token in ``Authorization`` (``Bearer`` optional) or
    ``?access_token=``; an unknown token is a guest, never a 401 by itself."""
    header = ctx.request.headers.get("Authorization", "")
    token = header[7:] if header.startswith("Bearer ") else header
    if not header:
        token = ctx.request.args.get("access_token", "")
    return ctx.state.drone_user_by_token(token.strip())


# -- permissions ------------------------------------------------------------------------------


def perm_level(state: SandboxState, user: dict[str, Any], row: dict[str, Any]) -> str | None:
    """The user's permission row for a repo: explicit ``repos`` entry, else the linked
    Bitbucket account's effective permission (what a Drone sync copies from the SCM)."""
    if row["slug"] in user["repos"]:
        return str(user["repos"][row["slug"]])
    if user["bitbucket_user"]:
        found = state.bb_repo_for(row)
        if found:
            return state.granted_permission(found[0], found[1], user["bitbucket_user"])
    return None


def perms_json(
    state: SandboxState, user: dict[str, Any] | None, row: dict[str, Any]
) -> dict[str, bool]:
    if user is not None and user["admin"]:
        return {"read": True, "write": True, "admin": True}
    level = perm_level(state, user, row) if user else None
    rank = PERM_RANK[level or "none"]
    return {"read": rank >= 1, "write": rank >= 2, "admin": rank >= 3}


def repo_access(
    ctx: Ctx, args: dict[str, str], need: str
) -> tuple[dict[str, Any] | None, dict[str, Any]] | Response:
    """Load ``{owner}/{name}`` and check ``need`` (read|write|admin): 401 for guests, 404 for
    users without access (Drone hides existence), 403 for inactive users."""
    user = caller(ctx)
    row = ctx.state.drone_repo(args["owner"], args["name"])
    if row is None:
        return error(401, "Unauthorized") if user is None else error(404, "Not Found")
    if user is None:
        if need == "read" and row["visibility"] == "public":
            return None, row
        return error(401, "Unauthorized")
    if not user["active"]:
        return error(403, "Forbidden")
    if user["admin"]:
        return user, row
    if need == "read" and row["visibility"] in ("public", "internal"):
        return user, row
    level = perm_level(ctx.state, user, row) or "none"
    if PERM_RANK[level] < PERM_RANK[need]:
        return error(404, "Not Found")
    return user, row


def require_admin(ctx: Ctx) -> dict[str, Any] | Response:
    user = caller(ctx)
    if user is None:
        return error(401, "Unauthorized")
    if not user["admin"]:
        return error(403, "Forbidden")
    return user


# -- Go-style JSON decoding -------------------------------------------------------------------


class GoDecodeError(ValueError):
    pass


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, str):
        return "string"
    if isinstance(value, int | float):
        return f"number {value}"
    return "array" if isinstance(value, list) else "object"


def _fits(value: Any, gotype: str) -> bool:
    if gotype == "bool":
        return isinstance(value, bool)
    if gotype == "string":
        return isinstance(value, str)
    return isinstance(value, int) and not isinstance(value, bool)


def go_decode(
    body: Any, spec: dict[str, str], struct: str, *, lenient: bool = False
) -> dict[str, Any]:
    """Decode like ``encoding/json`` into a struct of pointer fields: unknown keys ignored,
    key matching case-insensitive, ``null`` = absent. A type mismatch is an error unless
    ``lenient`` (the caller ignores decode errors), in which case that field is skipped."""
    if body is None:  # JSON null decodes into a struct as "no fields"
        return {}
    if not isinstance(body, dict):
        raise GoDecodeError(
            f"json: cannot unmarshal {_kind(body).split(' ')[0]} into Go value of type {struct}"
        )
    lowered = {k.lower(): k for k in body}
    out: dict[str, Any] = {}
    for key, gotype in spec.items():
        actual = key if key in body else lowered.get(key.lower())
        if actual is None or body[actual] is None:
            continue
        value = body[actual]
        if not _fits(value, gotype):
            if lenient:
                continue
            raise GoDecodeError(
                f"json: cannot unmarshal {_kind(value)} into Go struct field "
                f"{struct.rsplit('.', maxsplit=1)[-1]}.{key} of type {gotype}"
            )
        out[key] = value
    return out


# -- shapes -----------------------------------------------------------------------------------

_REPO_KEYS = (
    "id",
    "uid",
    "user_id",
    "namespace",
    "name",
    "slug",
    "scm",
    "git_http_url",
    "git_ssh_url",
    "link",
    "default_branch",
    "private",
    "visibility",
    "active",
    "config_path",
    "trusted",
    "protected",
    "ignore_forks",
    "ignore_pull_requests",
    "auto_cancel_pull_requests",
    "auto_cancel_pushes",
    "auto_cancel_running",
    "timeout",
    "throttle",
    "counter",
    "synced",
    "created",
    "updated",
    "version",
    "archived",
)


def repo_json(row: dict[str, Any], perms: dict[str, bool] | None = None) -> dict[str, Any]:
    """Repository JSON: ``throttle`` is omit-empty; signer and secret are never serialised."""
    out = {k: row[k] for k in _REPO_KEYS}
    if not out["throttle"]:
        del out["throttle"]
    if perms is not None:
        out["permissions"] = perms
    return out


def user_json(user: dict[str, Any], *, with_token: bool = False) -> dict[str, Any]:
    keys = (
        "id",
        "login",
        "email",
        "machine",
        "admin",
        "active",
        "avatar",
        "syncing",
        "synced",
        "created",
        "updated",
        "last_login",
    )
    out = {k: user[k] for k in keys}
    if with_token:
        out["token"] = user["token"]
    return out


def secret_json(secret: dict[str, Any]) -> dict[str, Any]:
    """Every Secret field is omit-empty, and ``data`` never leaves the server."""
    keys = ("id", "repo_id", "namespace", "name", "pull_request", "pull_request_push")
    return {k: secret[k] for k in keys if secret.get(k)}


def cron_json(cron: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "id",
        "repo_id",
        "name",
        "expr",
        "next",
        "prev",
        "event",
        "branch",
        "target",
        "disabled",
        "created",
        "updated",
        "version",
    )
    out = {k: cron[k] for k in keys}
    if not out["target"]:
        del out["target"]
    return out


# -- the Drone hook on Bitbucket ---------------------------------------------------------------


def drone_host(state: SandboxState) -> str:
    return str(urlsplit(state.drone["server"]).netloc).lower()


def install_hook(state: SandboxState, row: dict[str, Any], actor: dict[str, Any]) -> str | None:
    """What go-scm does at activation and repair: delete the first hook (of one page of 100)
    whose URL host is Drone's host, then create ``drone`` with ``?secret=<signer>``.
    Returns an error message (Drone answers 500) or None."""
    if actor["machine"]:
        return "Unauthorized"
    found = state.bb_repo_for(row)
    if found is None:
        return "Not Found"
    ws, repo = found
    if actor["bitbucket_user"]:
        level = state.granted_permission(ws, repo, actor["bitbucket_user"])
        if level != "admin":
            return "You do not have admin access to this repository."
    hooks: list[dict[str, Any]] = repo["hooks"]
    host = drone_host(state)
    for hook in hooks[:100]:
        if urlsplit(hook["url"]).netloc.lower() == host:
            hooks.remove(hook)
            break
    url = f"{state.drone['server']}/hook?secret={row['signer']}"
    hooks.append(new_hook(url=url, description="drone", events=list(DRONE_HOOK_EVENTS)))
    return None
