"""Expand a validated document into normalised resources: `defaults` merged under every
repository (repository wins, null removes), roles turned into permission grants, every resource
remembering the file and line that declared it and the default or role it came through."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from reconciler.models import address as addr
from reconciler.models.address import Address, Kind
from reconciler.models.desired import DesiredDocument, Repository
from reconciler.models.desired import SecretRef as SecretRefModel
from reconciler.models.resources import (
    DesiredResource,
    DesiredState,
    Drift,
    PolicySettings,
    Prune,
    SecretRef,
    Source,
    Value,
)

KeyPath = tuple[str, ...]
Report = Callable[[Iterable[str | int], str], None]
_RANK = {"read": 1, "write": 2, "admin": 3}
_REPO_SETTINGS = (
    "active",
    "config_path",
    "timeout",
    "visibility",
    "protected",
    "trusted",
    "ignore_forks",
    "ignore_pull_requests",
    "auto_cancel_pull_requests",
    "auto_cancel_pushes",
    "auto_cancel_running",
    "throttle",
)


def merge_defaults(defaults: Mapping[str, Any], repo: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge a repository over the defaults: mappings merge, anything else is replaced by
    the repository's value, and an explicit `None` removes the default."""
    merged: dict[str, Any] = {k: v for k, v in defaults.items() if v is not None}
    for key, value in repo.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge_defaults(merged[key], value)
        else:
            merged[key] = value
    return merged


def normalise(
    document: DesiredDocument, *, where: Mapping[KeyPath, tuple[str, int]], report: Report
) -> DesiredState:
    builder = _Builder(document, where, report)
    for slug, repo in sorted(document.repositories.items()):
        builder.repository(slug, repo)
    builder.workspace_level()
    prune = document.policy.prune
    return DesiredState(
        workspace=document.bitbucket.workspace,
        resources=dict(sorted(builder.resources.items())),
        repositories=tuple(sorted(document.repositories)),
        policy=PolicySettings(
            max_deletions=document.policy.max_deletions,
            prune_permissions=Prune(prune.permissions),
            prune_webhooks=Prune(prune.webhooks),
            prune_secrets=Prune(prune.secrets),
            prune_cron=Prune(prune.cron),
            prune_users=Prune(prune.users),
            drift=Drift(document.policy.drift),
        ),
        drone_server=document.drone.server.rstrip("/") if document.drone else None,
        drone_owner=document.drone.owner if document.drone else None,
        scopes={kind: frozenset(found) for kind, found in sorted(builder.scopes.items())},
    )


def secret_ref(model: SecretRefModel) -> SecretRef:
    return SecretRef(env=model.env, file=model.file, version=model.version)


