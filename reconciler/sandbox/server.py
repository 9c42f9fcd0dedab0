"""Running the sandbox: in-process on a daemon thread (tests, demo, benchmarks) or in the
foreground for ``reconciler sandbox``. It binds loopback addresses only."""

from __future__ import annotations

import ipaddress
import shlex
import sys
import threading
from pathlib import Path
from types import TracebackType
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .app import SandboxApp
from .control import sandbox_env
from .faults import Faults
from .seed import load_seed
from .state import SandboxState


class _QuietHandler(WSGIRequestHandler):
    """No access log on stderr (the request log is in ``/_sandbox/requests``)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None

    def log(self, type: str, message: str, *args: Any) -> None:
        if type == "error":
            super().log(type, message, *args)


def _check_loopback(host: str) -> None:
    if host == "localhost":
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise ValueError(f"the sandbox listens on loopback addresses only, not {host!r}")


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _make(state: SandboxState, host: str, port: int) -> tuple[BaseWSGIServer, Faults]:
    _check_loopback(host)
    faults = Faults()
    app = SandboxApp(state, faults)
    server = make_server(host, port, app, threaded=True, request_handler=_QuietHandler)
    return server, faults


class Sandbox:
    """A running sandbox. ``Sandbox.start()`` returns once the socket is listening."""

    def __init__(
        self,
        state: SandboxState,
        server: BaseWSGIServer,
        faults: Faults,
        thread: threading.Thread,
        url: str,
    ) -> None:
        self.state = state
        self.faults = faults
        self.url = url
        self._server = server
        self._thread = thread

    @classmethod
    def start(
        cls,
        seed: dict[str, Any] | str | Path | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> Sandbox:
        if isinstance(seed, str | Path):
            seed = load_seed(seed)
        state = SandboxState(seed)
        server, faults = _make(state, host, port)
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="reconciler-sandbox",
            daemon=True,
        )
        thread.start()
        return cls(state, server, faults, thread, _url(host, server.server_port))

    def env(self) -> dict[str, str]:
        return sandbox_env(self.state, self.url)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def serve_forever(host: str, port: int, seed_path: str | None) -> None:
    """Print ``export NAME=value`` lines for the client, then serve until interrupted
    (KeyboardInterrupt propagates after the socket is closed)."""
    seed = load_seed(seed_path) if seed_path else None
    state = SandboxState(seed)
    server, _faults = _make(state, host, port)
    url = _url(host, server.server_port)
    print(f"# reconciler sandbox listening on {url} (control API: {url}/_sandbox/)")
    for name, value in sandbox_env(state, url).items():
        print(f"export {name}={shlex.quote(value)}")
    sys.stdout.flush()
    try:
        server.serve_forever()
    finally:
        server.server_close()
