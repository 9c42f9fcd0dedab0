"""The interval loop and the health it reports.

The scheduler only enqueues a `tick` (the worker re-plans main); a tick that is still pending when
the next one is due is coalesced, so a slow API never builds a backlog of ticks.

Health is about the loop, not about live state: a tick that found drift (or was refused by policy
while healing) still proves that serve can read git and both APIs. It is healthy while the last
tick succeeded and is recent, i.e. younger than 3 intervals, which allows one slow or queued tick.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

STALE_AFTER_INTERVALS = 3


@dataclass(frozen=True)
class _Tick:
    at: float
    ok: bool
    reason: str


class Health:
    def __init__(self, *, interval: float, clock: Callable[[], float] = time.time) -> None:
        self.interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self._last: _Tick | None = None
        self._last_success: float | None = None

    def record(self, *, ok: bool, reason: str = "") -> None:
        with self._lock:
            now = self._clock()
            self._last = _Tick(at=now, ok=ok, reason=reason)
            if ok:
                self._last_success = now

    def status(self) -> tuple[bool, dict[str, Any]]:
        """(healthy, JSON body). The reason says what an operator should look at."""
        with self._lock:
            last, success = self._last, self._last_success
        now = self._clock()
        body: dict[str, Any] = {"interval_seconds": self.interval}
        if success is not None:
            body["last_success"] = _iso(success)
            body["last_success_age_seconds"] = round(now - success, 1)
        if last is None:
            return False, {**body, "status": "starting", "reason": "no re-plan has finished yet"}
        if not last.ok:
            reason = f"the last re-plan failed: {last.reason}"
            return False, {**body, "status": "failing", "reason": reason}
        limit = STALE_AFTER_INTERVALS * self.interval
        if now - last.at > limit:
            reason = f"no re-plan for {now - last.at:.0f} s (more than 3 x {self.interval:g} s)"
            return False, {**body, "status": "stale", "reason": reason}
        return True, {**body, "status": "ok", "last_result": last.reason}


class Scheduler:
    """Calls `due()` now and then every `interval` seconds until stopped."""

    def __init__(self, *, interval: float, due: Callable[[], object]) -> None:
        self._interval = interval
        self._due = due
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="reconciler-scheduler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._due()
            self._stop.wait(self._interval)


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")
