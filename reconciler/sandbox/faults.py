"""Fault injection: latency, 5xx errors, dropped connections and per-family rate limits.

Decisions come from one ``random.Random(seed)`` that draws the same four numbers for every API
request, so a given seed and request sequence always produce the same faults. Rate limits use
rolling windows per (family, credential), like Bitbucket's hourly windows per user or token.
"""

from __future__ import annotations

import copy
import random
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

FAMILIES = ("bitbucket:webhooks", "bitbucket:repositories", "bitbucket:other", "drone")
SYSTEMS = ("bitbucket", "drone")
DEFAULT_RATE_LIMITS: dict[str, dict[str, Any]] = {
    "bitbucket:webhooks": {"limit": 1000, "window_s": 3600, "retry_after": None},
}
DEFAULT_CONFIG: dict[str, Any] = {
    "seed": None,
    "latency_ms": 0,
    "error_rate": 0.0,
    "error_status": [500, 502, 503],
    "drop_rate": 0.0,
    "scope": {"systems": None, "methods": None, "families": None},
    "rate_limits": DEFAULT_RATE_LIMITS,
}


class FaultError(ValueError):
    """A fault configuration that does not fit the documented shape."""


@dataclass(frozen=True)
class Decision:
    latency_s: float = 0.0
    action: str | None = None  # "drop" | "rate_limit" | "error"
    status: int = 0
    retry_after: int | None = None


def family_of(system: str, path: str) -> str:
    if system == "drone":
        return "drone"
    if "/hooks" in path and not path.startswith("/bitbucket/2.0/hook_events"):
        return "bitbucket:webhooks"
    if path.startswith("/bitbucket/2.0/repositories/"):
        return "bitbucket:repositories"
    return "bitbucket:other"


def _rate(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise FaultError(f"{name}: a number between 0 and 1")
    return float(value)


def _names(value: Any, name: str, allowed: tuple[str, ...] | None) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise FaultError(f"scope.{name}: a list of strings")
    if allowed is not None and any(v not in allowed for v in value):
        raise FaultError(f"scope.{name}: choose from {list(allowed)}")
    return [v.upper() if name == "methods" else v for v in value]


def _latency(value: Any) -> float | list[float]:
    if (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(v, int | float) and not isinstance(v, bool) and v >= 0 for v in value)
    ):
        low, high = float(value[0]), float(value[1])
        if low > high:
            raise FaultError("latency_ms: [min, max] with min <= max")
        return [low, high]
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    raise FaultError("latency_ms: milliseconds, or [min, max]")


def _limits(value: Any) -> dict[str, dict[str, Any]]:
    limits = copy.deepcopy(DEFAULT_RATE_LIMITS)
    if value is None:
        return limits
    if not isinstance(value, dict):
        raise FaultError("rate_limits: a mapping of family to {limit, window_s, retry_after}")
    for family, spec in value.items():
        if family not in FAMILIES:
            raise FaultError(f"rate_limits: unknown family {family!r}; known: {list(FAMILIES)}")
        if spec is None:
            limits.pop(family, None)
            continue
        if not isinstance(spec, dict):
            raise FaultError(f"rate_limits.{family}: a mapping")
        limit, window = spec.get("limit"), spec.get("window_s", 3600)
        retry = spec.get("retry_after")
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise FaultError(f"rate_limits.{family}.limit: a non-negative integer")
        if isinstance(window, bool) or not isinstance(window, int | float) or window <= 0:
            raise FaultError(f"rate_limits.{family}.window_s: a positive number")
        if retry is not None and (isinstance(retry, bool) or not isinstance(retry, int)):
            raise FaultError(f"rate_limits.{family}.retry_after: an integer or null")
        limits[family] = {"limit": limit, "window_s": window, "retry_after": retry}
    return limits


def validate(raw: Any) -> dict[str, Any]:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise FaultError("the fault configuration must be a JSON object")
    unknown = set(raw) - set(DEFAULT_CONFIG)
    if unknown:
        raise FaultError(f"unknown keys: {sorted(unknown)}")
    seed = raw.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise FaultError("seed: an integer or null")
    statuses = raw.get("error_status", [500, 502, 503])
    if isinstance(statuses, int) and not isinstance(statuses, bool):
        statuses = [statuses]
    if (
        not isinstance(statuses, list)
        or not statuses
        or not all(isinstance(s, int) and 500 <= s <= 599 for s in statuses)
    ):
        raise FaultError("error_status: a 5xx status or a list of them")
    scope = raw.get("scope") or {}
    if not isinstance(scope, dict):
        raise FaultError("scope: a mapping")
    return {
        "seed": seed,
        "latency_ms": _latency(raw.get("latency_ms", 0)),
        "error_rate": _rate(raw.get("error_rate", 0.0), "error_rate"),
        "error_status": statuses,
        "drop_rate": _rate(raw.get("drop_rate", 0.0), "drop_rate"),
        "scope": {
            "systems": _names(scope.get("systems"), "systems", SYSTEMS),
            "methods": _names(scope.get("methods"), "methods", None),
            "families": _names(scope.get("families"), "families", FAMILIES),
        },
        "rate_limits": _limits(raw.get("rate_limits")),
    }


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._config = validate({})
        self._rng = random.Random()  # noqa: S311 (reproducible faults, not crypto)
        self._windows: dict[tuple[str, str], deque[float]] = {}

    def configure(self, raw: Any) -> dict[str, Any]:
        config = validate(raw)
        with self._lock:
            self._config = config
            self._rng = random.Random(config["seed"])  # noqa: S311 (reproducible faults, not crypto)
            self._windows.clear()
        return self.config()

    def config(self) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self._config)

    def _in_scope(self, system: str, method: str, family: str) -> bool:
        scope = self._config["scope"]
        return (
            (scope["systems"] is None or system in scope["systems"])
            and (scope["methods"] is None or method in scope["methods"])
            and (scope["families"] is None or family in scope["families"])
        )

    def _limited(self, family: str, principal: str) -> tuple[bool, int | None]:
        spec = self._config["rate_limits"].get(family)
        if spec is None:
            return False, None
        now = time.monotonic()
        window = self._windows.setdefault((family, principal), deque())
        while window and window[0] <= now - spec["window_s"]:
            window.popleft()
        if len(window) >= spec["limit"]:
            return True, spec["retry_after"]
        window.append(now)
        return False, None

    def decide(self, *, system: str, method: str, path: str, principal: str) -> Decision:
        family = family_of(system, path)
        with self._lock:
            cfg = self._config
            draws = [self._rng.random() for _ in range(4)]
            scoped = self._in_scope(system, method, family)
            latency = cfg["latency_ms"]
            ms = (
                latency[0] + (latency[1] - latency[0]) * draws[0]
                if isinstance(latency, list)
                else latency
            )
            delay = ms / 1000.0 if scoped else 0.0
            if scoped and draws[1] < cfg["drop_rate"]:
                return Decision(delay, "drop")
            limited, retry = self._limited(family, principal)
            if limited:
                return Decision(delay, "rate_limit", 429, retry)
            if scoped and draws[2] < cfg["error_rate"]:
                statuses = cfg["error_status"]
                return Decision(delay, "error", statuses[int(draws[3] * len(statuses))])
            return Decision(delay)
