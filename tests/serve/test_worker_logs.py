"""The coalescing queue and the log writer, on their own (no I/O beyond a StringIO)."""

from __future__ import annotations

import io
import json
import threading

from reconciler.serve.logs import EventLog, secret_values
from reconciler.serve.worker import Job, JobKind, JobQueue


def test_a_burst_coalesces_into_one_pending_job_per_key() -> None:
    queue = JobQueue()
    outcomes = [queue.submit(Job(JobKind.APPLY, "push", request=str(i))) for i in range(5)]
    assert outcomes == ["queued", "coalesced", "coalesced", "coalesced", "coalesced"]
    assert queue.submit(Job(JobKind.APPLY, "merge", prs=frozenset({7}))) == "coalesced"
    assert queue.submit(Job(JobKind.PLAN, "pullrequest", pr=1)) == "queued"
    assert queue.submit(Job(JobKind.PLAN, "pullrequest", pr=2)) == "queued"
    assert len(queue) == 3

    apply = queue.take()
    assert apply is not None and apply.kind is JobKind.APPLY
    assert apply.prs == frozenset({7}) and apply.trigger == "merge"  # latest wins, PRs kept
    assert not queue.idle()
    # While it runs, a new push waits as the one pending apply.
    assert queue.submit(Job(JobKind.APPLY, "push")) == "queued"
    assert [queue.take(), queue.take()] == [
        Job(JobKind.PLAN, "pullrequest", pr=1),
        Job(JobKind.PLAN, "pullrequest", pr=2),
    ]
    assert queue.close() == [Job(JobKind.APPLY, "push")]
    assert queue.take() is None and queue.submit(Job(JobKind.TICK, "schedule")) == "closed"


def test_a_delayed_job_waits_its_turn() -> None:
    queue = JobQueue()
    queue.submit(Job(JobKind.APPLY, "push", attempt=2), delay=0.2)
    queue.submit(Job(JobKind.TICK, "schedule"))
    first = queue.take()
    assert first is not None and first.kind is JobKind.TICK
    queue.done()
    taken: list[Job | None] = []
    thread = threading.Thread(target=lambda: taken.append(queue.take()))
    thread.start()
    thread.join(timeout=5)
    assert taken == [Job(JobKind.APPLY, "push", attempt=2)]


def test_logs_are_json_lines_and_scrubbed() -> None:
    stream = io.StringIO()
    env = {"DRONE_TOKEN": "drone-token-canary", "DOCKER_USERNAME": "acme-ci", "PATH": "/bin"}
    log = EventLog(stream=stream, json_lines=True, secrets=secret_values(env))
    log.info(
        "x.happened",
        pr=3,
        detail="token drone-token-canary at https://u:p4ss@host/x and https://d/hook?secret=abc",
        skipped=None,
    )
    event = json.loads(stream.getvalue())
    assert event["event"] == "x.happened" and event["level"] == "info" and event["pr"] == 3
    assert "skipped" not in event
    assert event["detail"] == ("token [redacted] at https://host/x and https://d/hook?[redacted]")


def test_readable_logs_for_a_terminal() -> None:
    stream = io.StringIO()
    EventLog(stream=stream, json_lines=False).warning("tick.drift", changes=2, detail="Plan: 2")
    line = stream.getvalue()
    assert line.endswith(' WARNING tick.drift changes=2 detail="Plan: 2"\n')
