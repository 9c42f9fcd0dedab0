"""Bitbucket repository and workspace webhooks (API.md section 4)."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlsplit

from werkzeug.routing import Rule
from werkzeug.wrappers import Response

from . import bbshapes as shapes
from .bbauth import Principal, login
from .bbrepo import resolve_repo, resolve_workspace
from .hookevents import VALID_EVENTS
from .seed import iso_now
from .web import BadJson, Ctx, bb_error, bb_json, bb_page, empty, read_json

READ = ("read:webhook:bitbucket",)
WRITE = ("read:webhook:bitbucket", "write:webhook:bitbucket")
DELETE = ("delete:webhook:bitbucket",)
MAX_SECRET = 128


def new_hook(
    *, url: str, description: str, events: list[str], active: bool = True, secret: str | None = None
) -> dict[str, Any]:
    return {
        "uuid": "{" + str(uuid.uuid4()) + "}",
        "description": description,
        "url": url,
        "events": list(events),
        "active": active,
        "secret": secret or None,
        "skip_cert_verification": False,
        "created_at": iso_now(),
    }


def _valid_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def validate(body: Any, *, partial: bool) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Check a hook body; returns (changes, field errors). ``secret`` follows §4.2:
    on update an absent key leaves it unchanged, null or "" removes it."""
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    if not isinstance(body, dict):
        return out, {"__all__": ["Expected a JSON object"]}
    if "url" in body or not partial:
        url = body.get("url")
        if not isinstance(url, str) or not url:
            errors["url"] = ["This field is required."]
        elif not _valid_url(url):
            errors["url"] = ["Enter a valid URL."]
        else:
            out["url"] = url
    if "description" in body or not partial:
        desc = body.get("description")
        if desc is not None and not isinstance(desc, str):
            errors["description"] = ["Expected a string."]
        else:
            out["description"] = desc or ""
    if "events" in body or not partial:
        events = body.get("events")
        if not isinstance(events, list) or not events:
            errors["events"] = ["This field is required."]
        elif not all(isinstance(e, str) for e in events):
            errors["events"] = ["Expected a list of event keys."]
        else:
            bad = sorted({e for e in events if e not in VALID_EVENTS})
            if bad:
                errors["events"] = [f'"{e}" is not a valid event key.' for e in bad]
            else:
                out["events"] = list(dict.fromkeys(events))
    for flag in ("active", "skip_cert_verification"):
        if flag in body:
            if not isinstance(body[flag], bool):
                errors[flag] = ["Must be a valid boolean."]
            else:
                out[flag] = body[flag]
    if "secret" in body:
        secret = body["secret"]
        if secret is not None and not isinstance(secret, str):
            errors["secret"] = ["Expected a string."]
        elif secret and len(secret) > MAX_SECRET:
            errors["secret"] = [f"Ensure this value has at most {MAX_SECRET} characters."]
        else:
            out["secret"] = secret or None
    return out, errors


def _bad_request(ctx: Ctx, errors: dict[str, list[str]]) -> Response:
    message = "Bad request"
    if "__all__" in errors:
        message = errors.pop("__all__")[0]
    return bb_error(400, message, fields=errors or None, headers=ctx.headers)


def _body(ctx: Ctx, *, partial: bool) -> dict[str, Any] | Response:
    try:
        raw = read_json(ctx.request)
    except BadJson:
        return bb_error(400, "Bad request: the body is not valid JSON", headers=ctx.headers)
    changes, errors = validate(raw, partial=partial)
    return _bad_request(ctx, errors) if errors else changes


def _find(hooks: list[dict[str, Any]], uid: str) -> dict[str, Any] | None:
    bare = uid.strip("{}").lower()
    for h in hooks:
        if h["uuid"].strip("{}").lower() == bare:
            return h
    return None


class _Target:
    """Where a hook collection lives: a repository or a workspace."""

    def __init__(
        self, hooks: list[dict[str, Any]], subject_type: str, subject: dict[str, Any], base: str
    ) -> None:
        self.hooks = hooks
        self.subject_type = subject_type
        self.subject = subject
        self.base = base

    def render(self, hook: dict[str, Any]) -> dict[str, Any]:
        return shapes.hook_obj(
            hook,
            subject_type=self.subject_type,
            subject=self.subject,
            self_href=f"{self.base}/{shapes.enc(hook['uuid'])}",
        )


