"""Drone repository secrets and organization secrets (drone/API.md 3.2, 3.3).

Values are write-only; JSON is omit-empty; duplicates fail on the database's unique constraint
with a 500; on Bitbucket only system admins (or a user whose login equals the namespace) pass the
organization-membership check, everyone else gets 401 ``Forbidden``.
"""

from __future__ import annotations

import re
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Response

from . import dronecore as core
from .dronecore import GoDecodeError, error, go_decode, reply
from .web import BadJson, Ctx, read_json

_NAME = re.compile(r"^[A-Za-z0-9._-]+$")
_CREATE = {
    "name": "string",
    "data": "string",
    "type": "string",
    "pull_request": "bool",
    "pull_request_push": "bool",
}
_UPDATE = {"data": "string", "pull_request": "bool", "pull_request_push": "bool"}


def _decode(ctx: Ctx, spec: dict[str, str]) -> dict[str, Any] | Response:
    try:
        return go_decode(read_json(ctx.request), spec, "secrets.secretInput")
    except (BadJson, GoDecodeError) as exc:
        return error(400, str(exc))


def _invalid(secret: dict[str, Any]) -> Response | None:
    if not secret["name"] or not _NAME.match(secret["name"]):
        return error(400, "Invalid Secret Name")
    if not secret["data"]:
        return error(400, "Invalid Secret Value")
    return None


def _create(
    ctx: Ctx, items: list[dict[str, Any]], owner: dict[str, Any], unique: str, same: Any
) -> Response:
    body = _decode(ctx, _CREATE)
    if isinstance(body, Response):
        return body
    secret = {
        "id": 0,
        **owner,
        "name": body.get("name", ""),
        "data": body.get("data", ""),
        "pull_request": body.get("pull_request", False),
        "pull_request_push": body.get("pull_request_push", False),
    }
    bad = _invalid(secret)
    if bad:
        return bad
    if any(same(s, secret["name"]) for s in items):
        return error(500, f"UNIQUE constraint failed: {unique}")
    secret["id"] = ctx.state.next_id(items)
    items.append(secret)
    return reply(core.secret_json(secret))


def _one(ctx: Ctx, secret: dict[str, Any] | None, items: list[dict[str, Any]]) -> Response:
    if secret is None:
        return error(404, core.NO_ROWS)
    method = ctx.request.method
    if method == "DELETE":
        items.remove(secret)
        return Response(b"", status=204)
    if method in ("PATCH", "POST"):
        body = _decode(ctx, _UPDATE)
        if isinstance(body, Response):
            return body
        merged = {**secret, **body}
        bad = _invalid(merged)
        if bad:
            return bad
        secret.update(body)
    return reply(core.secret_json(secret))


# -- repository secrets ------------------------------------------------------------------------


def _repo_items(ctx: Ctx, row: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in ctx.state.drone["secrets"] if s["repo_id"] == row["id"]]


def repo_secrets(ctx: Ctx, args: dict[str, str]) -> Response:
    got = core.repo_access(ctx, args, "write")
    if isinstance(got, Response):
        return got
    row = got[1]
    if ctx.request.method == "GET":
        mine = sorted(_repo_items(ctx, row), key=lambda s: s["name"])
        return reply([core.secret_json(s) for s in mine])
    return _create(
        ctx,
        ctx.state.drone["secrets"],
        {"repo_id": row["id"]},
        "secrets.secret_repo_id, secrets.secret_name",
        lambda s, name: s["repo_id"] == row["id"] and s["name"] == name,
    )


def repo_secret(ctx: Ctx, args: dict[str, str]) -> Response:
    got = core.repo_access(ctx, args, "write")
    if isinstance(got, Response):
        return got
    hit = next((s for s in _repo_items(ctx, got[1]) if s["name"] == args["secret"]), None)
    return _one(ctx, hit, ctx.state.drone["secrets"])


# -- organization secrets ----------------------------------------------------------------------


def _member(ctx: Ctx, namespace: str) -> Response | None:
    user = core.caller(ctx)
    if user is None:
        return error(401, "Unauthorized")
    if user["admin"] or user["login"] == namespace:
        return None
    # go-scm v1.28.0 has no Bitbucket membership lookup: the check fails this way.
    return error(401, "Forbidden")


def _org_items(ctx: Ctx, namespace: str) -> list[dict[str, Any]]:
    return [
        s for s in ctx.state.drone["org_secrets"] if s["namespace"].lower() == namespace.lower()
    ]


def all_org_secrets(ctx: Ctx, args: dict[str, str]) -> Response:
    admin = core.require_admin(ctx)
    if isinstance(admin, Response):
        return admin
    items = sorted(ctx.state.drone["org_secrets"], key=lambda s: (s["namespace"], s["name"]))
    return reply([core.secret_json(s) for s in items])


def org_secrets(ctx: Ctx, args: dict[str, str]) -> Response:
    ns = args["namespace"]
    denied = _member(ctx, ns)
    if denied:
        return denied
    if ctx.request.method == "GET":
        return reply(
            [core.secret_json(s) for s in sorted(_org_items(ctx, ns), key=lambda s: s["name"])]
        )
    return _create(
        ctx,
        ctx.state.drone["org_secrets"],
        {"namespace": ns},
        "orgsecrets.secret_namespace, orgsecrets.secret_name",
        lambda s, name: s["namespace"].lower() == ns.lower() and s["name"].lower() == name.lower(),
    )


def org_secret(ctx: Ctx, args: dict[str, str]) -> Response:
    ns = args["namespace"]
    denied = _member(ctx, ns)
    if denied:
        return denied
    name = args["secret"].lower()
    hit = next((s for s in _org_items(ctx, ns) if s["name"].lower() == name), None)
    return _one(ctx, hit, ctx.state.drone["org_secrets"])


def rules() -> list[Rule]:
    repo = "/drone/api/repos/<owner>/<name>/secrets"
    org = "/drone/api/secrets"
    return [
        Rule(repo, endpoint=repo_secrets, methods=["GET", "POST"]),
        Rule(f"{repo}/<secret>", endpoint=repo_secret, methods=["GET", "PATCH", "DELETE"]),
        Rule(org, endpoint=all_org_secrets, methods=["GET"]),
        Rule(f"{org}/<namespace>", endpoint=org_secrets, methods=["GET", "POST"]),
        Rule(
            f"{org}/<namespace>/<secret>",
            endpoint=org_secret,
            methods=["GET", "PATCH", "POST", "DELETE"],
        ),
    ]
