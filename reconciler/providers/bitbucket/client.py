"""Bitbucket Cloud 2.0: one method per endpoint the product uses. Methods fetch raw JSON and
decide nothing; parsing lives in `read.py`, change semantics in `write.py`.

Collections are read with `pagelen=100` (the global maximum) and an optional `fields=` filter
chosen by the reader; `next` is always kept in it, or pagination would stop after one page.
"""

from __future__ import annotations

from typing import Any

from requests.auth import AuthBase, HTTPBasicAuth

from reconciler.providers.config import BitbucketSettings
from reconciler.providers.http import (
    BearerAuth,
    CallCounter,
    HttpClient,
    Params,
    Reply,
    RetryPolicy,
    path,
)

PAGELEN = 100


def _list_params(fields: str | None) -> Params:
    params: dict[str, str | int] = {"pagelen": PAGELEN}
    if fields:
        params["fields"] = fields if "next" in fields.split(",") else f"{fields},next"
    return params


class BitbucketClient:
    def __init__(self, http: HttpClient, *, settings: BitbucketSettings) -> None:
        self.http = http
        self.settings = settings

    @classmethod
    def from_settings(
        cls,
        settings: BitbucketSettings,
        *,
        policy: RetryPolicy | None = None,
        counter: CallCounter | None = None,
        pool_maxsize: int = 8,
    ) -> BitbucketClient:
        if settings.api_token and settings.username:
            auth: AuthBase = HTTPBasicAuth(settings.username, settings.api_token)
            credentials = (settings.api_token,)
        else:
            auth = BearerAuth(settings.access_token or "")
            credentials = (settings.access_token or "",)
        http = HttpClient(
            service="bitbucket",
            base_url=settings.api_url,
            auth=auth,
            credentials=credentials,
            policy=policy,
            counter=counter,
            pool_maxsize=pool_maxsize,
        )
        return cls(http, settings=settings)

    def close(self) -> None:
        self.http.close()

    # -- identity -------------------------------------------------------------------------------

    def get_user(self) -> Reply:
        """The whole reply: preflight reads `X-OAuth-Scopes` / `X-Accepted-OAuth-Scopes`."""
        return self.http.request("GET", "/user")

    def request_client_credentials(self, *, client_id: str, client_secret: str) -> Any:
        """POST the token endpoint with the consumer's key/secret as HTTP Basic. Minting a token
        has no side effect worth guarding, so the call may be retried like a read."""
        reply = self.http.request(
            "POST",
            self.settings.oauth_url,
            form={"grant_type": "client_credentials"},
            auth=HTTPBasicAuth(client_id, client_secret),
            idempotent=True,
            secrets=(client_id, client_secret),
        )
        return reply.body

    # -- webhooks -------------------------------------------------------------------------------

    def list_hooks(self, workspace: str, slug: str, *, fields: str | None = None) -> list[Any]:
        target = path("repositories", workspace, slug, "hooks")
        return list(self.http.paginate(target, params=_list_params(fields)))

    def create_hook(self, workspace: str, slug: str, *, body: dict[str, Any]) -> Any:
        target = path("repositories", workspace, slug, "hooks")
        return self.http.request("POST", target, json_body=body).body

    def update_hook(self, workspace: str, slug: str, uuid: str, *, body: dict[str, Any]) -> Any:
        target = path("repositories", workspace, slug, "hooks", uuid)
        return self.http.request("PUT", target, json_body=body).body

    def delete_hook(self, workspace: str, slug: str, uuid: str) -> None:
        self.http.request("DELETE", path("repositories", workspace, slug, "hooks", uuid))

    # -- repository permissions ----------------------------------------------------------------

    def list_group_permissions(
        self, workspace: str, slug: str, *, fields: str | None = None
    ) -> list[Any]:
        target = path("repositories", workspace, slug, "permissions-config", "groups")
        return list(self.http.paginate(target, params=_list_params(fields)))

    def put_group_permission(
        self, workspace: str, slug: str, group: str, *, permission: str
    ) -> Any:
        target = path("repositories", workspace, slug, "permissions-config", "groups", group)
        return self.http.request("PUT", target, json_body={"permission": permission}).body

    def delete_group_permission(self, workspace: str, slug: str, group: str) -> None:
        target = path("repositories", workspace, slug, "permissions-config", "groups", group)
        self.http.request("DELETE", target)

    def list_user_permissions(
        self, workspace: str, slug: str, *, fields: str | None = None
    ) -> list[Any]:
        target = path("repositories", workspace, slug, "permissions-config", "users")
        return list(self.http.paginate(target, params=_list_params(fields)))

    def put_user_permission(self, workspace: str, slug: str, user: str, *, permission: str) -> Any:
        target = path("repositories", workspace, slug, "permissions-config", "users", user)
        return self.http.request("PUT", target, json_body={"permission": permission}).body

    def delete_user_permission(self, workspace: str, slug: str, user: str) -> None:
        target = path("repositories", workspace, slug, "permissions-config", "users", user)
        self.http.request("DELETE", target)

    def list_workspace_repo_permissions(
        self, workspace: str, *, fields: str | None = None
    ) -> list[Any]:
        """Effective (highest of direct and group) per-user permissions for every repository."""
        target = path("workspaces", workspace, "permissions", "repositories")
        return list(self.http.paginate(target, params=_list_params(fields)))

    # -- pull requests, comments, statuses, commits -------------------------------------------

    def get_pull_request(self, workspace: str, slug: str, pr_id: int) -> Any:
        return self.http.get(path("repositories", workspace, slug, "pullrequests", pr_id))

    def list_pr_comments(
        self, workspace: str, slug: str, pr_id: int, *, fields: str | None = None
    ) -> list[Any]:
        target = path("repositories", workspace, slug, "pullrequests", pr_id, "comments")
        return list(self.http.paginate(target, params=_list_params(fields)))

    def create_pr_comment(self, workspace: str, slug: str, pr_id: int, *, raw: str) -> Any:
        target = path("repositories", workspace, slug, "pullrequests", pr_id, "comments")
        return self.http.request("POST", target, json_body={"content": {"raw": raw}}).body

    def update_pr_comment(
        self, workspace: str, slug: str, pr_id: int, comment_id: int, *, raw: str
    ) -> Any:
        target = path(
            "repositories", workspace, slug, "pullrequests", pr_id, "comments", comment_id
        )
        return self.http.request("PUT", target, json_body={"content": {"raw": raw}}).body

    def create_build_status(
        self, workspace: str, slug: str, commit: str, *, body: dict[str, Any]
    ) -> Any:
        """An upsert keyed by `key` on that commit, hence safe to retry."""
        target = path("repositories", workspace, slug, "commit", commit, "statuses", "build")
        return self.http.request("POST", target, json_body=body, idempotent=True).body

    def get_commit(self, workspace: str, slug: str, commit: str) -> Any:
        """Expands an abbreviated hash (PR payloads carry 12 characters) to the full one."""
        return self.http.get(path("repositories", workspace, slug, "commit", commit))
