"""Bitbucket pull requests, PR comments, commits and commit build statuses (API.md section 8).

PR objects carry 12-character abbreviated commit hashes (as every fixture shows); the commit
endpoints accept abbreviated hashes and resolve them against the commits the state knows.
"""

from __future__ import annotations

from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Response

from . import bbshapes as shapes
from .bbauth import Principal, login
from .bbrepo import query, resolve_repo
from .seed import PERM_RANK, iso_now
from .web import BadJson, Ctx, bb_error, bb_json, bb_page, empty, read_json

PR_READ = ("read:pullrequest:bitbucket",)
REPO_READ = ("read:repository:bitbucket",)
STATES = ("INPROGRESS", "SUCCESSFUL", "FAILED", "STOPPED")
Found = tuple[str, dict[str, Any], str, dict[str, Any]]


def pr_obj(ctx: Ctx, found: Found, pr: dict[str, Any], *, full: bool = True) -> dict[str, Any]:
    ws_slug, _ws, slug, repo = found
    api = ctx.bb_api
    web = api.rsplit("/2.0", 1)[0]
    base = f"{api}/repositories/{ws_slug}/{slug}/pullrequests/{pr['id']}"
    condensed = shapes.repo_condensed(api, ws_slug, slug, repo)

    def side(branch: str, full_hash: str) -> dict[str, Any]:
        commit = shapes.commit_ref(api, ws_slug, slug, full_hash, short=True) if full_hash else None
        return {"branch": {"name": branch}, "commit": commit, "repository": condensed}

    merge = pr["merge_hash"]
    out: dict[str, Any] = {
        "comment_count": len(pr["comments"]),
        "task_count": 0,
        "type": "pullrequest",
        "id": pr["id"],
        "title": pr["title"],
        "description": pr["description"],
        "rendered": {
            "title": shapes.rendered(pr["title"]),
            "description": shapes.rendered(pr["description"]),
        },
        "state": pr["state"],
        "draft": False,
        "merge_commit": shapes.commit_ref(api, ws_slug, slug, merge, short=True) if merge else None,
        "close_source_branch": pr["close_source_branch"],
        "closed_by": shapes.user_obj(api, ctx.state.bb_user(pr["closed_by"])),
        "author": shapes.user_obj(api, ctx.state.bb_user(pr["author"])),
        "reason": "",
        "created_on": pr["created_on"],
        "updated_on": pr["updated_on"],
        "destination": side(pr["destination_branch"], pr["destination_hash"]),
        "source": side(pr["source_branch"], pr["source_hash"]),
        "links": {
            name: {"href": f"{base}/{name}" if name != "self" else base}
            for name in (
                "self",
                "commits",
                "approve",
                "diff",
                "diffstat",
                "comments",
                "activity",
                "merge",
                "decline",
                "statuses",
            )
        },
        "summary": shapes.rendered(pr["description"]),
    }
    out["links"]["html"] = {"href": f"{web}/{ws_slug}/{slug}/pull-requests/{pr['id']}"}
    if full:
        out["reviewers"] = []
        out["participants"] = []
    return out


def _repo(
    ctx: Ctx, args: dict[str, str], scopes: tuple[str, ...], legacy: str, need: str = "read"
) -> tuple[Principal, Found] | Response:
    principal = login(ctx, legacy=legacy, new=scopes)
    if isinstance(principal, Response):
        return principal
    found = resolve_repo(ctx, args, principal, need=need)
    return found if isinstance(found, Response) else (principal, found)


def _pr(ctx: Ctx, repo: dict[str, Any], pid: int) -> dict[str, Any] | Response:
    for pr in repo["pullrequests"]:
        if pr["id"] == pid:
            record: dict[str, Any] = pr
            return record
    return bb_error(404, f"Pull request {pid} not found", headers=ctx.headers)


def list_pullrequests(ctx: Ctx, args: dict[str, str]) -> Response:
    got = _repo(ctx, args, PR_READ, "pullrequest")
    if isinstance(got, Response):
        return got
    _p, found = got
    states = [s.upper() for s in ctx.request.args.getlist("state")] or ["OPEN"]
    items = [
        pr_obj(ctx, found, pr, full=False)
        for pr in found[3]["pullrequests"]
        if pr["state"] in states
    ]
    items.sort(key=lambda p: -int(p["id"]))
    result = query(ctx, items)
    return result if isinstance(result, Response) else bb_page(ctx, result, max_pagelen=50)


def get_pullrequest(ctx: Ctx, args: dict[str, str]) -> Response:
    got = _repo(ctx, args, PR_READ, "pullrequest")
    if isinstance(got, Response):
        return got
    _p, found = got
    pr = _pr(ctx, found[3], int(args["pull_request_id"]))
    return pr if isinstance(pr, Response) else bb_json(ctx, pr_obj(ctx, found, pr))


