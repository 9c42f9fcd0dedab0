"""Perform one planned Bitbucket change. Bodies are minimal: an update sends only the fields the
plan lists as changed, plus the write-only values it asks to send (`change.sensitive`).

Ambiguous creates: a webhook POST whose connection dropped, or that answered 5xx, may or may not
have created the hook. The HTTP layer never repeats a POST, so this module re-reads the hooks and,
if the description is now present, converges it with one idempotent PUT of the desired body
instead of creating a duplicate. If it is absent, the POST is sent again (bounded).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.models.address import Kind
from reconciler.plan import Action, Change
from reconciler.providers import changed_fields, sensitive_values
from reconciler.providers.bitbucket.client import BitbucketClient
from reconciler.providers.http import create_or_confirm


def execute(client: BitbucketClient, change: Change, values: Mapping[str, str]) -> None:
    """`values`: resolved write-only values by field name (e.g. {"secret": "…"})."""
    if change.action is Action.MANUAL:
        return  # no API exists: the plan tells a human what to do
    if change.address.kind is Kind.BITBUCKET_PERMISSION:
        _permission(client, change)
    elif change.address.kind is Kind.BITBUCKET_WEBHOOK:
        _webhook(client, change, values)
    else:
        raise ValueError(f"{change.address}: not a Bitbucket change")


# -- permissions -------------------------------------------------------------------------------


def _permission(client: BitbucketClient, change: Change) -> None:
    """PUT is an upsert, so create, update and replace are the same call."""
    workspace, slug, principal_ref = change.address.id.split("/", 2)
    kind = str(change.handle.get("principal_type") or principal_ref.split(":", 1)[0])
    principal = str(change.handle.get("principal") or principal_ref.split(":", 1)[1])
    put, delete = (
        (client.put_group_permission, client.delete_group_permission)
        if kind == "group"
        else (client.put_user_permission, client.delete_user_permission)
    )
    if change.action is Action.DELETE:
        delete(workspace, slug, principal)
        return
    permission = (change.after or {}).get("permission")
    if not isinstance(permission, str):
        raise ValueError(f"{change.address}: the plan carries no permission to set")
    put(workspace, slug, principal, permission=permission)


# -- webhooks ----------------------------------------------------------------------------------


def _webhook(client: BitbucketClient, change: Change, values: Mapping[str, str]) -> None:
    workspace, slug, description = change.address.id.split("/", 2)
    if change.action in (Action.DELETE, Action.REPLACE):
        client.delete_hook(workspace, slug, str(change.handle["uuid"]))
    if change.action in (Action.CREATE, Action.REPLACE):
        _create_hook(client, change, values, (workspace, slug, description))
    elif change.action is Action.UPDATE:
        body = _hook_body(changed_fields(change)) | sensitive_values(change, values)
        client.update_hook(workspace, slug, str(change.handle["uuid"]), body=body)


def _hook_body(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Canonical fields -> API body (events are a sorted tuple in live records, a list here)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in fields.items()}


def _create_hook(
    client: BitbucketClient,
    change: Change,
    values: Mapping[str, str],
    where: tuple[str, str, str],
) -> None:
    workspace, slug, description = where
    after = dict(change.after or {})
    body = {"description": description} | _hook_body(after) | sensitive_values(change, values)
    found: list[str] = []

    def confirm() -> bool:
        hooks = client.list_hooks(workspace, slug, fields="values.uuid,values.description")
        found.extend(str(h["uuid"]) for h in hooks if h.get("description") == description)
        return bool(found)

    created = create_or_confirm(lambda: client.create_hook(workspace, slug, body=body), confirm)
    if not created:  # it exists after all: make sure it is the desired one, secret included
        update = {k: v for k, v in body.items() if k != "description"}
        client.update_hook(workspace, slug, found[0], body=update)
