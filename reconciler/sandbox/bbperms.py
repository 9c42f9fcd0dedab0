"""Bitbucket repository permissions: explicit ``permissions-config`` grants (API.md 5.1) and the
effective, read-only listings (5.3)."""

from __future__ import annotations

from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Response

from . import bbshapes as shapes
from .bbauth import Principal, login
from .bbrepo import RepoFound, query, resolve_repo, resolve_workspace
from .seed import PERMISSIONS
from .web import BadJson, Ctx, bb_error, bb_json, bb_page, empty, read_json

_SCOPES = {
    "GET": ("read:repository:bitbucket",),
    "PUT": ("admin:repository:bitbucket", "write:permission:bitbucket"),
    "DELETE": ("admin:repository:bitbucket", "delete:permission:bitbucket"),
}


def _caller(ctx: Ctx) -> Principal | Response:
    method = ctx.request.method
    principal = login(ctx, legacy="repository:admin", new=_SCOPES[method])
    if isinstance(principal, Response):
        return principal
    if principal.method == "access_token" or (principal.method == "oauth" and method != "GET"):
        return bb_error(
            403,
            "This endpoint does not support this authentication method; use an API token.",
            headers=ctx.headers,
        )
    return principal


def _permission_body(ctx: Ctx) -> str | Response:
    try:
        body = read_json(ctx.request)
    except BadJson:
        body = None
    perm = body.get("permission") if isinstance(body, dict) else None
    if perm not in PERMISSIONS:
        return bb_error(
            400,
            "No permission value was provided or the value is invalid (not one of read, write, "
            "or admin)",
            fields={"permission": ["Must be one of read, write, admin."]},
            headers=ctx.headers,
        )
    return str(perm)


def _admin_repo(ctx: Ctx, args: dict[str, str]) -> RepoFound | Response:
    """The caller (permissions-config accepts only API tokens) and the repository it administers."""
    principal = _caller(ctx)
    if isinstance(principal, Response):
        return principal
    return resolve_repo(ctx, args, principal, need="admin")


def groups(ctx: Ctx, args: dict[str, str]) -> Response:
    found = _admin_repo(ctx, args)
    if isinstance(found, Response):
        return found
    ws_slug, ws, slug, repo = found
    items = [
        shapes.group_perm_obj(
            ctx.bb_api, ws_slug, slug, group_slug=g, group=ws["groups"][g], perm=perm
        )
        for g, perm in sorted(repo["permissions"]["groups"].items())
    ]
    return bb_page(ctx, items)


def group(ctx: Ctx, args: dict[str, str]) -> Response:
    found = _admin_repo(ctx, args)
    if isinstance(found, Response):
        return found
    ws_slug, ws, slug, repo = found
    gslug = args["group_slug"]
    grants: dict[str, str] = repo["permissions"]["groups"]
    if gslug not in ws["groups"]:
        return bb_error(404, f"Group {gslug} not found", headers=ctx.headers)
    method = ctx.request.method
    if method == "PUT":
        perm = _permission_body(ctx)
        if isinstance(perm, Response):
            return perm
        grants[gslug] = perm
    elif gslug not in grants:
        return bb_error(
            404, f"Group {gslug} has no explicit permission on this repository", headers=ctx.headers
        )
    elif method == "DELETE":
        del grants[gslug]
        return empty(204, ctx.headers)
    return bb_json(
        ctx,
        shapes.group_perm_obj(
            ctx.bb_api,
            ws_slug,
            slug,
            group_slug=gslug,
            group=ws["groups"][gslug],
            perm=grants[gslug],
        ),
    )


def users(ctx: Ctx, args: dict[str, str]) -> Response:
    found = _admin_repo(ctx, args)
    if isinstance(found, Response):
        return found
    ws_slug, _ws, slug, repo = found
    items = []
    for uuid, perm in repo["permissions"]["users"].items():
        user = ctx.state.bb_user(uuid)
        if user:
            items.append(shapes.user_perm_obj(ctx.bb_api, ws_slug, slug, user, perm))
    items.sort(key=lambda i: (i["user"]["display_name"], i["user"]["uuid"]))
    return bb_page(ctx, items)


