"""Webhook deliveries: the signature check (against Bitbucket's own recorded test vector),
401 with no effect, dedupe by X-Request-UUID, and burst coalescing."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import uuid
from collections.abc import Callable
from typing import Any

from reconciler.serve.webhooks import signature_ok
from tests.conftest import shared_path
from tests.serve.conftest import Running, assert_no_secrets
from tests.serve.support import WEBHOOK_SECRET, Box, ConfigGit, wait_until

SIGNED = ("fixtures", "jenkins-bitbucket-branch-source", "webhook-cloud", "signed_payload.json")


def _published_vector() -> tuple[bytes, str, str]:
    """The recorded delivery, and the secret and header SOURCE.md documents for it."""
    reference = shared_path("reference", "bitbucket-cloud")
    source = (reference / "SOURCE.md").read_text(encoding="utf-8")
    secret = re.search(r"test secret `([^`]+)`", source)
    header = re.search(r"X-Hub-Signature: (sha256=[0-9a-f]{64})", source)
    assert secret and header, "SOURCE.md no longer documents the signature test vector"
    return (reference.joinpath(*SIGNED)).read_bytes(), secret[1], header[1]


def _headers(body: bytes, *, secret: str, event: str, request: str | None = None) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "X-Event-Key": event,
        "X-Request-UUID": request or str(uuid.uuid4()),
        "X-Hub-Signature": f"sha256={digest}",
    }


def _push_body(commit: str) -> bytes:
    change = {"new": {"type": "branch", "name": "main", "target": {"hash": commit}}}
    payload: dict[str, Any] = {
        "repository": {"full_name": "acme/config"},
        "push": {"changes": [change]},
    }
    return json.dumps(payload).encode()


def test_recorded_bitbucket_delivery_verifies_with_the_published_secret(
    start_serve: Callable[..., Running],
) -> None:
    body, secret, header = _published_vector()
    assert len(body) == 14515 and signature_ok(body, header, secret.encode())
    serve = start_serve(webhook_secret=secret)

    headers = {"X-Event-Key": "repo:push", "X-Request-UUID": str(uuid.uuid4())}
    accepted = serve.post("/webhook", body, {**headers, "X-Hub-Signature": header})
    assert accepted.status_code == 202
    assert accepted.json() == {
        "status": "ignored",
        "reason": "not the config repository (nfalco79/test-repos)",
    }
    tampered = body.replace(b"nfalco79", b"nfalco78", 1)
    refused = serve.post("/webhook", tampered, {**headers, "X-Hub-Signature": header})
    assert refused.status_code == 401


def test_badly_signed_deliveries_get_401_and_change_nothing(
    box: Box, config_git: ConfigGit, start_serve: Callable[..., Running]
) -> None:
    serve = start_serve(hook_secret="a-secret-serve-does-not-know")  # the hook signs wrongly
    serve.wait_ticks(1)
    serve.wait_idle()
    box.control("DELETE", "requests")

    sent = box.push(config_git.head())  # Bitbucket (the sandbox) delivers it, badly signed
    assert [d["status"] for d in sent["deliveries"]] == [401]
    body = _push_body(config_git.head())
    unsigned = serve.post("/webhook", body, {"X-Event-Key": "repo:push"})
    wrong = _headers(body, secret="guess", event="repo:push")
    forged = serve.post("/webhook", body, wrong)
    truncated = {**wrong, "X-Hub-Signature": wrong["X-Hub-Signature"][:20]}
    short = serve.post("/webhook", body, truncated)

    assert [r.status_code for r in (unsigned, forged, short)] == [401, 401, 401]
    assert unsigned.json() == {"error": "invalid or missing X-Hub-Signature"}
    serve.wait_idle()
    assert box.control("GET", "requests") == []  # serve did not call Bitbucket or Drone at all
    assert serve.runs() == ()
    assert serve.metric("reconciler_webhooks_total", outcome="unauthorized") == 4
    assert_no_secrets(box, serve)


def test_a_redelivery_is_acknowledged_once(
    config_git: ConfigGit, start_serve: Callable[..., Running]
) -> None:
    serve = start_serve()
    serve.wait_ticks(1)
    body = _push_body(config_git.head())
    headers = _headers(body, secret=WEBHOOK_SECRET, event="repo:push")
    first = serve.post("/webhook", body, headers)
    again = serve.post("/webhook", body, {**headers, "X-Attempt-Number": "2"})
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json() == {"status": "duplicate"}
    wait_until(lambda: serve.runs() and serve.runs()[0].finished_at, what="the apply")
    serve.wait_idle()
    assert len(serve.runs()) == 1
    other = serve.post(
        "/webhook", b"{}", _headers(b"{}", secret=WEBHOOK_SECRET, event="issue:created")
    )
    assert other.status_code == 202 and other.json()["status"] == "ignored"


def test_a_burst_of_pushes_gives_at_most_two_applies(
    box: Box, config_git: ConfigGit, start_serve: Callable[..., Running]
) -> None:
    serve = start_serve()
    serve.wait_ticks(1)
    serve.wait_idle()
    commits = []
    for timeout in range(91, 96):
        config_git.edit("repos/api.yaml", f"timeout: {timeout - 1}", f"timeout: {timeout}")
        commits.append(config_git.commit(f"api timeout {timeout}"))
    config_git.push("main")

    for commit in commits:  # five deliveries in quick succession, as Bitbucket sends them
        assert [d["status"] for d in box.push(commit)["deliveries"]] == [202]
    wait_until(lambda: serve.runs() and serve.runs()[0].finished_at, what="the applies")
    serve.wait_idle()

    runs = serve.runs()
    assert 1 <= len(runs) <= 2, [r.revision for r in runs]
    assert runs[0].revision == commits[-1]  # latest wins
    assert serve.metric("reconciler_applies_total") <= 2
    assert serve.metric("reconciler_webhooks_total", outcome="coalesced") >= 3
    drone_api = next(r for r in box.state()["drone"]["repos"] if r["name"] == "api")
    assert drone_api["timeout"] == 95
