"""Bitbucket authentication and scope checks.

HTTP Basic (account email + API token) carries new-style scopes (``read:webhook:bitbucket``);
Bearer tokens (OAuth ``client_credentials`` grants or seeded access tokens) carry legacy scopes
(``webhook``, ``repository:admin``). Each route names the scopes it accepts in both styles, the way
the OpenAPI operations do (``security`` and ``x-atlassian-oauth2-scopes``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Response

from .web import Ctx, bb_error

_IMPLIES: dict[str, set[str]] = {
    "pullrequest": {"repository"},
    "pullrequest:write": {"pullrequest", "repository", "repository:write"},
    "repository:write": {"repository"},
    "project": {"repository"},
    "project:admin": {"project", "repository"},
    "account:write": {"account"},
    "team:write": {"team"},
    "issue:write": {"issue"},
}

INSUFFICIENT = "Your credentials lack one or more required privilege scopes."


@dataclass
class Principal:
    user: dict[str, Any]
    method: str  # "api_token" | "oauth" | "access_token"
    scopes: list[str]

    def legacy_scopes(self) -> set[str]:
        out = set(self.scopes)
        for s in self.scopes:
            out |= _IMPLIES.get(s, set())
        return out


def _unauthorized(message: str) -> Response:
    return bb_error(401, message, headers={"WWW-Authenticate": 'Basic realm="Bitbucket.org HTTP"'})


def authenticate(ctx: Ctx) -> Principal | Response:
    """Identify the caller or answer 401 with Bitbucket's error body."""
    auth = ctx.request.authorization
    state = ctx.state
    if auth is None:
        return _unauthorized("Authentication required")
    if auth.type == "basic":
        email = (auth.username or "").lower()
        for u in state.bitbucket["users"]:
            token = u["api_token"]
            if token and u["email"] and u["email"].lower() == email and token == auth.password:
                return Principal(dict(u), "api_token", list(u["scopes"]))
        return _unauthorized("Invalid credentials")
    if auth.type == "bearer":
        for t in state.bitbucket["access_tokens"]:
            if t["token"] != auth.token:
                continue
            if t["expires_at"] is not None and float(t["expires_at"]) < time.time():
                return _unauthorized("Access token expired.")
            user = state.bb_user(t["user"])
            if user is None:
                break
            return Principal(user, t["kind"], list(t["scopes"]))
        return _unauthorized("Invalid access token")
    return _unauthorized("Unsupported authentication scheme")


def require(
    ctx: Ctx, principal: Principal, *, legacy: str | None, new: tuple[str, ...]
) -> Response | None:
    """Set the scope headers; answer 403 when the credential lacks the route's scopes."""
    ctx.headers["X-OAuth-Scopes"] = ", ".join(principal.scopes)
    ctx.headers["X-Accepted-OAuth-Scopes"] = legacy or ""
    if principal.method == "api_token":
        missing = [s for s in new if s not in principal.scopes]
        required = list(new)
    else:
        missing = [legacy] if legacy and legacy not in principal.legacy_scopes() else []
        required = [legacy] if legacy else []
    if missing:
        return bb_error(
            403,
            INSUFFICIENT,
            detail={"required": required, "granted": principal.scopes},
            headers=ctx.headers,
        )
    return None


def login(ctx: Ctx, *, legacy: str | None, new: tuple[str, ...]) -> Principal | Response:
    """authenticate + require in one call; handlers start with this."""
    principal = authenticate(ctx)
    if isinstance(principal, Response):
        return principal
    ctx.caller = principal.user
    denied = require(ctx, principal, legacy=legacy, new=new)
    return denied if denied is not None else principal
