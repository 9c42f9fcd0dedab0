"""Shared pieces of the seed format: constants, errors and typed accessors."""

from __future__ import annotations

import uuid
from typing import Any

PERMISSIONS = ("read", "write", "admin")
PERM_RANK = {"none": 0, "read": 1, "write": 2, "admin": 3}

# New-style API-token scopes a user holds when the seed does not say otherwise.
DEFAULT_API_TOKEN_SCOPES = (
    "read:user:bitbucket",
    "read:workspace:bitbucket",
    "read:repository:bitbucket",
    "write:repository:bitbucket",
    "admin:repository:bitbucket",
    "read:webhook:bitbucket",
    "write:webhook:bitbucket",
    "delete:webhook:bitbucket",
    "read:permission:bitbucket",
    "write:permission:bitbucket",
    "delete:permission:bitbucket",
    "read:pullrequest:bitbucket",
    "write:pullrequest:bitbucket",
)

_NS = uuid.UUID("6c1f3a52-8f7e-4c44-9a4e-5a9d1f0e7b21")

DEFAULT_BB_USER = {
    "uuid": "{5b3c1a2e-0000-4000-8000-00000000000a}",
    "display_name": "Reconciler",
    "nickname": "reconciler",
    "email": "reconciler@acme.example",
    "api_token": "bb-sandbox-token",
}
DEFAULT_DRONE_SERVER = "https://drone.acme.example"
DEFAULT_DRONE_USER = {"login": "drone-bot", "admin": True, "token": "drone-sandbox-token"}


class SeedError(ValueError):
    """A seed (or a PUT /_sandbox/state body) that does not fit the documented format."""


def stable_uuid(name: str) -> str:
    """A brace-wrapped UUID derived from ``name``, so seeds without UUIDs stay reproducible."""
    return "{" + str(uuid.uuid5(_NS, name)) + "}"


# -- small typed accessors ---------------------------------------------------------------------


def as_dict(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise SeedError(f"{where}: expected a mapping")
    return value


def as_list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise SeedError(f"{where}: expected a list")
    return value


def as_str(value: Any, where: str, default: str = "") -> str:
    if value is None:
        return default
    if not isinstance(value, str):
        raise SeedError(f"{where}: expected a string")
    return value


def opt_str(value: Any, where: str) -> str | None:
    if value is None:
        return None
    return as_str(value, where)


def as_bool(value: Any, where: str, default: bool = False) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        raise SeedError(f"{where}: expected true or false")
    return value


def as_int(value: Any, where: str, default: int = 0) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise SeedError(f"{where}: expected an integer")
    return value


def as_perm(value: Any, where: str) -> str:
    if value not in PERMISSIONS:
        raise SeedError(f"{where}: permission must be one of read, write, admin")
    return str(value)


def iso_now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat()
