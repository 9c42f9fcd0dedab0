"""Bitbucket readers: a fetch (`read_*`) and a pure `parse_*` per payload.

Parsers turn recorded API JSON into canonical live records (DESIGN section 4): event lists as
sorted tuples, server ids in `handle`, write-only values only as `sensitive_set`. They are tested
on the recorded payloads under `../shared/reference/bitbucket-cloud/fixtures/`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from reconciler.errors import ApiError
from reconciler.models import address
from reconciler.models.live import DroneHook, OAuthVerification
from reconciler.models.resources import LiveResource
from reconciler.providers.bitbucket.client import BitbucketClient

# `fields=` per listing: only what the parser reads, and always `next` (or pagination stops).
HOOK_FIELDS = (
    "values.uuid,values.description,values.url,values.events,values.active,values.secret_set,next"
)
GROUP_FIELDS = "values.permission,values.group.slug,next"
USER_FIELDS = "values.permission,values.user.uuid,next"
EFFECTIVE_FIELDS = (
    "values.permission,values.user.uuid,values.user.nickname,values.repository.full_name,next"
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Hooks:
    """One repository's hooks, split: managed webhooks, and Drone's own (redacted) hooks."""

    resources: tuple[LiveResource, ...]
    drone_hooks: tuple[DroneHook, ...]


@dataclass(frozen=True)
class BitbucketUser:
    name: str | None
    uuid: str | None
    scopes: tuple[str, ...]  # from X-OAuth-Scopes; empty when the header is absent
    accepted_scopes: tuple[str, ...]  # from X-Accepted-OAuth-Scopes


# -- URLs -------------------------------------------------------------------------------------


def host_of(url: str | None) -> str | None:
    """Host and non-default port, lower-cased: how Drone decides a hook points at itself."""
    if not url:
        return None
    parts = urlsplit(url)
    if not parts.hostname:
        return None
    port = parts.port
    if port is None or port == _DEFAULT_PORTS.get(parts.scheme.lower()):
        return parts.hostname.lower()
    return f"{parts.hostname.lower()}:{port}"


def redact_url(url: str) -> str:
    """Every query value becomes `***` (Drone's hook URL carries its signer as `?secret=`);
    user-info is dropped. Keys stay, so a reader still sees that a secret is present."""
    parts = urlsplit(url)
    query = "&".join(f"{pair.partition('=')[0]}=***" for pair in parts.query.split("&") if pair)
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


# -- pure parsers -----------------------------------------------------------------------------


def parse_hooks(repo: str, values: Iterable[Mapping[str, Any]], *, drone_host: str | None) -> Hooks:
    """Hooks on Drone's host go to `drone_hooks` (URL redacted) and never into resources.

    Descriptions are the webhook identity. When two other hooks share one, the first keeps the
    plain address and each later one gets `…/<description>#<uuid>`: it matches nothing declared,
    so the plan can prune it instead of the two fighting over one address.
    """
    workspace, slug = repo.split("/", 1)
    resources: list[LiveResource] = []
    drone: list[DroneHook] = []
    seen: set[str] = set()
    for hook in values:
        url = str(hook.get("url") or "")
        uuid = str(hook.get("uuid") or "")
        events = tuple(sorted(str(e) for e in hook.get("events") or ()))
        active = bool(hook.get("active", False))
        if drone_host and host_of(url) == drone_host:
            drone.append(DroneHook(repo, uuid, redact_url(url), events, active))
            continue
        description = str(hook.get("description") or "")
        ident = description if description not in seen else f"{description}#{uuid}"
        seen.add(description)
        resources.append(
            LiveResource(
                address=address.webhook(workspace, slug, ident),
                fields={"url": url, "events": events, "active": active},
                handle={"uuid": uuid},
                sensitive_set=frozenset({"secret"}) if hook.get("secret_set") else frozenset(),
            )
        )
    return Hooks(tuple(resources), tuple(drone))


def _permission(repo: str, kind: str, principal: str, value: Any) -> LiveResource:
    workspace, slug = repo.split("/", 1)
    return LiveResource(
        address=address.permission(workspace, slug, kind, principal),
        fields={"permission": str(value)},
        handle={"principal_type": kind, "principal": principal},
    )


def parse_group_permissions(
    repo: str, values: Iterable[Mapping[str, Any]]
) -> tuple[LiveResource, ...]:
    """Explicit group grants (`permissions-config/groups`), keyed by group slug."""
    return tuple(
        _permission(repo, "group", str(v["group"]["slug"]), v.get("permission"))
        for v in values
        if (v.get("group") or {}).get("slug")
    )


def parse_user_permissions(
    repo: str, values: Iterable[Mapping[str, Any]]
) -> tuple[LiveResource, ...]:
    """Explicit user grants (`permissions-config/users`), keyed by `{account uuid}`."""
    return tuple(
        _permission(repo, "user", str(v["user"]["uuid"]), v.get("permission"))
        for v in values
        if (v.get("user") or {}).get("uuid")
    )


def parse_effective_permissions(
    values: Iterable[Mapping[str, Any]], *, repos: Collection[str] | None = None
) -> dict[str, dict[str, str]]:
    """repo `workspace/slug` -> account uuid -> effective permission, for `repos` only (if
    given). Entries without a user or repository (as in some recorded payloads) are skipped."""
    result: dict[str, dict[str, str]] = {}
    for entry in values:
        repo = (entry.get("repository") or {}).get("full_name")
        user = (entry.get("user") or {}).get("uuid")
        if not repo or not user or (repos is not None and repo not in repos):
            continue
        result.setdefault(str(repo), {})[str(user)] = str(entry.get("permission"))
    return result


def parse_accounts(values: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Bitbucket nickname -> account uuid, from the users in the effective listing. On Bitbucket
    Cloud a Drone login is the user's Bitbucket nickname: this ties the two systems' users."""
    found: dict[str, str] = {}
    for entry in values:
        user = entry.get("user") or {}
        if user.get("nickname") and user.get("uuid"):
            found[str(user["nickname"])] = str(user["uuid"])
    return dict(sorted(found.items()))


def _scopes(header: str | None) -> tuple[str, ...]:
    return tuple(sorted({s for s in (header or "").replace(",", " ").split() if s}))


def parse_user(body: Mapping[str, Any], headers: Mapping[str, str]) -> BitbucketUser:
    name = body.get("nickname") or body.get("username") or body.get("display_name")
    return BitbucketUser(
        name=str(name) if name else None,
        uuid=str(body["uuid"]) if body.get("uuid") else None,
        scopes=_scopes(headers.get("X-OAuth-Scopes")),
        accepted_scopes=_scopes(headers.get("X-Accepted-OAuth-Scopes")),
    )


def parse_token_grant(body: Mapping[str, Any]) -> OAuthVerification:
    """A successful client_credentials grant proves the consumer exists, the secret is current
    and the consumer is private (public consumers cannot use this grant)."""
    return OAuthVerification(
        exists=True, secret_valid=True, private=True, scopes=_scopes(body.get("scopes"))
    )


def parse_token_error(error: ApiError) -> OAuthVerification:
    """`unauthorized_client` = the key and secret were accepted but the consumer is public;
    `invalid_client` (or 401) = unknown key or wrong secret, which Bitbucket does not tell apart."""
    if "unauthorized_client" in error.message:
        return OAuthVerification(exists=True, secret_valid=True, private=False, error=error.message)
    return OAuthVerification(exists=False, secret_valid=False, private=False, error=error.message)


# -- fetch + parse ----------------------------------------------------------------------------


def read_user(client: BitbucketClient) -> BitbucketUser:
    reply = client.get_user()
    return parse_user(reply.body or {}, reply.headers)


def read_hooks(
    client: BitbucketClient, workspace: str, slug: str, *, drone_host: str | None
) -> Hooks:
    values = client.list_hooks(workspace, slug, fields=HOOK_FIELDS)
    return parse_hooks(f"{workspace}/{slug}", values, drone_host=drone_host)


def read_group_permissions(
    client: BitbucketClient, workspace: str, slug: str
) -> tuple[LiveResource, ...]:
    values = client.list_group_permissions(workspace, slug, fields=GROUP_FIELDS)
    return parse_group_permissions(f"{workspace}/{slug}", values)


def read_user_permissions(
    client: BitbucketClient, workspace: str, slug: str
) -> tuple[LiveResource, ...]:
    values = client.list_user_permissions(workspace, slug, fields=USER_FIELDS)
    return parse_user_permissions(f"{workspace}/{slug}", values)


def read_effective_permissions(
    client: BitbucketClient, workspace: str, *, repos: Collection[str]
) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """Effective permissions by repo and account, and the accounts' nicknames, in one listing."""
    values = list(client.list_workspace_repo_permissions(workspace, fields=EFFECTIVE_FIELDS))
    return parse_effective_permissions(values, repos=repos), parse_accounts(values)


def verify_oauth_consumer(
    client: BitbucketClient, *, client_id: str, client_secret: str
) -> OAuthVerification:
    """Verify-only: Bitbucket has no API to read or write OAuth consumers (API.md section 6).
    400/401 answers are results, not failures; anything else (5xx, network) raises."""
    try:
        body = client.request_client_credentials(client_id=client_id, client_secret=client_secret)
    except ApiError as error:
        if error.status in (400, 401):
            return parse_token_error(error)
        raise
    return parse_token_grant(body or {})
