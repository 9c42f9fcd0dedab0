"""Environment -> settings: a missing credential is one line naming the variable."""

from __future__ import annotations

import pytest

from reconciler.errors import CredentialError
from reconciler.providers.config import BitbucketSettings, DroneSettings


def test_basic_auth_wins_and_tokens_stay_out_of_repr() -> None:
    env = {
        "BITBUCKET_USERNAME": "me@acme.example",
        "BITBUCKET_API_TOKEN": "tok-canary",
        "BITBUCKET_ACCESS_TOKEN": "bearer-canary",
    }
    settings = BitbucketSettings.from_env(env)
    assert settings.api_url == "https://api.bitbucket.org/2.0"
    assert settings.oauth_url == "https://bitbucket.org/site/oauth2/access_token"
    assert settings.credential_variable == "BITBUCKET_API_TOKEN"
    assert settings.access_token is None
    assert "canary" not in repr(settings)


def test_access_token_alone() -> None:
    settings = BitbucketSettings.from_env(
        {"BITBUCKET_ACCESS_TOKEN": "x", "BITBUCKET_API_URL": "http://127.0.0.1:1/2.0/"}
    )
    assert settings.credential_variable == "BITBUCKET_ACCESS_TOKEN"
    assert settings.api_url == "http://127.0.0.1:1/2.0"


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({}, "BITBUCKET_API_TOKEN"),
        ({"BITBUCKET_API_TOKEN": "t"}, "BITBUCKET_USERNAME"),
        ({"BITBUCKET_USERNAME": "me", "BITBUCKET_API_TOKEN": " "}, "BITBUCKET_API_TOKEN"),
        ({"BITBUCKET_ACCESS_TOKEN": "t", "BITBUCKET_API_URL": "api.example"}, "BITBUCKET_API_URL"),
    ],
)
def test_bitbucket_errors_name_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(CredentialError) as caught:
        BitbucketSettings.from_env(env)
    message = str(caught.value)
    assert message.startswith(variable)
    assert "\n" not in message


def test_drone_settings() -> None:
    settings = DroneSettings.from_env(
        {"DRONE_SERVER": "https://drone.example/", "DRONE_TOKEN": "canary"}
    )
    assert settings.api_url == "https://drone.example/api"
    assert "canary" not in repr(settings)
    with pytest.raises(CredentialError, match=r"^DRONE_SERVER"):
        DroneSettings.from_env({"DRONE_TOKEN": "x"})
    with pytest.raises(CredentialError, match=r"^DRONE_TOKEN"):
        DroneSettings.from_env({"DRONE_SERVER": "https://drone.example"})
