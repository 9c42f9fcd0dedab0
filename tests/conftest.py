"""Shared test fixtures. Tests talk to loopback only: any other address is refused."""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = REPO_ROOT.parent / "shared"
EXAMPLE = REPO_ROOT / "desired-state"


def _is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refuse any outbound connection that is not to a loopback address."""
    original = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        if isinstance(address, tuple) and not _is_loopback(str(address[0])):
            raise ConnectionRefusedError(f"tests may only connect to loopback, not {address[0]}")
        return original(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded)


def shared_path(*parts: str) -> Path:
    """A file of ../shared; skips (with the reason) only where ../shared is absent."""
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is absent (a user's clone); CI always has it")
    return SHARED.joinpath(*parts)
