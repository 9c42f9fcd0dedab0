"""Bitbucket commits and commit build statuses (API.md 8.1 and 8.3)."""

from __future__ import annotations

from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Response

from . import bbshapes as shapes
from .bbauth import login
from .bbpulls import Found
from .bbrepo import query, resolve_repo
from .seed import iso_now
from .web import BadJson, Ctx, bb_error, bb_json, bb_page, read_json

REPO_READ = ("read:repository:bitbucket",)
STATES = ("INPROGRESS", "SUCCESSFUL", "FAILED", "STOPPED")
MAX_KEY = 40


def status_obj(ctx: Ctx, found: Found, s: dict[str, Any]) -> dict[str, Any]:
    ws_slug, _ws, slug, repo = found
    api = ctx.bb_api
    commit = shapes.commit_ref(api, ws_slug, slug, s["commit"], short=False)
    return {
        "key": s["key"],
        "description": s["description"],
        "repository": shapes.repo_condensed(api, ws_slug, slug, repo),
        "url": s["url"],
        "links": {
            "commit": commit["links"]["self"],
            "self": {"href": f"{commit['links']['self']['href']}/statuses/build/{s['key']}"},
        },
        "refname": s["refname"],
        "state": s["state"],
        "created_on": s["created_on"],
        "commit": commit,
        "updated_on": s["updated_on"],
        "type": "build",
        "name": s["name"],
    }


def _commit(
    ctx: Ctx, args: dict[str, str], *, need: str = "read"
) -> tuple[Found, dict[str, Any]] | Response:
    principal = login(ctx, legacy="repository", new=REPO_READ)
    if isinstance(principal, Response):
        return principal
    found = resolve_repo(ctx, args, principal, need=need)
    if isinstance(found, Response):
        return found
    commit = ctx.state.resolve_commit(found[3], args["commit"])
    if commit is None:
        return bb_error(404, f"Commit not found: {args['commit']}", headers=ctx.headers)
    return found, commit


def _validate(body: Any, *, partial: bool) -> tuple[dict[str, Any], dict[str, list[str]]]:
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    if not isinstance(body, dict):
        return out, {"__all__": ["Bad request"]}
    if not partial:
        key = body.get("key")
        if not isinstance(key, str) or not key:
            errors["key"] = ["This field is required."]
        elif len(key) > MAX_KEY:
            errors["key"] = [f"Ensure this value has at most {MAX_KEY} characters."]
        else:
            out["key"] = key
    if "state" in body or not partial:
        if body.get("state") not in STATES:
            errors["state"] = ["Must be one of " + ", ".join(STATES) + "."]
        else:
            out["state"] = body["state"]
    if "url" in body or not partial:
        url = body.get("url")
        if not isinstance(url, str) or not url:
            errors["url"] = ["This field is required."]
        else:
            out["url"] = url
    for name in ("name", "description", "refname"):
        if name in body:
            value = body[name]
            if value is not None and not isinstance(value, str):
                errors[name] = ["Expected a string."]
            else:
                out[name] = value
    return out, errors


def _body(ctx: Ctx, *, partial: bool) -> dict[str, Any] | Response:
    try:
        raw = read_json(ctx.request)
    except BadJson:
        raw = None
    changes, errors = _validate(raw, partial=partial)
    if errors:
        message = errors.pop("__all__", ["Bad request"])[0]
        return bb_error(400, message, fields=errors or None, headers=ctx.headers)
    return changes


def get_commit(ctx: Ctx, args: dict[str, str]) -> Response:
    got = _commit(ctx, args)
    if isinstance(got, Response):
        return got
    found, commit = got
    author = ctx.state.bb_user(commit["author"])
    ws_slug, _ws, slug, repo = found
    return bb_json(ctx, shapes.commit_obj(ctx.bb_api, ws_slug, slug, repo, commit, author=author))


def create_status(ctx: Ctx, args: dict[str, str]) -> Response:
    got = _commit(ctx, args, need="write")
    if isinstance(got, Response):
        return got
    found, commit = got
    changes = _body(ctx, partial=False)
    if isinstance(changes, Response):
        return changes
    statuses: list[dict[str, Any]] = found[3]["statuses"]
    now = iso_now()
    record = next(
        (s for s in statuses if s["commit"] == commit["hash"] and s["key"] == changes["key"]), None
    )
    if record is None:
        record = {
            "commit": commit["hash"],
            "key": changes["key"],
            "name": None,
            "description": None,
            "refname": None,
            "created_on": now,
        }
        statuses.append(record)
    record.update(changes)
    record["updated_on"] = now
    obj = status_obj(ctx, found, record)
    return bb_json(ctx, obj, 201, {"Location": obj["links"]["self"]["href"]})


def one_status(ctx: Ctx, args: dict[str, str]) -> Response:
    method = ctx.request.method
    got = _commit(ctx, args, need="write" if method == "PUT" else "read")
    if isinstance(got, Response):
        return got
    found, commit = got
    record = next(
        (
            s
            for s in found[3]["statuses"]
            if s["commit"] == commit["hash"] and s["key"] == args["key"]
        ),
        None,
    )
    if record is None:
        return bb_error(404, f"Build status {args['key']} not found", headers=ctx.headers)
    if method == "PUT":
        changes = _body(ctx, partial=True)
        if isinstance(changes, Response):
            return changes
        record.update(changes)
        record["updated_on"] = iso_now()
    return bb_json(ctx, status_obj(ctx, found, record))


def _list(ctx: Ctx, found: Found, full_hash: str) -> Response:
    refname = ctx.request.args.get("refname")
    items = [
        status_obj(ctx, found, s)
        for s in sorted(found[3]["statuses"], key=lambda s: s["created_on"])
        if s["commit"] == full_hash and (refname is None or s["refname"] == refname)
    ]
    result = query(ctx, items)
    return result if isinstance(result, Response) else bb_page(ctx, result)


def list_statuses(ctx: Ctx, args: dict[str, str]) -> Response:
    got = _commit(ctx, args)
    if isinstance(got, Response):
        return got
    return _list(ctx, got[0], got[1]["hash"])


def pr_statuses(ctx: Ctx, args: dict[str, str]) -> Response:
    principal = login(ctx, legacy="pullrequest", new=("read:pullrequest:bitbucket",))
    if isinstance(principal, Response):
        return principal
    found = resolve_repo(ctx, args, principal)
    if isinstance(found, Response):
        return found
    pid = int(args["pull_request_id"])
    pr = next((p for p in found[3]["pullrequests"] if p["id"] == pid), None)
    if pr is None:
        return bb_error(404, f"Pull request {pid} not found", headers=ctx.headers)
    return _list(ctx, found, pr["source_hash"])


def rules() -> list[Rule]:
    repo = "/bitbucket/2.0/repositories/<workspace>/<repo_slug>"
    commit = f"{repo}/commit/<commit>"
    return [
        Rule(commit, endpoint=get_commit, methods=["GET"]),
        Rule(f"{commit}/statuses", endpoint=list_statuses, methods=["GET"]),
        Rule(f"{commit}/statuses/build", endpoint=create_status, methods=["POST"]),
        Rule(f"{commit}/statuses/build/<path:key>", endpoint=one_status, methods=["GET", "PUT"]),
        Rule(
            f"{repo}/pullrequests/<int:pull_request_id>/statuses",
            endpoint=pr_statuses,
            methods=["GET"],
        ),
    ]
