"""Drone 2.x: one method per endpoint the product uses. Methods fetch raw JSON and decide nothing.

Retry notes (see `http.py`): Drone's PATCH bodies are pointer fields that set absolute values, so
repeating one is harmless and they are sent with `idempotent=True` (a repository PATCH can also
fail with a 500 optimistic-lock error, for which the API reference recommends a retry).
Activation, sync, repair and chown are documented as repeatable. Creates (secrets, cron, users)
are not retried: a duplicate answers 500, so `write.py` re-reads after an ambiguous failure.
"""

from __future__ import annotations

from typing import Any

from reconciler.providers.config import DroneSettings
from reconciler.providers.http import BearerAuth, CallCounter, HttpClient, RetryPolicy, path


class DroneClient:
    def __init__(self, http: HttpClient, *, settings: DroneSettings) -> None:
        self.http = http
        self.settings = settings

    @classmethod
    def from_settings(
        cls,
        settings: DroneSettings,
        *,
        policy: RetryPolicy | None = None,
        counter: CallCounter | None = None,
        pool_maxsize: int = 8,
    ) -> DroneClient:
        http = HttpClient(
            service="drone",
            base_url=settings.api_url,
            auth=BearerAuth(settings.token),
            credentials=(settings.token,),
            policy=policy,
            counter=counter,
            pool_maxsize=pool_maxsize,
        )
        return cls(http, settings=settings)

    def close(self) -> None:
        self.http.close()

    def _patch(self, target: str, body: dict[str, Any]) -> Any:
        return self.http.request("PATCH", target, json_body=body, idempotent=True).body

    # -- the caller ------------------------------------------------------------------------------

    def get_user(self) -> Any:
        return self.http.get("/user")

    def list_user_repos(self) -> list[Any]:
        """Every repository the caller has a permission row for, in one unpaginated array."""
        return list(self.http.get("/user/repos") or ())

    def sync_user_repos(self) -> list[Any]:
        """Copies the caller's Bitbucket repositories into Drone's database, then lists them."""
        reply = self.http.request("POST", "/user/repos", idempotent=True)
        return list(reply.body or ())

    def list_all_repos(self) -> list[Any]:
        """System admins only: every repository row, paginated by `page`/`per_page`."""
        return list(self.http.paginate_pages("/repos", per_page=100))

    # -- repositories ----------------------------------------------------------------------------

    def get_repo(self, namespace: str, name: str) -> Any:
        return self.http.get(path("repos", namespace, name))

    def activate_repo(self, namespace: str, name: str) -> Any:
        reply = self.http.request("POST", path("repos", namespace, name), idempotent=True)
        return reply.body

    def patch_repo(self, namespace: str, name: str, *, body: dict[str, Any]) -> Any:
        return self._patch(path("repos", namespace, name), body)

    def disable_repo(self, namespace: str, name: str) -> Any:
        return self.http.request("DELETE", path("repos", namespace, name)).body

    def repair_repo(self, namespace: str, name: str) -> Any:
        target = path("repos", namespace, name, "repair")
        return self.http.request("POST", target, idempotent=True).body

    def chown_repo(self, namespace: str, name: str) -> Any:
        target = path("repos", namespace, name, "chown")
        return self.http.request("POST", target, idempotent=True).body

    # -- repository secrets ----------------------------------------------------------------------

    def list_secrets(self, namespace: str, name: str) -> list[Any]:
        return list(self.http.get(path("repos", namespace, name, "secrets")) or ())

    def create_secret(self, namespace: str, name: str, *, body: dict[str, Any]) -> Any:
        target = path("repos", namespace, name, "secrets")
        return self.http.request("POST", target, json_body=body).body

    def patch_secret(self, namespace: str, name: str, secret: str, *, body: dict[str, Any]) -> Any:
        return self._patch(path("repos", namespace, name, "secrets", secret), body)

    def delete_secret(self, namespace: str, name: str, secret: str) -> None:
        self.http.request("DELETE", path("repos", namespace, name, "secrets", secret))

    # -- organization secrets --------------------------------------------------------------------

    def list_org_secrets(self, namespace: str) -> list[Any]:
        return list(self.http.get(path("secrets", namespace)) or ())

    def create_org_secret(self, namespace: str, *, body: dict[str, Any]) -> Any:
        return self.http.request("POST", path("secrets", namespace), json_body=body).body

    def patch_org_secret(self, namespace: str, secret: str, *, body: dict[str, Any]) -> Any:
        return self._patch(path("secrets", namespace, secret), body)

    def delete_org_secret(self, namespace: str, secret: str) -> None:
        self.http.request("DELETE", path("secrets", namespace, secret))

    # -- cron ------------------------------------------------------------------------------------

    def list_crons(self, namespace: str, name: str) -> list[Any]:
        return list(self.http.get(path("repos", namespace, name, "cron")) or ())

    def create_cron(self, namespace: str, name: str, *, body: dict[str, Any]) -> Any:
        target = path("repos", namespace, name, "cron")
        return self.http.request("POST", target, json_body=body).body

    def patch_cron(self, namespace: str, name: str, cron: str, *, body: dict[str, Any]) -> Any:
        return self._patch(path("repos", namespace, name, "cron", cron), body)

    def delete_cron(self, namespace: str, name: str, cron: str) -> None:
        self.http.request("DELETE", path("repos", namespace, name, "cron", cron))

    # -- users -----------------------------------------------------------------------------------

    def list_users(self) -> list[Any]:
        return list(self.http.get("/users") or ())

    def create_user(self, *, body: dict[str, Any]) -> Any:
        return self.http.request("POST", "/users", json_body=body).body

    def patch_user(self, login: str, *, body: dict[str, Any]) -> Any:
        return self._patch(path("users", login), body)

    def delete_user(self, login: str) -> None:
        self.http.request("DELETE", path("users", login))
