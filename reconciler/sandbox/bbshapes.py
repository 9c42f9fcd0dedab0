"""Bitbucket Cloud response objects, shaped like the recorded fixtures.

Renderers take plain state records and the public API root, and return new dicts; they never
mutate state. Write-only values (hook secrets, API tokens) never appear here.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote


def enc(uuid: str) -> str:
    """Percent-encode a brace UUID for a path segment: ``{x}`` -> ``%7Bx%7D``."""
    return quote(uuid, safe="")


def _href(url: str) -> dict[str, str]:
    return {"href": url}


def user_obj(api: str, user: dict[str, Any] | None) -> dict[str, Any] | None:
    if user is None:
        return None
    web = api.rsplit("/2.0", 1)[0]
    return {
        "display_name": user["display_name"],
        "links": {
            "self": _href(f"{api}/users/{enc(user['uuid'])}"),
            "avatar": _href(f"{web}/account/{enc(user['uuid'])}/avatar/"),
            "html": _href(f"{web}/{enc(user['uuid'])}/"),
        },
        "type": "user",
        "uuid": user["uuid"],
        "account_id": user["account_id"],
        "nickname": user["nickname"],
    }


def user_full(api: str, user: dict[str, Any]) -> dict[str, Any]:
    out = user_obj(api, user) or {}
    out.update(
        {
            "created_on": user["created_on"],
            "has_2fa_enabled": None,
            "username": user["nickname"],
            "is_staff": False,
            "account_status": "active",
            "location": None,
        }
    )
    return out


def workspace_obj(api: str, slug: str, ws: dict[str, Any]) -> dict[str, Any]:
    web = api.rsplit("/2.0", 1)[0]
    base = f"{api}/workspaces/{slug}"
    return {
        "type": "workspace",
        "uuid": ws["uuid"],
        "name": ws["name"],
        "slug": slug,
        "is_private": ws["is_private"],
        "created_on": "2024-01-01T00:00:00+00:00",
        "links": {
            "avatar": _href(f"{web}/workspaces/{slug}/avatar/"),
            "html": _href(f"{web}/{slug}/"),
            "members": _href(f"{base}/members"),
            "owners": _href(f"{base}/members?q=permission%3D%22owner%22"),
            "projects": _href(f"{base}/projects"),
            "repositories": _href(f"{api}/repositories/{slug}"),
            "snippets": _href(f"{api}/snippets/{slug}"),
            "self": _href(base),
            "hooks": _href(f"{base}/hooks"),
        },
    }


def workspace_condensed(api: str, slug: str, ws: dict[str, Any]) -> dict[str, Any]:
    full = workspace_obj(api, slug, ws)
    return {
        "type": "workspace",
        "uuid": ws["uuid"],
        "name": ws["name"],
        "slug": slug,
        "links": {k: full["links"][k] for k in ("self", "html", "avatar")},
    }


def repo_condensed(api: str, ws_slug: str, slug: str, repo: dict[str, Any]) -> dict[str, Any]:
    web = api.rsplit("/2.0", 1)[0]
    return {
        "type": "repository",
        "full_name": f"{ws_slug}/{slug}",
        "links": {
            "self": _href(f"{api}/repositories/{ws_slug}/{slug}"),
            "html": _href(f"{web}/{ws_slug}/{slug}"),
            "avatar": _href(f"{web}/ravatar/{enc(repo['uuid'])}?ts=default"),
        },
        "name": repo["name"],
        "uuid": repo["uuid"],
    }


def repo_full(
    api: str, ws_slug: str, ws: dict[str, Any], slug: str, repo: dict[str, Any]
) -> dict[str, Any]:
    web = api.rsplit("/2.0", 1)[0]
    base = f"{api}/repositories/{ws_slug}/{slug}"
    out = repo_condensed(api, ws_slug, slug, repo)
    out["links"].update(
        {
            "pullrequests": _href(f"{base}/pullrequests"),
            "commits": _href(f"{base}/commits"),
            "hooks": _href(f"{base}/hooks"),
            "clone": [
                {"name": "https", "href": f"{web}/{ws_slug}/{slug}.git"},
                {"name": "ssh", "href": f"git@bitbucket.org:{ws_slug}/{slug}.git"},
            ],
        }
    )
    out.update(
        {
            "slug": slug,
            "description": repo["description"],
            "scm": "git",
            "website": None,
            "is_private": repo["is_private"],
            "fork_policy": "no_public_forks" if repo["is_private"] else "allow_forks",
            "language": repo["language"],
            "created_on": repo["created_on"],
            "updated_on": repo["created_on"],
            "size": 0,
            "has_issues": False,
            "has_wiki": False,
            "mainbranch": {"type": "branch", "name": repo["mainbranch"]},
            "workspace": workspace_condensed(api, ws_slug, ws),
            "project": {
                "type": "project",
                "key": repo["project"]["key"],
                "uuid": repo["project"]["uuid"],
                "name": repo["project"]["name"],
            },
        }
    )
    return out


def hook_obj(
    hook: dict[str, Any], *, subject_type: str, subject: dict[str, Any], self_href: str
) -> dict[str, Any]:
    return {
        "type": "webhook_subscription",
        "uuid": hook["uuid"],
        "description": hook["description"],
        "url": hook["url"],
        "active": hook["active"],
        "skip_cert_verification": hook["skip_cert_verification"],
        "events": list(hook["events"]),
        "created_at": hook["created_at"],
        "subject_type": subject_type,
        "subject": subject,
        "links": {"self": _href(self_href)},
        "source": None,
        "read_only": False,
        "history_enabled": False,
        "secret_set": bool(hook["secret"]),
    }


def group_perm_obj(
    api: str, ws_slug: str, slug: str, *, group_slug: str, group: dict[str, Any], perm: str
) -> dict[str, Any]:
    return {
        "type": "repository_group_permission",
        "group": {
            "type": "group",
            "name": group["name"],
            "slug": group_slug,
            "full_slug": f"{ws_slug}:{group_slug}",
        },
        "permission": perm,
        "links": {
            "self": _href(
                f"{api}/repositories/{ws_slug}/{slug}/permissions-config/groups/{group_slug}"
            )
        },
    }


def user_perm_obj(
    api: str, ws_slug: str, slug: str, user: dict[str, Any], perm: str
) -> dict[str, Any]:
    return {
        "type": "repository_user_permission",
        "user": {
            "type": "user",
            "display_name": user["display_name"],
            "uuid": user["uuid"],
            "account_id": user["account_id"],
            "nickname": user["nickname"],
        },
        "permission": perm,
        "links": {
            "self": _href(
                f"{api}/repositories/{ws_slug}/{slug}/permissions-config/users/{user['account_id']}"
            )
        },
    }


def effective_perm_obj(
    ws_slug: str, slug: str, repo: dict[str, Any], user: dict[str, Any], perm: str
) -> dict[str, Any]:
    return {
        "type": "repository_permission",
        "user": {
            "type": "user",
            "display_name": user["display_name"],
            "uuid": user["uuid"],
            "account_id": user["account_id"],
            "nickname": user["nickname"],
        },
        "repository": {
            "type": "repository",
            "name": repo["name"],
            "full_name": f"{ws_slug}/{slug}",
            "uuid": repo["uuid"],
        },
        "permission": perm,
    }


def commit_ref(api: str, ws_slug: str, slug: str, full_hash: str, *, short: bool) -> dict[str, Any]:
    web = api.rsplit("/2.0", 1)[0]
    h = full_hash[:12] if short else full_hash
    return {
        "hash": h,
        "type": "commit",
        "links": {
            "self": _href(f"{api}/repositories/{ws_slug}/{slug}/commit/{h}"),
            "html": _href(f"{web}/{ws_slug}/{slug}/commits/{h}"),
        },
    }


def rendered(raw: str) -> dict[str, Any]:
    from html import escape

    body = "".join(f"<p>{escape(line)}</p>" for line in raw.split("\n\n") if line)
    return {"type": "rendered", "raw": raw, "markup": "markdown", "html": body}


def commit_obj(
    api: str,
    ws_slug: str,
    slug: str,
    repo: dict[str, Any],
    commit: dict[str, Any],
    *,
    author: dict[str, Any] | None,
) -> dict[str, Any]:
    out = commit_ref(api, ws_slug, slug, commit["hash"], short=False)
    raw_author = (
        f"{author['display_name']} <{author.get('email') or 'user@example.com'}>"
        if (author)
        else "Sandbox <sandbox@example.com>"
    )
    out.update(
        {
            "repository": repo_condensed(api, ws_slug, slug, repo),
            "date": commit["date"],
            "message": commit["message"],
            "summary": rendered(commit["message"]),
            "author": {"type": "author", "raw": raw_author, "user": user_obj(api, author)},
            "parents": [],
        }
    )
    return out
