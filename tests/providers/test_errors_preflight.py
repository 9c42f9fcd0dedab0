"""Credential preflight and error hygiene: one line, naming what to fix, never a secret."""

from __future__ import annotations

import pytest

from reconciler.errors import ApiError, CredentialError
from reconciler.models import address
from reconciler.plan import Action, Change, FieldChange
from reconciler.providers.bitbucket import write as bb_write
from reconciler.providers.bitbucket.read import verify_oauth_consumer
from reconciler.providers.drone import write as drone_write
from reconciler.providers.live import read_live
from reconciler.providers.preflight import missing_scopes, preflight
from tests.providers.conftest import (
    API_TOKEN,
    DRONE_USER_TOKEN,
    SECRET_CANARY,
    WS,
    Box,
    full_scope,
    standard_seed,
)


def test_preflight_admin_token(box: Box) -> None:
    identity = preflight(*box.clients())
    assert identity.bitbucket_user == "reconciler"
    assert "read:webhook:bitbucket" in identity.bitbucket_scopes
    assert identity.bitbucket_missing_scopes == ()
    assert identity.drone_login == "drone-bot"
    assert identity.drone_admin is True


def test_preflight_non_admin_token_and_missing_scopes(box: Box) -> None:
    seed = standard_seed()
    me = seed["bitbucket"]["users"][0]
    me["scopes"] = ["read:user:bitbucket", "read:repository:bitbucket", "read:webhook:bitbucket"]
    box.load(seed)
    identity = preflight(*box.clients(DRONE_TOKEN=DRONE_USER_TOKEN))
    assert identity.drone_login == "alice"
    assert identity.drone_admin is False
    assert "write:webhook:bitbucket" in identity.bitbucket_missing_scopes
    assert "read:webhook:bitbucket" not in identity.bitbucket_missing_scopes


def test_legacy_scope_implications() -> None:
    assert missing_scopes(()) == ()
    assert missing_scopes(("account", "webhook", "repository:admin", "pullrequest:write")) == ()
    assert missing_scopes(("webhook",)) == ("account", "repository:admin", "pullrequest")


def test_rejected_credentials_are_one_line_each(box: Box) -> None:
    bitbucket, drone = box.clients(
        BITBUCKET_API_TOKEN="wrong-token-canary-3e", DRONE_TOKEN="wrong-drone-canary-4f"
    )
    with pytest.raises(CredentialError) as caught:
        preflight(bitbucket, drone)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("BITBUCKET_API_TOKEN was rejected (401)")
    assert "DRONE_TOKEN was rejected (401)" in message
    assert "canary" not in message


def test_unreachable_server_names_the_variable(box: Box) -> None:
    bitbucket, drone = box.clients(DRONE_SERVER="http://127.0.0.1:9")
    with pytest.raises(CredentialError, match=r"drone is unreachable, check DRONE_SERVER"):
        preflight(bitbucket, drone)


def test_api_errors_never_carry_tokens_bodies_or_query_strings(box: Box) -> None:
    bitbucket, drone = box.clients()
    secret = address.drone_secret(WS, "no-such-repo", "x")
    create = Change(
        secret,
        Action.CREATE,
        fields=(FieldChange("value", None, None, sensitive=True),),
        after={"pull_request": False},
        sensitive=("value",),
    )
    with pytest.raises(ApiError) as caught:
        drone_write.execute(drone, create, {"value": SECRET_CANARY})
    assert caught.value.status == 404
    texts = [str(caught.value)]

    hook = address.webhook(WS, "repo00", "bad")
    bad = Change(
        hook,
        Action.CREATE,
        after={"url": f"not-a-url-{SECRET_CANARY}", "events": ("repo:push",), "active": True},
        sensitive=("secret",),
    )
    with pytest.raises(ApiError) as caught:
        bb_write.execute(bitbucket, bad, {"secret": SECRET_CANARY})
    assert caught.value.status == 400
    texts.append(str(caught.value))

    with pytest.raises(ApiError) as caught:
        drone.http.request("GET", "/repos/acme/nothing", params={"secret": SECRET_CANARY})
    texts.append(str(caught.value))

    for text in texts:
        assert SECRET_CANARY not in text
        assert API_TOKEN not in text
        assert "?" not in text
        assert "\n" not in text


def test_oauth_consumer_verification(box: Box) -> None:
    bitbucket, _ = box.clients()
    ok = verify_oauth_consumer(
        bitbucket, client_id="drone-key", client_secret="drone-consumer-secret"
    )
    assert (ok.exists, ok.secret_valid, ok.private) == (True, True, True)
    assert ok.scopes == ("account", "repository", "webhook")
    wrong = verify_oauth_consumer(bitbucket, client_id="drone-key", client_secret="nope-canary")
    assert (wrong.exists, wrong.secret_valid) == (False, False)
    assert "nope-canary" not in (wrong.error or "")
    public = verify_oauth_consumer(bitbucket, client_id="public-key", client_secret="public-secret")
    assert (public.exists, public.secret_valid, public.private) == (True, True, False)


def test_read_live_names_the_rejected_variable(box: Box) -> None:
    for overrides, variable in (
        ({"DRONE_TOKEN": "bad-drone-canary"}, "DRONE_TOKEN"),
        ({"BITBUCKET_API_TOKEN": "bad-bb-canary"}, "BITBUCKET_API_TOKEN"),
    ):
        bitbucket, drone = box.clients(**overrides)
        with pytest.raises(CredentialError) as caught:
            read_live(scope=full_scope(standard_seed()), bitbucket=bitbucket, drone=drone)
        assert str(caught.value).startswith(f"{variable} was rejected (401)")
        assert "canary" not in str(caught.value)
