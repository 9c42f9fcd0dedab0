"""Stable resource addresses (`kind:id`), shared by desired and live state, plans and the store."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    BITBUCKET_PERMISSION = "bitbucket_permission"
    BITBUCKET_WEBHOOK = "bitbucket_webhook"
    BITBUCKET_OAUTH_CONSUMER = "bitbucket_oauth_consumer"
    DRONE_REPO = "drone_repo"
    DRONE_SECRET = "drone_secret"
    DRONE_ORG_SECRET = "drone_org_secret"
    DRONE_CRON = "drone_cron"
    DRONE_USER = "drone_user"


@dataclass(frozen=True, order=True)
class Address:
    """`kind:id`. Ordering is by kind name then id, which makes plans deterministic."""

    kind: Kind
    id: str

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.id}"

    @classmethod
    def parse(cls, text: str) -> Address:
        kind, sep, ident = text.partition(":")
        if not sep or not ident:
            raise ValueError(f"{text!r} is not an address of the form kind:id")
        try:
            return cls(Kind(kind), ident)
        except ValueError:
            known = ", ".join(k.value for k in Kind)
            raise ValueError(f"{kind!r} is not a resource kind (known: {known})") from None

    @property
    def repo(self) -> str | None:
        """`workspace/slug` for repository-scoped kinds, else None."""
        if self.kind in _REPO_SCOPED:
            workspace, slug, *_ = self.id.split("/")
            return f"{workspace}/{slug}"
        return None

    def matches(self, pattern: str) -> bool:
        """`--target` matching: an exact address, a glob (`drone_secret:acme/api/*`), or a prefix
        ending in `/` or `:` (`drone_repo:` selects every Drone repository)."""
        text = str(self)
        if pattern.endswith(("/", ":")):
            return text.startswith(pattern)
        return text == pattern or fnmatch.fnmatchcase(text, pattern)


_REPO_SCOPED = frozenset(
    {
        Kind.BITBUCKET_PERMISSION,
        Kind.BITBUCKET_WEBHOOK,
        Kind.DRONE_REPO,
        Kind.DRONE_SECRET,
        Kind.DRONE_CRON,
    }
)


def permission(workspace: str, slug: str, principal_type: str, principal: str) -> Address:
    return Address(Kind.BITBUCKET_PERMISSION, f"{workspace}/{slug}/{principal_type}:{principal}")


def webhook(workspace: str, slug: str, description: str) -> Address:
    return Address(Kind.BITBUCKET_WEBHOOK, f"{workspace}/{slug}/{description}")


def oauth_consumer(workspace: str, name: str) -> Address:
    return Address(Kind.BITBUCKET_OAUTH_CONSUMER, f"{workspace}/{name}")


def drone_repo(workspace: str, slug: str) -> Address:
    return Address(Kind.DRONE_REPO, f"{workspace}/{slug}")


def drone_secret(workspace: str, slug: str, name: str) -> Address:
    return Address(Kind.DRONE_SECRET, f"{workspace}/{slug}/{name}")


def drone_org_secret(namespace: str, name: str) -> Address:
    return Address(Kind.DRONE_ORG_SECRET, f"{namespace}/{name}")


def drone_cron(workspace: str, slug: str, name: str) -> Address:
    return Address(Kind.DRONE_CRON, f"{workspace}/{slug}/{name}")


def drone_user(login: str) -> Address:
    return Address(Kind.DRONE_USER, login)
