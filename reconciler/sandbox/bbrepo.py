"""Bitbucket lookups shared by the routes, plus user, workspace, repository and hook_events."""

from __future__ import annotations

from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Response

from . import bbshapes as shapes
from .bbauth import Principal, login
from .bbql import BBQLError, filter_items, sort_items
from .hookevents import event_objects
from .seed import PERM_RANK
from .web import Ctx, bb_error, bb_json, bb_page

REPO_READ = ("read:repository:bitbucket",)


def resolve_workspace(
    ctx: Ctx, ref: str, principal: Principal
) -> tuple[str, dict[str, Any]] | Response:
    found = ctx.state.workspace(ref)
    if found is None or not ctx.state.is_member(found[1], principal.user["uuid"]):
        return bb_error(404, f"No workspace with identifier '{ref}'.", headers=ctx.headers)
    return found


# (workspace slug, workspace, repository slug, repository)
RepoFound = tuple[str, dict[str, Any], str, dict[str, Any]]


def resolve_repo(
    ctx: Ctx, args: dict[str, str], principal: Principal, *, need: str = "read"
) -> RepoFound | Response:
    """Workspace and repository for a path; 404 when missing or invisible, 403 when the caller
    can see the repository but lacks ``need``."""
    full = f"{args['workspace']}/{args['repo_slug']}"
    state = ctx.state
    found = state.workspace(args["workspace"])
    hit = state.repository(found[1], args["repo_slug"]) if found else None
    if found is None or hit is None:
        return bb_error(404, f"Repository {full} not found", headers=ctx.headers)
    ws_slug, ws = found
    slug, repo = hit
    perm = state.access(ws, repo, principal.user["uuid"])
    if perm is None:
        return bb_error(404, f"Repository {full} not found", headers=ctx.headers)
    if PERM_RANK[perm] < PERM_RANK[need]:
        return bb_error(
            403,
            f"You do not have {need} access to this repository.",
            headers=ctx.headers,
        )
    return ws_slug, ws, slug, repo


def query(ctx: Ctx, items: list[dict[str, Any]]) -> list[dict[str, Any]] | Response:
    """Apply ``q=`` and ``sort=`` (BBQL) to rendered objects."""
    try:
        items = filter_items(items, ctx.request.args.get("q"))
    except BBQLError as exc:
        return bb_error(400, f"Invalid query: {exc}", headers=ctx.headers)
    return sort_items(items, ctx.request.args.get("sort"))


def get_user(ctx: Ctx, args: dict[str, str]) -> Response:
    principal = login(ctx, legacy="account", new=("read:user:bitbucket",))
    if isinstance(principal, Response):
        return principal
    return bb_json(ctx, shapes.user_full(ctx.bb_api, principal.user))


def get_workspace(ctx: Ctx, args: dict[str, str]) -> Response:
    principal = login(ctx, legacy=None, new=("read:workspace:bitbucket",))
    if isinstance(principal, Response):
        return principal
    found = resolve_workspace(ctx, args["workspace"], principal)
    if isinstance(found, Response):
        return found
    return bb_json(ctx, shapes.workspace_obj(ctx.bb_api, found[0], found[1]))


_ROLE_MIN = {"member": "read", "contributor": "write", "admin": "admin"}


def list_repositories(ctx: Ctx, args: dict[str, str]) -> Response:
    principal = login(ctx, legacy="repository", new=REPO_READ)
    if isinstance(principal, Response):
        return principal
    found = ctx.state.workspace(args["workspace"])
    if found is None:
        return bb_error(
            404, f"No workspace with identifier '{args['workspace']}'.", headers=ctx.headers
        )
    ws_slug, ws = found
    need = _ROLE_MIN.get(ctx.request.args.get("role", ""), "read")
    items = []
    for slug in sorted(ws["repositories"]):
        repo = ws["repositories"][slug]
        perm = ctx.state.access(ws, repo, principal.user["uuid"])
        if perm and PERM_RANK[perm] >= PERM_RANK[need]:
            items.append(shapes.repo_full(ctx.bb_api, ws_slug, ws, slug, repo))
    result = query(ctx, items)
    return result if isinstance(result, Response) else bb_page(ctx, result)


def get_repository(ctx: Ctx, args: dict[str, str]) -> Response:
    principal = login(ctx, legacy="repository", new=REPO_READ)
    if isinstance(principal, Response):
        return principal
    found = resolve_repo(ctx, args, principal)
    if isinstance(found, Response):
        return found
    ws_slug, ws, slug, repo = found
    return bb_json(ctx, shapes.repo_full(ctx.bb_api, ws_slug, ws, slug, repo))


def hook_events(ctx: Ctx, args: dict[str, str]) -> Response:
    return bb_json(
        ctx,
        {
            kind: {"links": {"events": {"href": f"{ctx.bb_api}/hook_events/{kind}"}}}
            for kind in ("repository", "workspace")
        },
    )


def hook_events_for(ctx: Ctx, args: dict[str, str]) -> Response:
    if args["subject_type"] not in ("repository", "workspace"):
        return bb_error(404, f"Unknown subject type: {args['subject_type']}")
    return bb_page(ctx, event_objects(), default_pagelen=30)


def rules() -> list[Rule]:
    api = "/bitbucket/2.0"
    return [
        Rule(f"{api}/user", endpoint=get_user, methods=["GET"]),
        Rule(f"{api}/workspaces/<workspace>", endpoint=get_workspace, methods=["GET"]),
        Rule(f"{api}/repositories/<workspace>", endpoint=list_repositories, methods=["GET"]),
        Rule(
            f"{api}/repositories/<workspace>/<repo_slug>",
            endpoint=get_repository,
            methods=["GET"],
        ),
        Rule(f"{api}/hook_events", endpoint=hook_events, methods=["GET"]),
        Rule(f"{api}/hook_events/<subject_type>", endpoint=hook_events_for, methods=["GET"]),
    ]