def _repo_target(ctx: Ctx, args: dict[str, str], scopes: tuple[str, ...]) -> _Target | Response:
    principal = login(ctx, legacy="webhook", new=scopes)
    if isinstance(principal, Response):
        return principal
    found = resolve_repo(ctx, args, principal, need="admin")
    if isinstance(found, Response):
        return found
    ws_slug, _ws, slug, repo = found
    subject = shapes.repo_condensed(ctx.bb_api, ws_slug, slug, repo)
    base = f"{ctx.bb_api}/repositories/{ws_slug}/{slug}/hooks"
    return _Target(repo["hooks"], "repository", subject, base)


def _ws_target(ctx: Ctx, args: dict[str, str], scopes: tuple[str, ...]) -> _Target | Response:
    principal = login(ctx, legacy="webhook", new=scopes)
    if isinstance(principal, Response):
        return principal
    found = resolve_workspace(ctx, args["workspace"], principal)
    if isinstance(found, Response):
        return found
    ws_slug, ws = found
    if not _is_owner(principal, ws):
        return bb_error(403, "You must be an owner of this workspace.", headers=ctx.headers)
    subject = shapes.workspace_condensed(ctx.bb_api, ws_slug, ws)
    return _Target(ws["hooks"], "workspace", subject, f"{ctx.bb_api}/workspaces/{ws_slug}/hooks")


def _is_owner(principal: Principal, ws: dict[str, Any]) -> bool:
    return principal.user["uuid"] in ws["owners"]


def _list(ctx: Ctx, target: _Target | Response) -> Response:
    if isinstance(target, Response):
        return target
    return bb_page(ctx, [target.render(h) for h in target.hooks])


def _create(ctx: Ctx, target: _Target | Response) -> Response:
    if isinstance(target, Response):
        return target
    changes = _body(ctx, partial=False)
    if isinstance(changes, Response):
        return changes
    hook = new_hook(
        url=changes["url"], description=changes["description"], events=changes["events"]
    )
    hook.update(changes)
    target.hooks.append(hook)
    body = target.render(hook)
    return bb_json(ctx, body, 201, {"Location": body["links"]["self"]["href"]})


def _one(ctx: Ctx, target: _Target | Response, uid: str, method: str) -> Response:
    if isinstance(target, Response):
        return target
    hook = _find(target.hooks, uid)
    if hook is None:
        return bb_error(404, f"Webhook {uid} not found", headers=ctx.headers)
    if method == "DELETE":
        target.hooks.remove(hook)
        return empty(204, ctx.headers)
    if method == "PUT":
        changes = _body(ctx, partial=True)
        if isinstance(changes, Response):
            return changes
        hook.update(changes)
    return bb_json(ctx, target.render(hook))


def repo_hooks(ctx: Ctx, args: dict[str, str]) -> Response:
    if ctx.request.method == "POST":
        return _create(ctx, _repo_target(ctx, args, WRITE))
    return _list(ctx, _repo_target(ctx, args, READ))


def repo_hook(ctx: Ctx, args: dict[str, str]) -> Response:
    method = ctx.request.method
    scopes = {"GET": READ, "PUT": WRITE, "DELETE": DELETE}[method]
    return _one(ctx, _repo_target(ctx, args, scopes), args["uid"], method)


def ws_hooks(ctx: Ctx, args: dict[str, str]) -> Response:
    if ctx.request.method == "POST":
        return _create(ctx, _ws_target(ctx, args, WRITE))
    return _list(ctx, _ws_target(ctx, args, READ))


def ws_hook(ctx: Ctx, args: dict[str, str]) -> Response:
    method = ctx.request.method
    scopes = {"GET": READ, "PUT": WRITE, "DELETE": DELETE}[method]
    return _one(ctx, _ws_target(ctx, args, scopes), args["uid"], method)


def rules() -> list[Rule]:
    repo = "/bitbucket/2.0/repositories/<workspace>/<repo_slug>/hooks"
    ws = "/bitbucket/2.0/workspaces/<workspace>/hooks"
    return [
        Rule(repo, endpoint=repo_hooks, methods=["GET", "POST"]),
        Rule(f"{repo}/<uid>", endpoint=repo_hook, methods=["GET", "PUT", "DELETE"]),
        Rule(ws, endpoint=ws_hooks, methods=["GET", "POST"]),
        Rule(f"{ws}/<uid>", endpoint=ws_hook, methods=["GET", "PUT", "DELETE"]),
    ]
