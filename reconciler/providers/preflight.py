"""Credential preflight: one cheap call per service says who we are and what we may do.

Every failure becomes one line naming the variable to fix, because that is what a user can act
on: "BITBUCKET_API_TOKEN was rejected (401): …" beats a stack of HTTP details.
"""

from __future__ import annotations

from reconciler.errors import ApiError, CredentialError
from reconciler.models.live import Identity
from reconciler.providers.bitbucket.client import BitbucketClient
from reconciler.providers.bitbucket.read import BitbucketUser, read_user
from reconciler.providers.drone.client import DroneClient
from reconciler.providers.drone.read import DroneUser
from reconciler.providers.drone.read import read_user as read_drone_user

# What plan + apply + comment need (API.md section 2 and the spec's per-operation scopes), in both
# scope vocabularies. API tokens
# carry new-style names that do not imply each other; OAuth and access tokens carry legacy names.
REQUIRED_API_TOKEN_SCOPES = (
    "read:user:bitbucket",
    "read:webhook:bitbucket",
    "write:webhook:bitbucket",
    "delete:webhook:bitbucket",
    "read:repository:bitbucket",
    "admin:repository:bitbucket",
    "write:permission:bitbucket",
    "delete:permission:bitbucket",
    "read:pullrequest:bitbucket",
)
REQUIRED_LEGACY_SCOPES = ("account", "webhook", "repository:admin", "pullrequest")
_LEGACY_IMPLIES = {
    "pullrequest:write": ("pullrequest", "repository", "repository:write"),
    "pullrequest": ("repository",),
    "repository:write": ("repository",),
}


def missing_scopes(held: tuple[str, ...]) -> tuple[str, ...]:
    """Required scopes absent from `held`; empty when nothing is known (no header)."""
    if not held:
        return ()
    if any(s.endswith(":bitbucket") for s in held):
        return tuple(s for s in REQUIRED_API_TOKEN_SCOPES if s not in held)
    expanded = set(held)
    for scope in held:
        expanded.update(_LEGACY_IMPLIES.get(scope, ()))
    return tuple(s for s in REQUIRED_LEGACY_SCOPES if s not in expanded)


def check_bitbucket(client: BitbucketClient) -> BitbucketUser:
    variable = client.settings.credential_variable
    try:
        return read_user(client)
    except ApiError as error:
        raise CredentialError(_explain(error, variable, "BITBUCKET_API_URL")) from None


def check_drone(client: DroneClient) -> DroneUser:
    try:
        return read_drone_user(client)
    except ApiError as error:
        raise CredentialError(_explain(error, "DRONE_TOKEN", "DRONE_SERVER")) from None


def _explain(error: ApiError, variable: str, url_variable: str) -> str:
    if error.status == 401:
        hint = (
            " (BITBUCKET_USERNAME must be the Atlassian account email)"
            if variable == "BITBUCKET_API_TOKEN"
            else ""
        )
        return f"{variable} was rejected (401): {error.message}{hint}"
    if error.status == 403:
        return f"{variable} is not allowed to identify itself (403): {error.message}"
    if error.status is None:
        return f"{error.service} is unreachable, check {url_variable}: {error.message}"
    return f"{error.service} answered {error.status} to the identity check: {error.message}"


def identity(bitbucket: BitbucketUser | None, drone: DroneUser | None) -> Identity:
    return Identity(
        bitbucket_user=bitbucket.name if bitbucket else None,
        bitbucket_scopes=bitbucket.scopes if bitbucket else (),
        bitbucket_missing_scopes=missing_scopes(bitbucket.scopes) if bitbucket else (),
        drone_login=drone.login if drone else None,
        drone_admin=drone.admin if drone else False,
    )


def preflight(bitbucket: BitbucketClient, drone: DroneClient) -> Identity:
    """`GET /2.0/user` and `GET /api/user`. Both are tried, so one run reports both problems.
    `drone_admin` decides whether timeout, trusted and throttle can be managed: Drone silently
    ignores them from anyone but a system admin."""
    problems: list[str] = []
    bb_user: BitbucketUser | None = None
    drone_user: DroneUser | None = None
    try:
        bb_user = check_bitbucket(bitbucket)
    except CredentialError as error:
        problems.append(str(error))
    try:
        drone_user = check_drone(drone)
    except CredentialError as error:
        problems.append(str(error))
    if problems:
        raise CredentialError("; ".join(problems))
    return identity(bb_user, drone_user)
