"""The one worker thread and its coalescing queue.

Every job (plan a pull request, apply main, scheduled re-plan) runs on a single thread, so serve
never plans and applies at the same time, and the config-repository checkout needs no lock.

Coalescing: the queue holds at most ONE pending job per key (`apply`, `tick`, `plan:<pr>`). A new
job whose key is already pending replaces it ("latest wins"; an apply keeps the union of the pull
requests to report to) and keeps its place in line. A running job is no longer pending, so a
burst of five pushes gives one running apply plus one pending apply: two at most, never five. An
apply reads the head of the branch when it starts, so the pending one applies the newest commit.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum

from reconciler.serve.logs import EventLog


class JobKind(StrEnum):
    PLAN = "plan"  # plan a pull request: comment + build status
    APPLY = "apply"  # apply the head of the main branch (merge or push)
    TICK = "tick"  # scheduled re-plan of main: report or heal drift


@dataclass(frozen=True)
class Job:
    kind: JobKind
    trigger: str  # what asked for it: pullrequest, merge, push, schedule
    pr: int | None = None
    prs: frozenset[int] = frozenset()  # merged pull requests an apply reports to
    request: str | None = None  # X-Request-UUID of the delivery, for logs
    attempt: int = 1

    @property
    def key(self) -> str:
        return f"plan:{self.pr}" if self.kind is JobKind.PLAN else self.kind.value


def _merge(old: Job, new: Job) -> Job:
    if new.kind is JobKind.APPLY:
        trigger = "merge" if (old.prs or new.prs) else new.trigger
        return replace(new, prs=old.prs | new.prs, trigger=trigger)
    return new


class JobQueue:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._pending: dict[str, tuple[float, Job]] = {}  # insertion order is arrival order
        self._closed = False
        self._in_hand = 0  # taken and not yet done

    def submit(self, job: Job, *, delay: float = 0.0) -> str:
        """`queued`, `coalesced` (merged into a pending job), or `closed` (shutting down)."""
        with self._cond:
            if self._closed:
                return "closed"
            ready_at = time.monotonic() + delay
            old = self._pending.get(job.key)
            if old is not None:
                self._pending[job.key] = (max(old[0], ready_at), _merge(old[1], job))
                return "coalesced"
            self._pending[job.key] = (ready_at, job)
            self._cond.notify()
            return "queued"

    def take(self) -> Job | None:
        """The oldest ready job, waiting as long as needed; None once closed."""
        with self._cond:
            while not self._closed:
                now = time.monotonic()
                for key, (ready_at, job) in self._pending.items():
                    if ready_at <= now:
                        del self._pending[key]
                        self._in_hand += 1
                        return job
                wake = min((at for at, _ in self._pending.values()), default=None)
                self._cond.wait(None if wake is None else max(wake - now, 0.01))
            return None

    def done(self) -> None:
        with self._cond:
            self._in_hand -= 1

    def idle(self) -> bool:
        """Nothing pending and nothing in hand (delayed retries count as pending)."""
        with self._cond:
            return not self._pending and not self._in_hand

    def close(self) -> list[Job]:
        """Refuse new jobs and drop the pending ones (returned, for the log)."""
        with self._cond:
            self._closed = True
            dropped = [job for _, job in self._pending.values()]
            self._pending.clear()
            self._cond.notify_all()
            return dropped

    def __len__(self) -> int:
        with self._cond:
            return len(self._pending)


class Worker:
    """Runs jobs one at a time. `stop` lets the running job finish (an apply is never cut in
    half by a shutdown) and drops what is pending: the next start's first tick catches up."""

    def __init__(self, queue: JobQueue, *, handle: Callable[[Job], None], log: EventLog) -> None:
        self._queue = queue
        self._handle = handle
        self._log = log
        self._thread = threading.Thread(target=self._run, name="reconciler-worker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, *, timeout: float | None = None) -> None:
        dropped = self._queue.close()
        if dropped:
            self._log.info("worker.dropped", jobs=[job.key for job in dropped])
        self._thread.join(timeout)

    def _run(self) -> None:
        while (job := self._queue.take()) is not None:
            try:
                self._handle(job)
            except Exception as exc:  # a bug must not kill the loop; the job is logged
                self._log.error(
                    "job.crashed", job=job.key, pr=job.pr, error=type(exc).__name__, detail=str(exc)
                )
            finally:
                self._queue.done()
