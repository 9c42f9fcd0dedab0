"""The HTTP layer's own rules, over real HTTP against the sandbox."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from reconciler.errors import ApiError
from reconciler.providers.http import CallCounter, RetryPolicy, path
from tests.providers.conftest import FAST, WS, Box


def test_path_segments_are_percent_encoded() -> None:
    assert path("repositories", WS, "api", "hooks", "{1-2}") == (
        "/repositories/acme/api/hooks/%7B1-2%7D"
    )
    assert path("secrets", "a/b", "x y") == "/secrets/a%2Fb/x%20y"


def test_backoff_is_bounded_full_jitter() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=2.0)
    for attempt in range(1, 8):
        assert 0 <= policy.backoff(attempt) <= min(2.0, 0.5 * 2 ** (attempt - 1))
    with pytest.raises(ValueError, match="at least 1"):
        RetryPolicy(max_attempts=0)


def test_post_is_not_retried_on_5xx_but_get_is(box: Box) -> None:
    counter = CallCounter()
    _, drone = box.clients(counter=counter)
    box.faults(seed=1, error_rate=1.0)
    with pytest.raises(ApiError):
        drone.create_user(body={"login": "zed"})
    assert counter.calls == {"drone": 1}
    with pytest.raises(ApiError):
        drone.get_user()
    assert counter.calls == {"drone": 1 + FAST.max_attempts}


def test_501_is_final(box: Box) -> None:
    """Drone's oss build answers 501 for secrets and cron: retrying cannot help."""
    counter = CallCounter()
    _, drone = box.clients(counter=counter)
    box.faults(seed=1, error_rate=1.0, error_status=501)
    with pytest.raises(ApiError) as caught:
        drone.list_secrets(WS, "repo00")
    assert caught.value.status == 501
    assert counter.calls == {"drone": 1}


def test_retry_after_is_honoured_up_to_the_cap(box: Box) -> None:
    box.faults(seed=1, rate_limits={"drone": {"limit": 1, "window_s": 0.4, "retry_after": 1}})
    policy = replace(FAST, retry_after_cap=0.4, max_attempts=3)
    counter = CallCounter()
    _, drone = box.clients(policy=policy, counter=counter)
    drone.get_user()
    start = time.perf_counter()
    drone.get_user()  # limited once, waits the capped Retry-After, then passes
    waited = time.perf_counter() - start
    assert 0.35 <= waited < 1.0
    assert counter.retries == {"drone": 1}


def test_a_plain_404_on_delete_is_reported(box: Box) -> None:
    _, drone = box.clients()
    drone.delete_cron(WS, "repo00", "nightly")
    with pytest.raises(ApiError) as caught:
        drone.delete_cron(WS, "repo00", "nightly")
    assert caught.value.status == 404


def test_a_retried_delete_that_finds_nothing_succeeded(box: Box) -> None:
    """The first DELETE times out on the client but the server still acts on it; the retry
    then answers 404, which means the object is gone: what the DELETE wanted.

    Latency is drawn per request from [0, 300] ms with seed 1460: ~203 ms for the first request
    (past the 150 ms read timeout, still applied by the server), ~86 ms for the retry, which
    therefore lands after the first one took effect."""
    policy = replace(FAST, read_timeout=0.15, max_attempts=2)
    counter = CallCounter()
    _, drone = box.clients(policy=policy, counter=counter)
    box.faults(seed=1460, latency_ms=[0, 300])
    drone.delete_secret(WS, "repo00", "aws_key")
    box.faults(seed=1)
    statuses = [(e["method"], e["status"]) for e in box.requests_log()]
    assert sorted(statuses) == [("DELETE", 204), ("DELETE", 404)]
    assert counter.retries == {"drone": 1}
    assert drone.list_secrets(WS, "repo00") == []


def test_next_links_off_the_api_host_are_refused(box: Box) -> None:
    bitbucket, _ = box.clients()
    with pytest.raises(ApiError, match="refused to follow a link off the API host"):
        bitbucket.http.get("http://127.0.0.2:9/bitbucket/2.0/user")
