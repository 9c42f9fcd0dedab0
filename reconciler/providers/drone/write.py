"""Perform one planned Drone change. Bodies are minimal: an update sends only the fields the plan
lists as changed, plus the write-only values it asks to send (`change.sensitive`; the secret
field `value` is Drone's `data`).

Ambiguous creates: Drone answers a duplicate create with 500, so a POST whose connection dropped
(or that failed with 5xx) is followed by a re-read. An object that is now present counts as
created and is converged with one PATCH of the desired values (PATCHes are idempotent), so that
a secret's value is known to be the declared one; an absent one is POSTed again (bounded).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from reconciler.models.address import Kind
from reconciler.plan import Action, Change
from reconciler.providers import changed_fields, sensitive_values
from reconciler.providers.drone.client import DroneClient
from reconciler.providers.http import create_or_confirm

Handler = Callable[[DroneClient, Change, Mapping[str, str]], None]


def execute(client: DroneClient, change: Change, values: Mapping[str, str]) -> None:
    """`values`: resolved write-only values by field name (e.g. {"value": "…"})."""
    if change.action is Action.MANUAL:
        return  # no API exists: the plan tells a human what to do
    handler = _HANDLERS.get(change.address.kind)
    if handler is None:
        raise ValueError(f"{change.address}: not a Drone change")
    handler(client, change, values)


def _names(values: Iterable[Any], key: str) -> set[str]:
    return {str(v.get(key)) for v in values}


# -- repositories ------------------------------------------------------------------------------


def _repo(client: DroneClient, change: Change, values: Mapping[str, str]) -> None:
    """create = activate (POST), delete = disable (DELETE; Drone keeps the row, secrets and
    settings), then one PATCH of the other changed settings; repair = POST …/repair."""
    namespace, name = change.address.id.split("/", 1)
    if change.action is Action.REPAIR:
        client.repair_repo(namespace, name)
        return
    settings = changed_fields(change)
    active = settings.pop("active", None)
    if settings.pop("owner", None) is not None:
        # chown makes the caller the owner; the checks plan it only when the caller is the owner
        client.chown_repo(namespace, name)
    if change.action is Action.CREATE or active is True:
        client.activate_repo(namespace, name)
    elif change.action is Action.DELETE or active is False:
        client.disable_repo(namespace, name)
    if settings:
        client.patch_repo(namespace, name, body=settings)


# -- secrets -----------------------------------------------------------------------------------


def _secret_body(
    change: Change, values: Mapping[str, str], fields: Mapping[str, Any]
) -> dict[str, Any]:
    body = {k: v for k, v in fields.items() if k in ("pull_request", "pull_request_push")}
    sent = sensitive_values(change, values)
    if "value" in sent:
        body["data"] = sent["value"]
    return body


def _secret(client: DroneClient, change: Change, values: Mapping[str, str]) -> None:
    namespace, repo, name = change.address.id.split("/", 2)
    _secret_change(
        change,
        values,
        name=name,
        create=lambda body: client.create_secret(namespace, repo, body=body),
        patch=lambda body: client.patch_secret(namespace, repo, name, body=body),
        delete=lambda: client.delete_secret(namespace, repo, name),
        exists=lambda: name in _names(client.list_secrets(namespace, repo), "name"),
    )


def _org_secret(client: DroneClient, change: Change, values: Mapping[str, str]) -> None:
    namespace, name = change.address.id.split("/", 1)
    _secret_change(
        change,
        values,
        name=name,
        create=lambda body: client.create_org_secret(namespace, body=body),
        patch=lambda body: client.patch_org_secret(namespace, name, body=body),
        delete=lambda: client.delete_org_secret(namespace, name),
        exists=lambda: name in _names(client.list_org_secrets(namespace), "name"),
    )


def _secret_change(
    change: Change,
    values: Mapping[str, str],
    *,
    name: str,
    create: Callable[[dict[str, Any]], object],
    patch: Callable[[dict[str, Any]], object],
    delete: Callable[[], object],
    exists: Callable[[], bool],
) -> None:
    """Repository and organization secrets behave alike; only their paths differ."""
    if change.action in (Action.DELETE, Action.REPLACE):
        delete()
    if change.action is Action.UPDATE:
        patch(_secret_body(change, values, changed_fields(change)))
    elif change.action in (Action.CREATE, Action.REPLACE):
        flags = {"pull_request": False, "pull_request_push": False} | dict(change.after or {})
        body = {"name": name} | _secret_body(change, values, flags)
        if not create_or_confirm(lambda: create(body), exists):
            patch({k: v for k, v in body.items() if k != "name"})


# -- cron --------------------------------------------------------------------------------------


def _cron(client: DroneClient, change: Change, values: Mapping[str, str]) -> None:
    """`expr` cannot change in place (the plan says replace); Drone ignores `disabled` on create,
    so a disabled job is created and then PATCHed."""
    namespace, repo, name = change.address.id.split("/", 2)
    if change.action in (Action.DELETE, Action.REPLACE):
        client.delete_cron(namespace, repo, name)
    if change.action is Action.UPDATE:
        body = {k: v for k, v in changed_fields(change).items() if k in ("branch", "disabled")}
        if body:
            client.patch_cron(namespace, repo, name, body=body)
        return
    if change.action not in (Action.CREATE, Action.REPLACE):
        return
    after = dict(change.after or {})
    body = {"name": name, "expr": after.get("expr"), "branch": after.get("branch")}
    created = create_or_confirm(
        lambda: client.create_cron(namespace, repo, body=body),
        lambda: name in _names(client.list_crons(namespace, repo), "name"),
    )
    if not created:
        patch = {"branch": after.get("branch"), "disabled": bool(after.get("disabled"))}
        client.patch_cron(namespace, repo, name, body=patch)
    elif after.get("disabled"):
        client.patch_cron(namespace, repo, name, body={"disabled": True})


# -- users -------------------------------------------------------------------------------------


def _user(client: DroneClient, change: Change, values: Mapping[str, str]) -> None:
    """`machine` is fixed at creation (the plan says replace); Drone creates users active, so an
    inactive one is created and then PATCHed."""
    login = change.address.id
    if change.action in (Action.DELETE, Action.REPLACE):
        client.delete_user(login)
    if change.action is Action.UPDATE:
        body = {k: v for k, v in changed_fields(change).items() if k in ("admin", "active")}
        if body:
            client.patch_user(login, body=body)
        return
    if change.action not in (Action.CREATE, Action.REPLACE):
        return
    after = dict(change.after or {})
    body = {
        "login": login,
        "admin": bool(after.get("admin", False)),
        "machine": bool(after.get("machine", False)),
    }
    created = create_or_confirm(
        lambda: client.create_user(body=body),
        lambda: login in _names(client.list_users(), "login"),
    )
    patch: dict[str, Any] = {} if created else {"admin": body["admin"]}
    if after.get("active") is False:
        patch["active"] = False
    if patch:
        client.patch_user(login, body=patch)


_HANDLERS: Mapping[Kind, Handler] = {
    Kind.DRONE_REPO: _repo,
    Kind.DRONE_SECRET: _secret,
    Kind.DRONE_ORG_SECRET: _org_secret,
    Kind.DRONE_CRON: _cron,
    Kind.DRONE_USER: _user,
}
