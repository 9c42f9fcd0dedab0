"""Seed documents: load, fill defaults, validate.

A seed and the state served by ``GET /_sandbox/state`` share one JSON-serialisable format (see
SEED.md). ``normalise`` is idempotent: normalising its own output returns an equal document, so a
state read with GET can be written back with PUT unchanged.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import yaml

from .seed_bitbucket import normalise_bitbucket
from .seed_drone import drone_repo_row, normalise_drone
from .seedutil import (
    DEFAULT_API_TOKEN_SCOPES,
    DEFAULT_BB_USER,
    DEFAULT_DRONE_SERVER,
    DEFAULT_DRONE_USER,
    PERM_RANK,
    PERMISSIONS,
    SeedError,
    iso_now,
    stable_uuid,
)

__all__ = [
    "DEFAULT_API_TOKEN_SCOPES",
    "EXAMPLE_SEED",
    "PERMISSIONS",
    "PERM_RANK",
    "SeedError",
    "default_seed",
    "drone_repo_row",
    "iso_now",
    "load_seed",
    "normalise",
    "stable_uuid",
]

EXAMPLE_SEED = Path(__file__).parent / "seeds" / "example.yaml"


def load_seed(path: str | Path) -> dict[str, Any]:
    """Read a YAML or JSON seed file (JSON is valid YAML, but ``.json`` gets the JSON parser)."""
    p = Path(path)
    text = p.read_text(encoding="utf-8")
    data = json.loads(text) if p.suffix == ".json" else yaml.safe_load(text)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SeedError(f"{p}: the seed must be a mapping at the top level")
    return data


def default_seed() -> dict[str, Any]:
    return {
        "bitbucket": {
            "users": [dict(DEFAULT_BB_USER)],
            "workspaces": {"acme": {"owners": [DEFAULT_BB_USER["uuid"]]}},
        },
        "drone": {
            "server": DEFAULT_DRONE_SERVER,
            "users": [{**DEFAULT_DRONE_USER, "bitbucket_user": DEFAULT_BB_USER["uuid"]}],
        },
    }


def normalise(seed: dict[str, Any] | None) -> dict[str, Any]:
    """Fill every default and check references; the result is the live state document."""
    base = default_seed() if seed is None else copy.deepcopy(seed)
    if not isinstance(base, dict):
        raise SeedError("the seed must be a mapping")
    unknown = set(base) - {"bitbucket", "drone"}
    if unknown:
        raise SeedError(f"unknown top-level keys: {sorted(unknown)}")
    bb = normalise_bitbucket(base.get("bitbucket") or default_seed()["bitbucket"])
    drone = normalise_drone(base.get("drone") or {"server": DEFAULT_DRONE_SERVER}, bb)
    return {"bitbucket": bb, "drone": drone}
