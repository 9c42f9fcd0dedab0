"""Resolves `{env: …}` / `{file: …}` references lazily: only when a value must be written or
fingerprinted, never during validation. Values are never logged and never put in messages."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from pathlib import Path

from reconciler.errors import SecretResolutionError
from reconciler.models.resources import DesiredResource, SecretRef, fingerprint_key

FingerprintFn = Callable[[str, int | None], str]  # (value, version) -> keyed fingerprint


class SecretResolver:
    """Looks references up in an environment mapping and on disk, caching what it read.

    Relative `file` paths are taken relative to the desired-state directory, so a config repo
    can carry references that work wherever it is checked out.
    """

    def __init__(self, env: Mapping[str, str], *, base_dir: Path | None = None) -> None:
        self._env = env
        self._base_dir = base_dir or Path()
        self._cache: dict[SecretRef, str] = {}
        self._lock = threading.Lock()

    def value(self, ref: SecretRef, *, where: str) -> str:
        with self._lock:
            if ref not in self._cache:
                self._cache[ref] = self._read(ref, where=where)
            return self._cache[ref]

    def _read(self, ref: SecretRef, *, where: str) -> str:
        if ref.env is not None:
            found = self._env.get(ref.env)
            if found is None:
                raise SecretResolutionError(f"{where}: environment variable {ref.env} is not set")
            if not found:
                raise SecretResolutionError(f"{where}: environment variable {ref.env} is empty")
            return found
        assert ref.file is not None
        path = Path(ref.file)
        if not path.is_absolute():
            path = self._base_dir / path
        try:
            text = path.read_text(encoding="utf-8").rstrip("\r\n")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "unreadable"
            raise SecretResolutionError(
                f"{where}: cannot read secret file {path}: {reason}"
            ) from None
        if not text:
            raise SecretResolutionError(f"{where}: secret file {path} is empty")
        return text

    def values_for(self, resource: DesiredResource) -> dict[str, str]:
        """Every write-only value of one resource, by field name."""
        return {
            name: self.value(ref, where=f"{resource.address} {name} ({ref.describe()})")
            for name, ref in resource.sensitive.items()
        }


def desired_fingerprints(
    resources: Mapping[object, DesiredResource],
    resolver: SecretResolver,
    fingerprint: FingerprintFn,
) -> dict[str, str]:
    """Keyed fingerprints of every declared write-only value, version included."""
    found: dict[str, str] = {}
    for resource in resources.values():
        for name, ref in resource.sensitive.items():
            value = resolver.value(ref, where=f"{resource.address} {name} ({ref.describe()})")
            found[fingerprint_key(resource.address, name)] = fingerprint(value, ref.version)
    return found
