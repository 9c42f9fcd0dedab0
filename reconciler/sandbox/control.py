"""The ``/_sandbox/`` control API (no auth): state, request log, faults, events, deliveries.

Control calls are never written to the request log and never get faults, so a test can assert
"zero write calls" from the log without filtering.

    GET    /_sandbox/state          the whole state document (SEED.md), secret values included
    PUT    /_sandbox/state          replace it (same format; 400 {"error"} and no change if invalid)
    POST   /_sandbox/reset          back to the start seed; clears logs and faults
    GET    /_sandbox/requests       [{system, method, path, query, status, duration_ms, fault}]
                                    filters: ?system=bitbucket|drone ?method=PUT ?writes=true
    DELETE /_sandbox/requests       clear the log
    GET    /_sandbox/faults         current fault configuration
    PUT    /_sandbox/faults         replace it: {"seed": 1, "latency_ms": 20 | [min, max],
                                    "error_rate": 0.1, "error_status": [500, 502, 503],
                                    "drop_rate": 0.05, "scope": {"systems": ["bitbucket"],
                                    "methods": ["PUT"], "families": [...]},
                                    "rate_limits": {"bitbucket:webhooks": {"limit": 1000,
                                    "window_s": 3600, "retry_after": 2 | null} | null}}
                                    families: bitbucket:webhooks, bitbucket:repositories,
                                    bitbucket:other, drone. Unlisted families keep the default
                                    (webhooks 1000/h); null lifts a limit. Scope limits latency,
                                    errors and drops, not rate limits.
    DELETE /_sandbox/faults         back to no faults (default rate limits)
    POST   /_sandbox/events/pullrequest  {repo, id, action: created|updated|fulfilled|rejected,
                                    title?, description?, source_branch, source_hash (40 hex),
                                    destination_branch?, destination_hash, author? (uuid)}
    POST   /_sandbox/events/push    {repo, branch | tag, hash (40 hex, null = delete),
                                    old_hash?, author?, message?}
                                    both answer {event, deliveries: [{hook_uuid, subject_type,
                                    description, url (secrets REDACTED), event, attempts,
                                    status | error | skipped, via?}]}
    GET    /_sandbox/deliveries     {"webhooks": [...as above], "drone_hook": [{event, repo,
                                    status, message, build?}]}
    DELETE /_sandbox/deliveries     clear both
    GET    /_sandbox/env            the client environment (as Sandbox.env())
"""

from __future__ import annotations

from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Response

from . import events
from .faults import FaultError
from .seed import SeedError
from .state import SandboxState
from .web import BadJson, Ctx, Handler, empty, json_response, read_json

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def sandbox_env(state: SandboxState, root: str) -> dict[str, str]:
    """Client environment for this sandbox. The Bitbucket caller is the first user with an API
    token and email; the Drone caller is the first admin with a token (else the first user)."""
    with state.lock:
        bb_user = next(
            (u for u in state.bitbucket["users"] if u["api_token"] and u["email"]),
            state.bitbucket["users"][0],
        )
        drone_users = state.drone["users"]
        drone_user = next((u for u in drone_users if u["admin"]), drone_users[0])
        return {
            "BITBUCKET_API_URL": f"{root}/bitbucket/2.0",
            "BITBUCKET_OAUTH_URL": f"{root}/bitbucket/site/oauth2/access_token",
            "BITBUCKET_USERNAME": bb_user["email"] or "",
            "BITBUCKET_API_TOKEN": bb_user["api_token"] or "",
            "DRONE_SERVER": f"{root}/drone",
            "DRONE_TOKEN": drone_user["token"],
        }


def _error(status: int, message: str) -> Response:
    return json_response({"error": message}, status)


def _body(ctx: Ctx) -> Any:
    return read_json(ctx.request)


def state(ctx: Ctx, args: dict[str, str]) -> Response:
    if ctx.request.method == "GET":
        return json_response(ctx.state.snapshot())
    try:
        return json_response(ctx.state.replace(_body(ctx)))
    except (BadJson, SeedError) as exc:
        return _error(400, str(exc))


def reset(ctx: Ctx, args: dict[str, str]) -> Response:
    ctx.state.reset()
    if ctx.faults is not None:
        ctx.faults.configure({})
    return json_response(ctx.state.snapshot())


def requests_log(ctx: Ctx, args: dict[str, str]) -> Response:
    if ctx.request.method == "DELETE":
        with ctx.state.lock:
            ctx.state.requests.clear()
        return empty()
    q = ctx.request.args
    with ctx.state.lock:
        items = list(ctx.state.requests)
    if q.get("system"):
        items = [i for i in items if i["system"] == q["system"]]
    if q.get("method"):
        items = [i for i in items if i["method"] == q["method"].upper()]
    if q.get("writes") == "true":
        items = [i for i in items if i["method"] in WRITE_METHODS]
    return json_response(items)


def faults(ctx: Ctx, args: dict[str, str]) -> Response:
    assert ctx.faults is not None
    method = ctx.request.method
    if method == "GET":
        return json_response(ctx.faults.config())
    try:
        raw = {} if method == "DELETE" else _body(ctx)
        return json_response(ctx.faults.configure(raw))
    except (BadJson, FaultError) as exc:
        return _error(400, str(exc))


def _event(ctx: Ctx, fn: Any) -> Response:
    try:
        body = _body(ctx)
        if not isinstance(body, dict):
            return _error(400, "expected a JSON object")
        return json_response(fn(ctx, body))
    except BadJson as exc:
        return _error(400, str(exc))
    except events.EventError as exc:
        return _error(exc.status, str(exc))


def event_pullrequest(ctx: Ctx, args: dict[str, str]) -> Response:
    return _event(ctx, events.pullrequest)


def event_push(ctx: Ctx, args: dict[str, str]) -> Response:
    return _event(ctx, events.push)


def deliveries(ctx: Ctx, args: dict[str, str]) -> Response:
    with ctx.state.lock:
        if ctx.request.method == "DELETE":
            ctx.state.deliveries.clear()
            ctx.state.drone_hooks.clear()
            return empty()
        return json_response(
            {"webhooks": list(ctx.state.deliveries), "drone_hook": list(ctx.state.drone_hooks)}
        )


def env(ctx: Ctx, args: dict[str, str]) -> Response:
    return json_response(sandbox_env(ctx.state, ctx.root))


# Handlers that manage the lock themselves (they deliver webhooks, which must not hold it).
UNLOCKED: frozenset[Handler] = frozenset({event_pullrequest, event_push})


def rules() -> list[Rule]:
    base = "/_sandbox"
    return [
        Rule(f"{base}/state", endpoint=state, methods=["GET", "PUT"]),
        Rule(f"{base}/reset", endpoint=reset, methods=["POST"]),
        Rule(f"{base}/requests", endpoint=requests_log, methods=["GET", "DELETE"]),
        Rule(f"{base}/faults", endpoint=faults, methods=["GET", "PUT", "DELETE"]),
        Rule(f"{base}/events/pullrequest", endpoint=event_pullrequest, methods=["POST"]),
        Rule(f"{base}/events/push", endpoint=event_push, methods=["POST"]),
        Rule(f"{base}/deliveries", endpoint=deliveries, methods=["GET", "DELETE"]),
        Rule(f"{base}/env", endpoint=env, methods=["GET"]),
    ]
