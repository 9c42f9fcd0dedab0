"""Drone readers: a fetch (`read_*`) and a pure `parse_*` per payload.

Drone serialises with omit-empty, so a `false` boolean or a zero `throttle` is simply absent: the
parsers fill them as False / 0, which makes "unset on the server" and "false" compare equal, as
DESIGN section 4 wants. Secret values are write-only: live records only say that one is set.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.models import address
from reconciler.models.resources import LiveResource
from reconciler.providers.drone.client import DroneClient

REPO_BOOLS = (
    "active",
    "protected",
    "trusted",
    "ignore_forks",
    "ignore_pull_requests",
    "auto_cancel_pull_requests",
    "auto_cancel_pushes",
    "auto_cancel_running",
)
REPO_STRINGS = ("config_path", "visibility")
REPO_INTS = ("timeout", "throttle")


@dataclass(frozen=True)
class DroneUser:
    login: str | None
    admin: bool


@dataclass(frozen=True)
class Repos:
    """Drone's view of the wanted repositories: records by `workspace/slug`, and the wanted ones
    Drone has no row for (never synced, or the token cannot see them)."""

    found: Mapping[str, LiveResource]
    missing: frozenset[str]


@dataclass(frozen=True)
class Users:
    resources: tuple[LiveResource, ...]
    ids: Mapping[str, int]  # login -> Drone user id


# -- pure parsers -----------------------------------------------------------------------------


def parse_repo(body: Mapping[str, Any]) -> LiveResource:
    fields: dict[str, Any] = {key: bool(body.get(key, False)) for key in REPO_BOOLS}
    fields.update({key: str(body.get(key) or "") for key in REPO_STRINGS})
    fields.update({key: int(body.get(key) or 0) for key in REPO_INTS})
    return LiveResource(
        address=address.drone_repo(str(body["namespace"]), str(body["name"])),
        fields=dict(sorted(fields.items())),
        handle={
            "id": int(body.get("id") or 0),
            "user_id": int(body.get("user_id") or 0),
            "uid": str(body.get("uid") or ""),
        },
    )


def parse_repos(values: Iterable[Mapping[str, Any]], *, wanted: Collection[str]) -> Repos:
    """Keep the rows whose exact slug (`workspace/slug`, case-sensitive as Drone matches it) is
    wanted; the rest of the caller's repositories are not ours to look at."""
    found = {}
    for body in values:
        repo = f"{body.get('namespace')}/{body.get('name')}"
        if repo in wanted:
            found[repo] = parse_repo(body)
    return Repos(found, frozenset(wanted) - found.keys())


def _secret_fields(body: Mapping[str, Any]) -> dict[str, bool]:
    return {
        "pull_request": bool(body.get("pull_request", False)),
        "pull_request_push": bool(body.get("pull_request_push", False)),
    }


def parse_secrets(repo: str, values: Iterable[Mapping[str, Any]]) -> tuple[LiveResource, ...]:
    workspace, slug = repo.split("/", 1)
    return tuple(
        LiveResource(
            address=address.drone_secret(workspace, slug, str(body["name"])),
            fields=_secret_fields(body),
            handle={"id": int(body["id"])} if body.get("id") else {},
            sensitive_set=frozenset({"value"}),
        )
        for body in values
    )


def parse_org_secrets(
    namespace: str, values: Iterable[Mapping[str, Any]]
) -> tuple[LiveResource, ...]:
    return tuple(
        LiveResource(
            address=address.drone_org_secret(namespace, str(body["name"])),
            fields=_secret_fields(body),
            handle={"id": int(body["id"])} if body.get("id") else {},
            sensitive_set=frozenset({"value"}),
        )
        for body in values
    )


def parse_crons(repo: str, values: Iterable[Mapping[str, Any]]) -> tuple[LiveResource, ...]:
    workspace, slug = repo.split("/", 1)
    return tuple(
        LiveResource(
            address=address.drone_cron(workspace, slug, str(body["name"])),
            fields={
                "expr": str(body.get("expr") or ""),
                "branch": str(body.get("branch") or ""),
                "disabled": bool(body.get("disabled", False)),
            },
            handle={"id": int(body.get("id") or 0)},
        )
        for body in values
    )


def parse_users(values: Iterable[Mapping[str, Any]]) -> Users:
    resources = []
    ids = {}
    for body in values:
        login = str(body["login"])
        ids[login] = int(body.get("id") or 0)
        resources.append(
            LiveResource(
                address=address.drone_user(login),
                fields={
                    "admin": bool(body.get("admin", False)),
                    "active": bool(body.get("active", False)),
                    "machine": bool(body.get("machine", False)),
                },
                handle={"id": ids[login]},
            )
        )
    return Users(tuple(resources), ids)


def parse_user(body: Mapping[str, Any]) -> DroneUser:
    login = body.get("login")
    return DroneUser(login=str(login) if login else None, admin=bool(body.get("admin", False)))


# -- fetch + parse ----------------------------------------------------------------------------


def read_user(client: DroneClient) -> DroneUser:
    return parse_user(client.get_user() or {})


def read_repos(client: DroneClient, *, wanted: Collection[str]) -> Repos:
    """One `GET /api/user/repos` for all repositories, whatever their number."""
    return parse_repos(client.list_user_repos(), wanted=wanted)


def read_secrets(client: DroneClient, workspace: str, slug: str) -> tuple[LiveResource, ...]:
    return parse_secrets(f"{workspace}/{slug}", client.list_secrets(workspace, slug))


def read_org_secrets(client: DroneClient, namespace: str) -> tuple[LiveResource, ...]:
    return parse_org_secrets(namespace, client.list_org_secrets(namespace))


def read_crons(client: DroneClient, workspace: str, slug: str) -> tuple[LiveResource, ...]:
    return parse_crons(f"{workspace}/{slug}", client.list_crons(workspace, slug))


def read_users(client: DroneClient) -> Users:
    return parse_users(client.list_users())
