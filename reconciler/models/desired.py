"""The desired-state schema, version 1 (DESIGN section 3), as frozen pydantic models.

These models validate one merged document as written. Expanding `defaults` and `roles` into
resources happens in `models/normalise.py`; reading files and mapping errors to lines, in
`loader.py`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from reconciler.models.cron import check_cron_expr, check_cron_name

# Bitbucket Cloud's 29 valid webhook event keys (API.md 4.3, the spec's enum).
EVENT_KEYS: tuple[str, ...] = (
    "repo:push",
    "repo:fork",
    "repo:updated",
    "repo:transfer",
    "repo:created",
    "repo:deleted",
    "repo:imported",
    "repo:commit_comment_created",
    "repo:commit_status_created",
    "repo:commit_status_updated",
    "pullrequest:created",
    "pullrequest:updated",
    "pullrequest:push",
    "pullrequest:approved",
    "pullrequest:unapproved",
    "pullrequest:changes_request_created",
    "pullrequest:changes_request_removed",
    "pullrequest:fulfilled",
    "pullrequest:rejected",
    "pullrequest:comment_created",
    "pullrequest:comment_updated",
    "pullrequest:comment_deleted",
    "pullrequest:comment_resolved",
    "pullrequest:comment_reopened",
    "issue:created",
    "issue:updated",
    "issue:comment_created",
    "project:updated",
    "pipeline:span_created",
)

SECRET_HINT = "write a reference instead, e.g. {env: NAME} or {file: /run/secrets/name}"


def _check_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{value!r} is not an absolute http(s) URL")
    return value


def _pattern(regex: str, what: str) -> AfterValidator:
    compiled = re.compile(regex)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(f"{value!r} is not a valid {what}")
        return value

    return AfterValidator(check)


def _check_event(value: str) -> str:
    if value not in EVENT_KEYS:
        import difflib

        close = difflib.get_close_matches(value, EVENT_KEYS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(f"{value!r} is not a Bitbucket webhook event{hint}")
    return value


def _reject_literal_secret(value: Any) -> Any:
    if isinstance(value, str | int | float | bool):
        raise ValueError(f"a secret cannot be a literal value: {SECRET_HINT}")
    return value


Url = Annotated[str, AfterValidator(_check_url)]
EventKey = Annotated[str, AfterValidator(_check_event)]
Permission = Literal["read", "write", "admin"]
SecretName = Annotated[str, _pattern(r"[A-Za-z0-9._-]+", "Drone secret name ([A-Za-z0-9._-]+)")]
CronName = Annotated[str, AfterValidator(check_cron_name)]
CronExpr = Annotated[str, AfterValidator(check_cron_expr)]
DroneLogin = Annotated[str, _pattern(r"[.a-zA-Z0-9_-]{1,50}", "Drone login ([.a-zA-Z0-9_-], 1-50)")]
Slug = Annotated[str, _pattern(r"[a-z0-9][a-z0-9._-]*", "slug (lower-case a-z0-9._-)")]
UserId = Annotated[
    str,
    _pattern(
        r"\{[0-9a-fA-F-]{36}\}|[0-9]+:[0-9a-fA-F-]{36}|[0-9a-f]{24}",
        "Bitbucket account id ({uuid} or Atlassian account_id)",
    ),
]
PruneMode = Literal["all", "managed", "none"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class SecretRef(_Model):
    """`{env: NAME}` or `{file: PATH}`, with an optional `version` to force a rotation."""

    env: Annotated[str, _pattern(r"[A-Za-z_][A-Za-z0-9_]*", "environment variable name")] | None = (
        None
    )
    file: Annotated[str, Field(min_length=1)] | None = None
    version: Annotated[int, Field(gt=0)] | None = None

    @model_validator(mode="after")
    def _one_source(self) -> SecretRef:
        if (self.env is None) == (self.file is None):
            raise ValueError(f"a secret reference needs exactly one of env or file: {SECRET_HINT}")
        return self


Secret = Annotated[SecretRef, BeforeValidator(_reject_literal_secret)]


class BitbucketSection(_Model):
    workspace: Slug


class DroneUser(_Model):
    machine: bool | None = None
    admin: bool | None = None
    active: bool | None = None


class SecretSpec(_Model):
    value: Secret
    pull_request: bool | None = None
    pull_request_push: bool | None = None


class DroneSection(_Model):
    server: Url
    owner: DroneLogin | None = None
    users: dict[DroneLogin, DroneUser] = Field(default_factory=dict)
    org_secrets: dict[SecretName, SecretSpec] = Field(default_factory=dict)


class OAuthConsumer(_Model):
    client_id: Secret
    client_secret: Secret
    callback_url: Url | None = None
    scopes: list[str] | None = None


class Role(_Model):
    permission: Permission
    groups: list[Slug] = Field(default_factory=list)
    users: list[UserId] = Field(default_factory=list)


class Prune(_Model):
    permissions: PruneMode = "all"
    webhooks: PruneMode = "managed"
    secrets: PruneMode = "managed"
    cron: PruneMode = "managed"
    users: PruneMode = "none"


class Policy(_Model):
    max_deletions: Annotated[int, Field(ge=0)] = 10
    prune: Prune = Field(default_factory=Prune)
    drift: Literal["report", "heal"] = "report"


class Webhook(_Model):
    url: Url
    events: Annotated[list[EventKey], Field(min_length=1)]
    active: bool | None = None
    secret: Secret | None = None

    @model_validator(mode="after")
    def _unique_events(self) -> Webhook:
        seen = [e for i, e in enumerate(self.events) if e in self.events[:i]]
        if seen:
            raise ValueError(f"events lists {seen[0]!r} twice")
        return self


class Cron(_Model):
    expr: CronExpr
    branch: Annotated[str, Field(min_length=1)]
    disabled: bool | None = None


class DroneRepo(_Model):
    active: bool | None = None
    config_path: Annotated[str, Field(min_length=1)] | None = None
    timeout: Annotated[int, Field(gt=0)] | None = None
    visibility: Literal["public", "private", "internal"] | None = None
    protected: bool | None = None
    trusted: bool | None = None
    ignore_forks: bool | None = None
    ignore_pull_requests: bool | None = None
    auto_cancel_pull_requests: bool | None = None
    auto_cancel_pushes: bool | None = None
    auto_cancel_running: bool | None = None
    throttle: Annotated[int, Field(ge=0)] | None = None
    secrets: dict[SecretName, SecretSpec | None] = Field(default_factory=dict)
    cron: dict[CronName, Cron | None] = Field(default_factory=dict)


class Permissions(_Model):
    groups: dict[Slug, Permission | None] = Field(default_factory=dict)
    users: dict[UserId, Permission | None] = Field(default_factory=dict)


class Repository(_Model):
    """One repository, or `defaults` (merged under every repository; `null` removes a default)."""

    roles: list[str] | None = None
    permissions: Permissions | None = None
    webhooks: dict[str, Webhook | None] = Field(default_factory=dict)
    drone: DroneRepo | None = None


class DesiredDocument(_Model):
    """The whole desired state: every YAML file of the directory merged into one document."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        title="reconciler desired state",
        json_schema_extra={"$schema": "https://json-schema.org/draft/2020-12/schema"},
    )

    version: Annotated[int, Field(gt=0)]
    bitbucket: BitbucketSection
    drone: DroneSection | None = None
    oauth_consumers: dict[str, OAuthConsumer] = Field(default_factory=dict)
    roles: dict[str, Role] = Field(default_factory=dict)
    policy: Policy = Field(default_factory=Policy)
    defaults: Repository = Field(default_factory=Repository)
    repositories: dict[Slug, Repository | None] = Field(default_factory=dict)


def editor_schema() -> dict[str, Any]:
    """The JSON Schema for editors. An editor checks one file at a time and each file holds only
    part of the document, so the top level requires nothing; `reconciler validate` checks that
    `version` and `bitbucket` are present in the whole."""
    schema = DesiredDocument.model_json_schema()
    schema.pop("required", None)
    schema["description"] = (
        "One file of a reconciler desired-state directory. Files merge into one document; "
        "run `reconciler validate` to check the whole."
    )
    return schema
