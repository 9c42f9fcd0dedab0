"""Drone's webhook receiver (``POST /drone/hook``, drone/API.md 7.4) and build records.

Bitbucket Cloud deliveries are authenticated by the ``secret`` query parameter compared with the
repository signer, not by a body signature. Events deliver here in-process when a hook URL points
at Drone's public host, so the receiver is a plain function as well as a route.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Response

from . import dronecore as core
from .state import SandboxState
from .web import Ctx

KNOWN_EVENTS = (
    "repo:push",
    "pullrequest:created",
    "pullrequest:updated",
    "pullrequest:fulfilled",
    "pullrequest:rejected",
    "pullrequest:comment_created",
    "pullrequest:comment_updated",
    "pullrequest:comment_deleted",
)


def new_build(state: SandboxState, row: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """Record a pending build; the repository counter gives its number."""
    row["counter"] += 1
    ts = core.now()
    build = {
        "id": state.next_id(state.drone["builds"]),
        "repo_id": row["id"],
        "trigger": "@hook",
        "number": row["counter"],
        "status": "pending",
        "event": "push",
        "action": "",
        "link": row["link"],
        "timestamp": ts,
        "message": "",
        "before": "",
        "after": "",
        "ref": "",
        "source_repo": "",
        "source": "",
        "target": "",
        "author_login": "",
        "author_name": "",
        "author_email": "",
        "author_avatar": "",
        "sender": "",
        "started": 0,
        "finished": 0,
        "created": ts,
        "updated": ts,
        "version": 1,
    }
    build.update(fields)
    state.drone["builds"].append(build)
    return build


def _push_build(state: SandboxState, row: dict[str, Any], payload: dict[str, Any]) -> Any:
    changes = ((payload.get("push") or {}).get("changes")) or []
    if not changes:
        return None
    change = changes[0]
    new, old = change.get("new"), change.get("old")
    if new is None:
        return 204  # branch or tag deleted: cleanup only
    target = new.get("target") or {}
    kind = new.get("type", "branch")
    name = new.get("name", "")
    actor = payload.get("actor") or {}
    return new_build(
        state,
        row,
        event="tag" if kind == "tag" else "push",
        message=target.get("message", ""),
        before=((old or {}).get("target") or {}).get("hash", ""),
        after=target.get("hash", ""),
        ref=f"refs/tags/{name}" if kind == "tag" else f"refs/heads/{name}",
        source=name,
        target=name,
        author_login=actor.get("nickname", ""),
        author_name=actor.get("display_name", ""),
        sender=actor.get("nickname", ""),
    )


def receive(state: SandboxState, *, event: str, secret: str, body: bytes) -> tuple[int, bytes]:
    """Handle one delivery; returns (status, body). Caller holds no lock; this takes it."""
    record: dict[str, Any] = {"event": event, "repo": None, "status": 200, "message": ""}
    status, out = _receive(state, event, secret, body, record)
    record["status"] = status
    with state.lock:
        state.drone_hooks.append(record)
    return status, out


def _receive(
    state: SandboxState, event: str, secret: str, body: bytes, record: dict[str, Any]
) -> tuple[int, bytes]:
    if event not in KNOWN_EVENTS:
        return 200, b""
    try:
        payload = json.loads(body)
        full_name = payload["repository"]["full_name"]
        namespace, name = full_name.split("/", 1)
    except (ValueError, KeyError, TypeError, AttributeError):
        record["message"] = "Cannot parse webhook"
        return 400, b'{"message":"Cannot parse webhook"}\n'
    record["repo"] = full_name
    with state.lock:
        row = state.drone_repo(namespace, name)
        if row is None:
            record["message"] = "Cannot find repository"
            return 400, b'{"message":"Cannot find repository"}\n'
        if not row["signer"] or not secrets.compare_digest(row["signer"], secret):
            record["message"] = "Invalid webhook signature"
            return 400, b'{"message":"Invalid webhook signature"}\n'
        if not row["active"]:
            record["message"] = "repository inactive: ignored"
            return 200, b""
        if event in ("pullrequest:rejected", "pullrequest:fulfilled"):
            return 204, b""
        if event != "repo:push":
            record["message"] = "ignored (Drone 2.x builds no Bitbucket Cloud pull requests)"
            return 200, b""
        build = _push_build(state, row, payload)
        if build == 204:
            return 204, b""
        record["build"] = build["number"] if isinstance(build, dict) else None
        return 200, (json.dumps(build, separators=(",", ":")) + "\n").encode()


def hook(ctx: Ctx, args: dict[str, str]) -> Response:
    status, body = receive(
        ctx.state,
        event=ctx.request.headers.get("X-Event-Key", ""),
        secret=ctx.request.args.get("secret", ""),
        body=ctx.request.get_data(),
    )
    return Response(body, status=status, content_type="application/json" if body else None)


def rules() -> list[Rule]:
    return [Rule("/drone/hook", endpoint=hook, methods=["POST"])]
