"""Bitbucket webhook deliveries -> jobs (API.md section 9).

Order matters: the signature is checked over the RAW body, in constant time, before anything is
parsed, so an unauthenticated sender cannot reach the JSON parser, the dedupe memory or the queue.
Bitbucket waits 10 s for an answer and retries 5xx: we answer 202 at once and let the worker do
the work; a redelivery (same X-Request-UUID) is acknowledged and dropped.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from werkzeug.datastructures import Headers

from reconciler.commands.comment import RepoRef
from reconciler.serve.logs import EventLog
from reconciler.serve.metrics import Metrics
from reconciler.serve.worker import Job, JobKind

PLAN_EVENTS = frozenset({"pullrequest:created", "pullrequest:updated"})
REMEMBERED_DELIVERIES = 4096


def signature_ok(body: bytes, header: str | None, secret: bytes) -> bool:
    """`X-Hub-Signature: sha256=<hex HMAC-SHA256 of the raw body>` (the only algorithm
    Bitbucket Cloud uses)."""
    if not header or not secret:
        return False
    expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.strip().encode("utf-8", "replace"))


class RecentDeliveries:
    """The last few thousand X-Request-UUIDs: enough to absorb Bitbucket's retries and manual
    resends, bounded so that memory does not grow with uptime."""

    def __init__(self, size: int = REMEMBERED_DELIVERIES) -> None:
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def first_time(self, uuid: str) -> bool:
        with self._lock:
            if uuid in self._seen:
                return False
            self._seen[uuid] = None
            if len(self._seen) > self._size:
                self._seen.popitem(last=False)
            return True


def job_for(
    event: str, payload: Mapping[str, Any], *, repo: RepoRef, branch: str, request: str | None
) -> Job | str:
    """The job a delivery asks for, or the reason it is ignored."""
    full_name = str((payload.get("repository") or {}).get("full_name") or "")
    if full_name.lower() != str(repo).lower():
        return f"not the config repository ({full_name or 'no repository'})"
    if event in PLAN_EVENTS or event == "pullrequest:fulfilled":
        pr = payload.get("pullrequest") or {}
        target = ((pr.get("destination") or {}).get("branch") or {}).get("name")
        if target != branch:
            return f"pull request targets {target!r}, not {branch!r}"
        number = int(pr["id"])
        if event == "pullrequest:fulfilled":
            return Job(JobKind.APPLY, "merge", prs=frozenset({number}), request=request)
        return Job(JobKind.PLAN, "pullrequest", pr=number, request=request)
    if event == "repo:push":
        for change in (payload.get("push") or {}).get("changes") or []:
            new = change.get("new") or {}
            if new.get("type") == "branch" and new.get("name") == branch:
                return Job(JobKind.APPLY, "push", request=request)
        return f"push does not move {branch!r}"
    return f"event {event or '(none)'} is not used"


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]


class WebhookReceiver:
    def __init__(
        self,
        *,
        secret: bytes,
        repo: RepoRef,
        branch: str,
        submit: Callable[[Job], str],
        metrics: Metrics,
        log: EventLog,
    ) -> None:
        self._secret = secret
        self._repo = repo
        self._branch = branch
        self._submit = submit
        self._metrics = metrics
        self._log = log
        self._recent = RecentDeliveries()

    def receive(self, headers: Headers, body: bytes) -> Answer:
        request = headers.get("X-Request-UUID")
        event = headers.get("X-Event-Key", "")
        if not signature_ok(body, headers.get("X-Hub-Signature"), self._secret):
            self._log.warning("webhook.unauthorized", event_key=event, request=request)
            return self._answer("unauthorized", 401, error="invalid or missing X-Hub-Signature")
        if request and not self._recent.first_time(request):
            return self._answer("duplicate", 202, status="duplicate")
        try:
            payload = json.loads(body)
            found = job_for(event, payload, repo=self._repo, branch=self._branch, request=request)
        except (ValueError, TypeError, KeyError, AttributeError):
            self._log.warning("webhook.bad_request", event_key=event, request=request)
            return self._answer("bad_request", 400, error="not a Bitbucket Cloud event payload")
        if isinstance(found, str):
            self._log.info("webhook.ignored", event_key=event, request=request, reason=found)
            return self._answer("ignored", 202, status="ignored", reason=found)
        outcome = self._submit(found)
        self._log.info(
            "webhook.accepted",
            event_key=event,
            request=request,
            pr=found.pr or _one(found.prs),
            job=found.key,
            outcome=outcome,
        )
        return self._answer(outcome, 202 if outcome != "closed" else 503, status=outcome)

    def _answer(self, outcome: str, code: int, /, **body: Any) -> Answer:
        self._metrics.webhooks.labels(outcome=outcome).inc()
        return Answer(code, body)


def _one(prs: frozenset[int]) -> int | None:
    return min(prs) if prs else None
