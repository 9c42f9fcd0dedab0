"""The sandbox WSGI application: werkzeug routing, fault injection, locking and the request log."""

from __future__ import annotations

import contextlib
import socket
import sys
import time
import traceback
from collections.abc import Iterable
from typing import Any

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, RequestRedirect
from werkzeug.wrappers import Request, Response

from . import (
    bbhooks,
    bbperms,
    bbpulls,
    bbrepo,
    bbstatus,
    control,
    drone,
    dronecron,
    dronehook,
    dronesecrets,
    oauth,
)
from .faults import Decision, Faults
from .state import SandboxState
from .web import Ctx, Handler, bb_error, json_response

_MODULES = (
    bbrepo,
    bbhooks,
    bbperms,
    bbpulls,
    bbstatus,
    oauth,
    drone,
    dronesecrets,
    dronecron,
    dronehook,
    control,
)


def system_of(path: str) -> str:
    for prefix, system in (
        ("/_sandbox", "control"),
        ("/bitbucket", "bitbucket"),
        ("/drone", "drone"),
    ):
        if path == prefix or path.startswith(prefix + "/"):
            return system
    return "other"


def _not_found(system: str) -> Response:
    if system == "bitbucket":
        return bb_error(404, "Resource not found")
    if system == "drone":
        return Response("404 page not found\n", status=404, content_type="text/plain")
    return json_response({"error": "not found"}, 404)


def _server_error(system: str, status: int, message: str) -> Response:
    if system == "bitbucket":
        return bb_error(status, message)
    return json_response({"message": message}, status)


class SandboxApp:
    def __init__(self, state: SandboxState, faults: Faults | None = None) -> None:
        self.state = state
        self.faults = faults or Faults()
        rules = [rule for module in _MODULES for rule in module.rules()]
        self.url_map = Map(rules, strict_slashes=False, merge_slashes=False)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        system = system_of(request.path)
        started = time.perf_counter()
        decision = Decision()
        if system in ("bitbucket", "drone"):
            decision = self.faults.decide(
                system=system,
                method=request.method,
                path=request.path,
                principal=request.headers.get("Authorization")
                or request.args.get("access_token")
                or request.remote_addr
                or "anonymous",
            )
            if decision.latency_s:
                time.sleep(decision.latency_s)
        if decision.action == "drop":
            self._log(request, system, 0, started, "drop")
            self._drop(environ)
            start_response("500 Internal Server Error", [("Content-Length", "0")])
            return []
        response = self._respond(request, system, decision)
        if system != "control":
            self._log(request, system, response.status_code, started, decision.action)
        return response(environ, start_response)

    def _respond(self, request: Request, system: str, decision: Decision) -> Response:
        if decision.action == "rate_limit":
            headers = {"Retry-After": str(decision.retry_after)} if decision.retry_after else None
            if system == "bitbucket":
                return bb_error(
                    429, "Rate limit for this resource has been exceeded", headers=headers
                )
            return json_response({"message": "Rate limit exceeded"}, 429, headers)
        if decision.action == "error":
            return _server_error(system, decision.status, "Internal server error (sandbox fault)")
        return self._dispatch(request, system)

    def _dispatch(self, request: Request, system: str) -> Response:
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match()
        except (NotFound, RequestRedirect):
            return _not_found(system)
        except MethodNotAllowed as exc:
            response = exc.get_response()
            return Response(response.get_data(), status=405, headers=response.headers)
        handler: Handler = endpoint
        ctx = Ctx(request, self.state, request.host_url.rstrip("/"), self.faults)
        try:
            params = {k: str(v) for k, v in args.items()}
            if handler in control.UNLOCKED:
                return handler(ctx, params)
            with self.state.lock:
                return handler(ctx, params)
        except Exception:
            traceback.print_exc(file=sys.stderr)
            return _server_error(system, 500, "Internal server error (sandbox bug)")

    def _log(
        self, request: Request, system: str, status: int, started: float, fault: str | None
    ) -> None:
        self.state.log_request(
            {
                "system": system,
                "method": request.method,
                "path": request.path,
                "query": request.query_string.decode("latin-1"),
                "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                "fault": fault,
            }
        )

    @staticmethod
    def _drop(environ: dict[str, Any]) -> None:
        """Close the connection without an answer: the client sees a connection error."""
        sock = environ.get("werkzeug.socket")
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