class _Builder:
    def __init__(
        self, document: DesiredDocument, where: Mapping[KeyPath, tuple[str, int]], report: Report
    ) -> None:
        self.document = document
        self.workspace = document.bitbucket.workspace
        self.where = where
        self.report = report
        self.resources: dict[Address, DesiredResource] = {}
        self.scopes: dict[str, set[str]] = {kind.value: set() for kind in Kind}
        self.defaults = document.defaults.model_dump(exclude_unset=True, by_alias=True)

    # -- sources ---------------------------------------------------------------------------

    def source(self, path: KeyPath, via: str | None = None) -> Source:
        keys = path
        while keys:
            if keys in self.where:
                file, line = self.where[keys]
                return Source(file=file, line=line, via=via)
            keys = keys[:-1]
        return Source(file="<desired-state>", line=0, via=via)

    def origin(self, slug: str, own: Mapping[str, Any], path: KeyPath) -> tuple[KeyPath, bool]:
        """Where a merged repository value was written: the repository itself or `defaults`."""
        node: Any = own
        for key in path:
            if not isinstance(node, Mapping) or key not in node:
                return ("defaults", *path), True
            node = node[key]
        return ("repositories", slug, *path), False

    def add(self, resource: DesiredResource) -> None:
        self.resources[resource.address] = resource

    # -- repositories ----------------------------------------------------------------------

    def repository(self, slug: str, repo: Repository | None) -> None:
        own = repo.model_dump(exclude_unset=True, by_alias=True) if repo else {}
        merged = Repository.model_validate(merge_defaults(self.defaults, own))
        repo_id = f"{self.workspace}/{slug}"
        self.scopes[Kind.BITBUCKET_WEBHOOK.value].add(repo_id)
        self.permissions(slug, own, merged)
        for description, hook in sorted(merged.webhooks.items()):
            if hook is None:
                continue
            path, inherited = self.origin(slug, own, ("webhooks", description))
            fields: dict[str, Value] = {"url": hook.url, "events": tuple(sorted(hook.events))}
            if hook.active is not None:
                fields["active"] = hook.active
            self.add(
                DesiredResource(
                    address=addr.webhook(self.workspace, slug, description),
                    fields=fields,
                    source=self.source(path, "defaults" if inherited else None),
                    sensitive={"secret": secret_ref(hook.secret)} if hook.secret else {},
                )
            )
        if merged.drone is not None:
            self.drone_repo(slug, own, merged)

    def permissions(self, slug: str, own: Mapping[str, Any], merged: Repository) -> None:
        if merged.roles is None and merged.permissions is None:
            return
        self.scopes[Kind.BITBUCKET_PERMISSION.value].add(f"{self.workspace}/{slug}")
        grants: dict[tuple[str, str], tuple[str, Source]] = {}
        roles_path, roles_inherited = self.origin(slug, own, ("roles",))
        for index, role_name in enumerate(merged.roles or []):
            role = self.document.roles.get(role_name)
            if role is None:
                defined = ", ".join(sorted(self.document.roles)) or "none"
                self.report(
                    (*roles_path, str(index)),
                    f"{role_name!r} is not defined (defined: {defined})",
                )
                continue
            source = self.source((*roles_path, str(index)), f"role {role_name}")
            if roles_inherited:
                source = Source(source.file, source.line, f"defaults, role {role_name}")
            principals = [("group", g) for g in role.groups] + [("user", u) for u in role.users]
            for grantee in principals:
                held = grants.get(grantee)
                if held is None or _RANK[role.permission] > _RANK[held[0]]:
                    grants[grantee] = (role.permission, source)
        explicit = merged.permissions
        tables: list[tuple[str, Mapping[str, str | None]]] = []
        if explicit is not None:
            tables = [("group", explicit.groups), ("user", explicit.users)]
        for principal_type, table in tables:
            for principal, level in table.items():
                key = (principal_type, principal)
                path, inherited = self.origin(
                    slug, own, ("permissions", f"{principal_type}s", principal)
                )
                if level is None:
                    grants.pop(key, None)
                else:
                    grants[key] = (level, self.source(path, "defaults" if inherited else None))
        for (principal_type, principal), (level, source) in sorted(grants.items()):
            self.add(
                DesiredResource(
                    address=addr.permission(self.workspace, slug, principal_type, principal),
                    fields={"permission": level},
                    source=source,
                )
            )

    def drone_repo(self, slug: str, own: Mapping[str, Any], merged: Repository) -> None:
        drone = merged.drone
        assert drone is not None
        path, inherited = self.origin(slug, own, ("drone",))
        via = "defaults" if inherited else None
        if self.document.drone is None:
            self.report(path, "drone.server is required when any drone section is used")
        repo_id = f"{self.workspace}/{slug}"
        for kind in (Kind.DRONE_REPO, Kind.DRONE_SECRET, Kind.DRONE_CRON):
            self.scopes[kind.value].add(repo_id)
        settings = drone.model_dump(include=set(_REPO_SETTINGS), exclude_none=True)
        self.add(
            DesiredResource(
                address=addr.drone_repo(self.workspace, slug),
                fields=dict(sorted(settings.items())),
                source=self.source(path, via),
            )
        )
        for name, spec in sorted(drone.secrets.items()):
            if spec is None:
                continue
            secret_path, inherited = self.origin(slug, own, ("drone", "secrets", name))
            fields = spec.model_dump(
                include={"pull_request", "pull_request_push"}, exclude_none=True
            )
            self.add(
                DesiredResource(
                    address=addr.drone_secret(self.workspace, slug, name),
                    fields=fields,
                    source=self.source(secret_path, "defaults" if inherited else None),
                    sensitive={"value": secret_ref(spec.value)},
                )
            )
        for name, cron in sorted(drone.cron.items()):
            if cron is None:
                continue
            cron_path, inherited = self.origin(slug, own, ("drone", "cron", name))
            self.add(
                DesiredResource(
                    address=addr.drone_cron(self.workspace, slug, name),
                    fields=cron.model_dump(exclude_none=True),
                    source=self.source(cron_path, "defaults" if inherited else None),
                )
            )

    # -- workspace-level sections --------------------------------------------------------------

    def workspace_level(self) -> None:
        drone = self.document.drone
        if drone is not None:
            if "users" in drone.model_fields_set:
                self.scopes[Kind.DRONE_USER.value].add("*")
            for login, user in sorted(drone.users.items()):
                fields: dict[str, Value] = {"machine": bool(user.machine)}
                fields.update(user.model_dump(include={"admin", "active"}, exclude_none=True))
                self.add(
                    DesiredResource(
                        address=addr.drone_user(login),
                        fields=fields,
                        source=self.source(("drone", "users", login)),
                    )
                )
            if "org_secrets" in drone.model_fields_set:
                self.scopes[Kind.DRONE_ORG_SECRET.value].add(self.workspace)
            for name, spec in sorted(drone.org_secrets.items()):
                self.add(
                    DesiredResource(
                        address=addr.drone_org_secret(self.workspace, name),
                        fields=spec.model_dump(
                            include={"pull_request", "pull_request_push"}, exclude_none=True
                        ),
                        source=self.source(("drone", "org_secrets", name)),
                        sensitive={"value": secret_ref(spec.value)},
                    )
                )
        for name, consumer in sorted(self.document.oauth_consumers.items()):
            callback = consumer.callback_url
            if callback is None and drone is not None:
                callback = drone.server.rstrip("/") + "/login"
            fields = {"callback_url": callback} if callback else {}
            if consumer.scopes is not None:
                fields["scopes"] = tuple(sorted(set(consumer.scopes)))
            self.add(
                DesiredResource(
                    address=addr.oauth_consumer(self.workspace, name),
                    fields=fields,
                    source=self.source(("oauth_consumers", name)),
                    sensitive={
                        "client_id": secret_ref(consumer.client_id),
                        "client_secret": secret_ref(consumer.client_secret),
                    },
                )
            )