def _comment_obj(ctx: Ctx, found: Found, pr: dict[str, Any], c: dict[str, Any]) -> dict[str, Any]:
    ws_slug, _ws, slug, _repo = found
    api = ctx.bb_api
    web = api.rsplit("/2.0", 1)[0]
    pr_base = f"{api}/repositories/{ws_slug}/{slug}/pullrequests/{pr['id']}"
    out: dict[str, Any] = {
        "id": c["id"],
        "created_on": c["created_on"],
        "updated_on": c["updated_on"],
        "content": shapes.rendered(c["raw"]),
        "user": shapes.user_obj(api, ctx.state.bb_user(c["user"])),
        "deleted": False,
        "pending": False,
        "type": "pullrequest_comment",
        "links": {
            "self": {"href": f"{pr_base}/comments/{c['id']}"},
            "html": {
                "href": f"{web}/{ws_slug}/{slug}/pull-requests/{pr['id']}/_/diff#comment-{c['id']}"
            },
        },
        "pullrequest": {
            "type": "pullrequest",
            "id": pr["id"],
            "title": pr["title"],
            "links": {"self": {"href": pr_base}},
        },
    }
    if c.get("parent"):
        out["parent"] = {
            "id": c["parent"],
            "links": {"self": {"href": f"{pr_base}/comments/{c['parent']}"}},
        }
    if c.get("inline"):
        out["inline"] = c["inline"]
    return out


def _comment_body(ctx: Ctx) -> dict[str, Any] | Response:
    try:
        body = read_json(ctx.request)
    except BadJson:
        body = None
    raw = (
        body.get("content", {}).get("raw")
        if isinstance(body, dict) and isinstance(body.get("content"), dict)
        else None
    )
    if not isinstance(raw, str) or not raw:
        return bb_error(
            400, "Bad request", fields={"content": ["This field is required."]}, headers=ctx.headers
        )
    assert isinstance(body, dict)
    return body


def comments(ctx: Ctx, args: dict[str, str]) -> Response:
    got = _repo(ctx, args, PR_READ, "pullrequest")
    if isinstance(got, Response):
        return got
    principal, found = got
    record = _pr(ctx, found[3], int(args["pull_request_id"]))
    if isinstance(record, Response):
        return record
    if ctx.request.method == "GET":
        items = [
            _comment_obj(ctx, found, record, c)
            for c in sorted(record["comments"], key=lambda c: c["id"])
        ]
        result = query(ctx, items)
        return result if isinstance(result, Response) else bb_page(ctx, result)
    body = _comment_body(ctx)
    if isinstance(body, Response):
        return body
    all_ids = [
        c["id"]
        for w in ctx.state.bitbucket["workspaces"].values()
        for r in w["repositories"].values()
        for p in r["pullrequests"]
        for c in p["comments"]
    ]
    now = iso_now()
    comment = {
        "id": max(all_ids, default=0) + 1,
        "raw": body["content"]["raw"],
        "user": principal.user["uuid"],
        "created_on": now,
        "updated_on": now,
        "parent": (body.get("parent") or {}).get("id")
        if isinstance(body.get("parent"), dict)
        else None,
        "inline": body.get("inline") if isinstance(body.get("inline"), dict) else None,
    }
    record["comments"].append(comment)
    obj = _comment_obj(ctx, found, record, comment)
    return bb_json(ctx, obj, 201, {"Location": obj["links"]["self"]["href"]})


def comment(ctx: Ctx, args: dict[str, str]) -> Response:
    got = _repo(ctx, args, PR_READ, "pullrequest")
    if isinstance(got, Response):
        return got
    principal, found = got
    record = _pr(ctx, found[3], int(args["pull_request_id"]))
    if isinstance(record, Response):
        return record
    cid = int(args["comment_id"])
    hit = next((c for c in record["comments"] if c["id"] == cid), None)
    if hit is None:
        return bb_error(404, f"Comment {cid} not found", headers=ctx.headers)
    method = ctx.request.method
    is_author = hit["user"] == principal.user["uuid"]
    if method == "PUT":
        if not is_author:
            return bb_error(403, "You can only edit your own comments.", headers=ctx.headers)
        body = _comment_body(ctx)
        if isinstance(body, Response):
            return body
        hit["raw"] = body["content"]["raw"]
        hit["updated_on"] = iso_now()
    elif method == "DELETE":
        perm = ctx.state.access(found[1], found[3], principal.user["uuid"]) or "none"
        if not is_author and PERM_RANK[perm] < PERM_RANK["admin"]:
            return bb_error(403, "You can only delete your own comments.", headers=ctx.headers)
        record["comments"].remove(hit)
        return empty(204, ctx.headers)
    return bb_json(ctx, _comment_obj(ctx, found, record, hit))


def rules() -> list[Rule]:
    pr = "/bitbucket/2.0/repositories/<workspace>/<repo_slug>/pullrequests"
    return [
        Rule(pr, endpoint=list_pullrequests, methods=["GET"]),
        Rule(f"{pr}/<int:pull_request_id>", endpoint=get_pullrequest, methods=["GET"]),
        Rule(f"{pr}/<int:pull_request_id>/comments", endpoint=comments, methods=["GET", "POST"]),
        Rule(
            f"{pr}/<int:pull_request_id>/comments/<int:comment_id>",
            endpoint=comment,
            methods=["GET", "PUT", "DELETE"],
        ),
    ]
