"""Bitbucket's OAuth 2 token endpoint (``/site/oauth2/access_token``), enough to verify a
consumer: ``client_credentials`` for private consumers and ``refresh_token``. Bitbucket has no
API for the consumers themselves (API.md section 6); they exist only in the seed."""

from __future__ import annotations

import secrets
import time
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Response

from .web import Ctx, json_response

TOKEN_TTL = 7200


def _error(status: int, code: str, description: str) -> Response:
    return json_response({"error": code, "error_description": description}, status)


def _consumer(ctx: Ctx) -> dict[str, Any] | Response:
    auth = ctx.request.authorization
    form = ctx.request.form
    if auth is not None and auth.type == "basic":
        key, secret = auth.username or "", auth.password or ""
    else:
        key, secret = form.get("client_id", ""), form.get("client_secret", "")
    if not key:
        return _error(
            401,
            "invalid_client",
            "Client credentials missing; this request needs "
            "HTTP Basic authentication with the consumer key and secret.",
        )
    for c in ctx.state.bitbucket["oauth_consumers"]:
        if c["key"] == key:
            if not secrets.compare_digest(c["secret"].encode(), secret.encode()):
                return _error(400, "invalid_client", "Invalid OAuth client credentials")
            consumer: dict[str, Any] = c
            return consumer
    return _error(400, "invalid_client", "Invalid OAuth client credentials")


def _mint(ctx: Ctx, consumer: dict[str, Any], grant: str) -> Response:
    owner = consumer["owner"]
    if owner is None:
        ws = next(iter(ctx.state.bitbucket["workspaces"].values()), None)
        owner = ws["owners"][0] if ws and ws["owners"] else ctx.state.bitbucket["users"][0]["uuid"]
    token = {
        "token": secrets.token_urlsafe(48),
        "kind": "oauth",
        "user": owner,
        "scopes": list(consumer["scopes"]),
        "consumer": consumer["key"],
        "refresh_token": secrets.token_urlsafe(24),
        "expires_at": int(time.time()) + TOKEN_TTL,
    }
    ctx.state.bitbucket["access_tokens"].append(token)
    return json_response(
        {
            "access_token": token["token"],
            "scopes": " ".join(consumer["scopes"]),
            "expires_in": TOKEN_TTL,
            "token_type": "bearer",
            "state": grant,
            "refresh_token": token["refresh_token"],
        }
    )


def access_token(ctx: Ctx, args: dict[str, str]) -> Response:
    consumer = _consumer(ctx)
    if isinstance(consumer, Response):
        return consumer
    grant = ctx.request.form.get("grant_type", "")
    if grant == "client_credentials":
        if not consumer["private"]:
            return _error(
                400,
                "unauthorized_client",
                'Cannot use client_credentials with a consumer marked as "public". '
                "Calls for auto generated consumers should use urn:bitbucket:oauth2:jwt instead.",
            )
        return _mint(ctx, consumer, grant)
    if grant == "refresh_token":
        tokens = ctx.state.bitbucket["access_tokens"]
        refresh = ctx.request.form.get("refresh_token", "")
        old = next(
            (
                t
                for t in tokens
                if t["refresh_token"] == refresh and t["consumer"] == consumer["key"]
            ),
            None,
        )
        if not refresh or old is None:
            return _error(400, "invalid_grant", "Invalid refresh_token")
        tokens.remove(old)
        return _mint(ctx, consumer, grant)
    if not grant:
        return _error(400, "invalid_request", "Missing grant_type parameter")
    return _error(400, "unsupported_grant_type", f"Unsupported grant type: {grant}")


def rules() -> list[Rule]:
    return [Rule("/bitbucket/site/oauth2/access_token", endpoint=access_token, methods=["POST"])]
