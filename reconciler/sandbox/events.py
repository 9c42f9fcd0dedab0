"""Simulated Bitbucket activity: pull-request and push events that change state and deliver
webhooks like Bitbucket does (API.md section 9).

Deliveries go only to loopback addresses; a hook whose host is Drone's public host is delivered
in-process to the sandbox's own Drone receiver; anything else is skipped and recorded. State
changes happen under the lock, deliveries after it is released (a receiver may call back).
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import re
import ssl
import uuid
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from . import bbshapes as shapes
from . import dronehook
from .bbpulls import pr_obj
from .dronecore import drone_host
from .seed import iso_now
from .state import SandboxState
from .web import Ctx

TIMEOUT_S = 10
MAX_ATTEMPTS = 3  # Bitbucket retries a 5xx answer up to two more times
_HASH = re.compile(r"^[0-9a-f]{40}$")
_ACTIONS = ("created", "updated", "fulfilled", "rejected")
_SENSITIVE = ("secret", "token", "access_token")


class EventError(ValueError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def redact(url: str) -> str:
    parts = urlsplit(url)
    if not parts.query:
        return url
    query = [(k, "REDACTED" if k.lower() in _SENSITIVE else v) for k, v in parse_qsl(parts.query)]
    return urlunsplit(parts._replace(query=urlencode(query, safe="")))


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _post(url: str, body: bytes, headers: dict[str, str], *, verify: bool) -> int:
    """One POST with http.client: no proxy, no redirect following, header case preserved."""
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        context = ssl.create_default_context()
        if not verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        conn = http.client.HTTPSConnection(parts.netloc, timeout=TIMEOUT_S, context=context)
    elif parts.scheme == "http":
        conn = http.client.HTTPConnection(parts.netloc, timeout=TIMEOUT_S)
    else:
        raise ValueError(f"unsupported URL scheme in {redact(url)}")
    try:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        return int(response.status)
    finally:
        conn.close()


def _deliver_one(
    state: SandboxState, hook: dict[str, Any], event: str, body: bytes
) -> dict[str, Any]:
    url = hook["url"]
    parts = urlsplit(url)
    entry: dict[str, Any] = {
        "hook_uuid": hook["uuid"],
        "subject_type": hook["subject_type"],
        "description": hook["description"],
        "url": redact(url),
        "event": event,
    }
    headers = {
        "Content-Type": "application/json",
        "X-Event-Key": event,
        "X-Hook-UUID": hook["uuid"],
        "User-Agent": "Bitbucket-Webhooks/2.0",
    }
    if hook["secret"]:
        digest = hmac.new(hook["secret"].encode(), body, hashlib.sha256).hexdigest()
        headers["X-Hub-Signature"] = f"sha256={digest}"
    for attempt in range(1, MAX_ATTEMPTS + 1):
        headers["X-Request-UUID"] = str(uuid.uuid4())
        headers["X-Attempt-Number"] = str(attempt)
        entry.update(attempts=attempt, request_uuid=headers["X-Request-UUID"])
        if parts.netloc.lower() == drone_host(state):
            secret = dict(parse_qsl(parts.query)).get("secret", "")
            entry["via"] = "in-process drone"
            entry["status"], _ = dronehook.receive(state, event=event, secret=secret, body=body)
        elif not is_loopback(parts.hostname):
            entry["skipped"] = "not a loopback address: the sandbox never sends traffic there"
            break
        else:
            try:
                verify = not hook["skip_cert_verification"]
                entry["status"] = _post(url, body, headers, verify=verify)
                entry.pop("error", None)
            except (OSError, ValueError) as exc:
                entry["error"] = f"{type(exc).__name__}: {exc}"
                entry.pop("status", None)
                break
        if entry.get("status", 0) < 500:
            break
    return entry


def deliver(
    state: SandboxState, event: str, payload: dict[str, Any], hooks: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    body = json.dumps(payload).encode()
    out = [_deliver_one(state, hook, event, body) for hook in hooks]
    with state.lock:
        state.deliveries.extend(out)
    return out


def _subscribed(ws: dict[str, Any], repo: dict[str, Any], event: str) -> list[dict[str, Any]]:
    """Active repository hooks, then workspace hooks, subscribed to ``event`` (snapshots)."""
    found = []
    for subject_type, hooks in (("repository", repo["hooks"]), ("workspace", ws["hooks"])):
        for h in hooks:
            if h["active"] and event in h["events"]:
                found.append(dict(h, subject_type=subject_type))
    return found


def _locate(ctx: Ctx, ref: Any) -> tuple[str, dict[str, Any], str, dict[str, Any]]:
    if not isinstance(ref, str) or not ref:
        raise EventError(400, "repo: required (slug or workspace/slug)")
    ws_ref, _, slug = ref.rpartition("/")
    wss = ctx.state.bitbucket["workspaces"]
    found = ctx.state.workspace(ws_ref) if ws_ref else next(iter(wss.items()), None)
    hit = ctx.state.repository(found[1], slug) if found else None
    if found is None or hit is None:
        raise EventError(404, f"unknown repository {ref!r}")
    return found[0], found[1], hit[0], hit[1]


def _hash(body: dict[str, Any], key: str, *, required: bool = True) -> str | None:
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not _HASH.match(value.lower()):
        raise EventError(400, f"{key}: a full 40-character hex commit hash")
    return value.lower()


def _actor(ctx: Ctx, ref: Any, fallback: str | None) -> dict[str, Any]:
    user = ctx.state.bb_user(ref if isinstance(ref, str) else fallback)
    if user is None:
        user = ctx.state.bitbucket["users"][0]
    return user


def pullrequest(ctx: Ctx, body: dict[str, Any]) -> dict[str, Any]:
    action = body.get("action", "created")
    if action not in _ACTIONS:
        raise EventError(400, f"action: one of {list(_ACTIONS)}")
    pid = body.get("id")
    if isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0:
        raise EventError(400, "id: a positive integer")
    event = f"pullrequest:{action}"
    with ctx.state.lock:
        ws_slug, ws, slug, repo = _locate(ctx, body.get("repo"))
        pr = next((p for p in repo["pullrequests"] if p["id"] == pid), None)
        if pr is None and action != "created":
            raise EventError(404, f"pull request {pid} does not exist; send action=created first")
        if pr is None:
            pr = {
                "id": pid,
                "title": "",
                "description": "",
                "state": "OPEN",
                "author": None,
                "source_branch": "",
                "source_hash": "",
                "destination_branch": repo["mainbranch"],
                "destination_hash": "",
                "merge_hash": None,
                "closed_by": None,
                "close_source_branch": False,
                "created_on": iso_now(),
                "comments": [],
            }
            repo["pullrequests"].append(pr)
        actor = _actor(ctx, body.get("author"), pr["author"])
        pr["author"] = pr["author"] or actor["uuid"]
        for key in ("title", "description", "source_branch", "destination_branch"):
            if isinstance(body.get(key), str):
                pr[key] = body[key]
        for key in ("source_hash", "destination_hash"):
            value = _hash(body, key, required=not pr[key])
            if value:
                pr[key] = value
        branch_of = {"source_hash": "source_branch", "destination_hash": "destination_branch"}
        for key, branch in branch_of.items():
            ctx.state.add_commit(repo, pr[key], author=pr["author"], branch=pr[branch])
        if action == "fulfilled":
            merge = hashlib.sha256(f"merge:{slug}:{pid}:{pr['source_hash']}".encode()).hexdigest()[
                :40
            ]
            ctx.state.add_commit(
                repo,
                merge,
                branch=pr["destination_branch"],
                message=f"Merged in {pr['source_branch']} (pull request #{pid})\n",
            )
            repo["branches"][pr["destination_branch"]] = merge
            pr.update(state="MERGED", merge_hash=merge, closed_by=actor["uuid"])
        elif action == "rejected":
            pr.update(state="DECLINED", closed_by=actor["uuid"])
        pr["updated_on"] = iso_now()
        found = (ws_slug, ws, slug, repo)
        payload = {
            "pullrequest": pr_obj(ctx, found, pr),
            "repository": shapes.repo_full(ctx.bb_api, ws_slug, ws, slug, repo),
            "actor": shapes.user_obj(ctx.bb_api, actor),
        }
        hooks = _subscribed(ws, repo, event)
    return {
        "event": event,
        "pullrequest": pid,
        "deliveries": deliver(ctx.state, event, payload, hooks),
    }


def _ref(
    ctx: Ctx,
    found: tuple[str, dict[str, Any], str, dict[str, Any]],
    kind: str,
    name: str,
    commit: dict[str, Any],
) -> dict[str, Any]:
    ws_slug, _ws, slug, repo = found
    api = ctx.bb_api
    author = ctx.state.bb_user(commit["author"])
    target = shapes.commit_obj(api, ws_slug, slug, repo, commit, author=author)
    target.pop("repository", None)
    plural = "branches" if kind == "branch" else "tags"
    return {
        "type": kind,
        "name": name,
        "target": target,
        "links": {
            "self": {"href": f"{api}/repositories/{ws_slug}/{slug}/refs/{plural}/{name}"},
            "commits": {"href": f"{api}/repositories/{ws_slug}/{slug}/commits/{name}"},
            "html": {"href": f"{api.rsplit('/2.0', 1)[0]}/{ws_slug}/{slug}/branch/{name}"},
        },
    }


def push(ctx: Ctx, body: dict[str, Any]) -> dict[str, Any]:
    name = body.get("branch") or body.get("tag")
    kind = "tag" if body.get("tag") else "branch"
    if not isinstance(name, str) or not name:
        raise EventError(400, "branch (or tag): required")
    new_hash = _hash(body, "hash", required=False)
    event = "repo:push"
    with ctx.state.lock:
        ws_slug, ws, slug, repo = _locate(ctx, body.get("repo"))
        found = (ws_slug, ws, slug, repo)
        actor = _actor(ctx, body.get("author"), None)
        old_hash = _hash(body, "old_hash", required=False)
        if old_hash is None and kind == "branch":
            old_hash = repo["branches"].get(name)
        old = new = None
        if old_hash:
            old = _ref(ctx, found, kind, name, ctx.state.add_commit(repo, old_hash, branch=name))
        if new_hash:
            commit = ctx.state.add_commit(
                repo,
                new_hash,
                author=actor["uuid"],
                branch=name,
                message=str(body.get("message") or "Sandbox push\n"),
            )
            new = _ref(ctx, found, kind, name, commit)
            if kind == "branch":
                repo["branches"][name] = new_hash
        elif kind == "branch":
            repo["branches"].pop(name, None)
        change = {
            "old": old,
            "new": new,
            "created": old is None,
            "closed": new is None,
            "forced": False,
            "truncated": False,
            "commits": [dict(new["target"])] if new else [],
        }
        payload = {
            "push": {"changes": [change]},
            "repository": shapes.repo_full(ctx.bb_api, ws_slug, ws, slug, repo),
            "actor": shapes.user_obj(ctx.bb_api, actor),
        }
        hooks = _subscribed(ws, repo, event)
    return {"event": event, "deliveries": deliver(ctx.state, event, payload, hooks)}
