"""Environment -> service settings. The only place that knows the variable names (DESIGN section 5).

A missing or malformed variable is a `CredentialError` whose one-line message names the variable,
so the CLI can print it as is. Token fields are excluded from `repr` so that a settings object in a
traceback or log line never shows a credential.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from reconciler.errors import CredentialError

DEFAULT_BITBUCKET_API_URL = "https://api.bitbucket.org/2.0"
DEFAULT_BITBUCKET_OAUTH_URL = "https://bitbucket.org/site/oauth2/access_token"


def _get(env: Mapping[str, str], name: str) -> str | None:
    """An unset or blank variable counts as missing (shells export empty strings easily)."""
    value = env.get(name, "").strip()
    return value or None


def _url(env: Mapping[str, str], name: str, default: str | None = None) -> str:
    value = _get(env, name) or default
    if value is None:
        raise CredentialError(f"{name} is not set: give the server's base URL, e.g. https://…")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise CredentialError(f"{name} must be an absolute http(s) URL")
    return value.rstrip("/")


@dataclass(frozen=True)
class BitbucketSettings:
    """HTTP Basic (account email + API token) wins over a Bearer access token when both are
    set, because only a user API token may read and write repository permissions."""

    api_url: str = DEFAULT_BITBUCKET_API_URL
    oauth_url: str = DEFAULT_BITBUCKET_OAUTH_URL
    username: str | None = None
    api_token: str | None = field(default=None, repr=False)
    access_token: str | None = field(default=None, repr=False)

    @property
    def credential_variable(self) -> str:
        """The variable a rejected credential came from, for error messages."""
        return "BITBUCKET_API_TOKEN" if self.api_token else "BITBUCKET_ACCESS_TOKEN"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> BitbucketSettings:
        api_url = _url(env, "BITBUCKET_API_URL", DEFAULT_BITBUCKET_API_URL)
        oauth_url = _url(env, "BITBUCKET_OAUTH_URL", DEFAULT_BITBUCKET_OAUTH_URL)
        username = _get(env, "BITBUCKET_USERNAME")
        api_token = _get(env, "BITBUCKET_API_TOKEN")
        access_token = _get(env, "BITBUCKET_ACCESS_TOKEN")
        if api_token and username:
            return cls(api_url, oauth_url, username=username, api_token=api_token)
        if access_token:
            return cls(api_url, oauth_url, access_token=access_token)
        if api_token:
            raise CredentialError(
                "BITBUCKET_USERNAME is not set: it must be the Atlassian account email that "
                "owns BITBUCKET_API_TOKEN"
            )
        if username:
            raise CredentialError("BITBUCKET_API_TOKEN is not set (needed with BITBUCKET_USERNAME)")
        raise CredentialError(
            "BITBUCKET_API_TOKEN is not set: set BITBUCKET_USERNAME and BITBUCKET_API_TOKEN, "
            "or BITBUCKET_ACCESS_TOKEN"
        )


@dataclass(frozen=True)
class DroneSettings:
    """`server` is Drone's address as the drone CLI takes it; the API lives under `/api`."""

    server: str
    token: str = field(repr=False)

    @property
    def api_url(self) -> str:
        return f"{self.server}/api"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> DroneSettings:
        server = _url(env, "DRONE_SERVER")
        token = _get(env, "DRONE_TOKEN")
        if token is None:
            raise CredentialError(
                "DRONE_TOKEN is not set: copy the token from Drone's account page "
                "(<DRONE_SERVER>/account)"
            )
        return cls(server=server, token=token)