def user(ctx: Ctx, args: dict[str, str]) -> Response:
    found = _admin_repo(ctx, args)
    if isinstance(found, Response):
        return found
    ws_slug, ws, slug, repo = found
    target = ctx.state.bb_user(args["selected_user_id"])
    if target is None:
        return bb_error(404, f"User {args['selected_user_id']} not found", headers=ctx.headers)
    uuid = target["uuid"]
    grants: dict[str, str] = repo["permissions"]["users"]
    method = ctx.request.method
    if method == "PUT":
        perm = _permission_body(ctx)
        if isinstance(perm, Response):
            return perm
        if uuid in ws["owners"] or not ctx.state.is_member(ws, uuid):
            return bb_error(
                400,
                "The selected user is not a valid user to update: it must be a workspace member "
                "and not the workspace owner.",
                headers=ctx.headers,
            )
        grants[uuid] = perm
    elif uuid not in grants:
        return bb_error(
            404, "The user has no explicit permission on this repository", headers=ctx.headers
        )
    elif method == "DELETE":
        del grants[uuid]
        return empty(204, ctx.headers)
    return bb_json(ctx, shapes.user_perm_obj(ctx.bb_api, ws_slug, slug, target, grants[uuid]))


def _effective(ctx: Ctx, ws_slug: str, ws: dict[str, Any], slugs: list[str]) -> list[Any]:
    items = []
    for slug in slugs:
        repo = ws["repositories"][slug]
        for u in ctx.state.bitbucket["users"]:
            perm = ctx.state.granted_permission(ws, repo, u["uuid"])
            if perm:
                items.append(shapes.effective_perm_obj(ws_slug, slug, repo, u, perm))
    return items


def _effective_caller(ctx: Ctx, legacy: str) -> Principal | Response:
    principal = login(ctx, legacy=legacy, new=("read:repository:bitbucket",))
    if isinstance(principal, Response):
        return principal
    if principal.method == "access_token":
        return bb_error(403, "Access tokens cannot read permissions.", headers=ctx.headers)
    return principal


def workspace_repo_permissions(ctx: Ctx, args: dict[str, str]) -> Response:
    principal = _effective_caller(ctx, "account")
    if isinstance(principal, Response):
        return principal
    found = resolve_workspace(ctx, args["workspace"], principal)
    if isinstance(found, Response):
        return found
    ws_slug, ws = found
    if principal.user["uuid"] not in ws["owners"]:
        return bb_error(
            403, "Only workspace administrators may list permissions.", headers=ctx.headers
        )
    result = query(ctx, _effective(ctx, ws_slug, ws, sorted(ws["repositories"])))
    return result if isinstance(result, Response) else bb_page(ctx, result)


def repo_permissions(ctx: Ctx, args: dict[str, str]) -> Response:
    principal = _effective_caller(ctx, "repository")
    if isinstance(principal, Response):
        return principal
    found = resolve_repo(ctx, args, principal, need="admin")
    if isinstance(found, Response):
        return found
    ws_slug, ws, slug, _repo = found
    result = query(ctx, _effective(ctx, ws_slug, ws, [slug]))
    return result if isinstance(result, Response) else bb_page(ctx, result)


def my_permissions(ctx: Ctx, args: dict[str, str]) -> Response:
    """``/user/permissions/repositories``: the caller's own effective permissions."""
    principal = login(ctx, legacy="repository", new=("read:repository:bitbucket",))
    if isinstance(principal, Response):
        return principal
    items = []
    for ws_slug, ws in sorted(ctx.state.bitbucket["workspaces"].items()):
        for slug in sorted(ws["repositories"]):
            repo = ws["repositories"][slug]
            perm = ctx.state.granted_permission(ws, repo, principal.user["uuid"])
            if perm:
                items.append(shapes.effective_perm_obj(ws_slug, slug, repo, principal.user, perm))
    result = query(ctx, items)
    return result if isinstance(result, Response) else bb_page(ctx, result)


def rules() -> list[Rule]:
    repo = "/bitbucket/2.0/repositories/<workspace>/<repo_slug>/permissions-config"
    ws = "/bitbucket/2.0/workspaces/<workspace>/permissions/repositories"
    return [
        Rule(f"{repo}/groups", endpoint=groups, methods=["GET"]),
        Rule(f"{repo}/groups/<group_slug>", endpoint=group, methods=["GET", "PUT", "DELETE"]),
        Rule(f"{repo}/users", endpoint=users, methods=["GET"]),
        Rule(f"{repo}/users/<selected_user_id>", endpoint=user, methods=["GET", "PUT", "DELETE"]),
        Rule(ws, endpoint=workspace_repo_permissions, methods=["GET"]),
        Rule(f"{ws}/<repo_slug>", endpoint=repo_permissions, methods=["GET"]),
        Rule(
            "/bitbucket/2.0/user/permissions/repositories",
            endpoint=my_permissions,
            methods=["GET"],
        ),
    ]
