"""The imperative shell's outbound HTTP: one transport (`http`), one package per service.

`bitbucket` and `drone` never import each other; `live` (reading both into one `LiveState`) and
`preflight` (credential checks) are the only modules that combine them. The two helpers below are
shared by both `write.py` modules: they define what "a minimal body" means for every kind.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.errors import SecretResolutionError
from reconciler.plan import Change


def changed_fields(change: Change) -> dict[str, Any]:
    """The non-sensitive fields the plan lists as changed, with their desired values."""
    return {fc.field: fc.after for fc in change.fields if not fc.sensitive}


def sensitive_values(change: Change, values: Mapping[str, str]) -> dict[str, str]:
    """The write-only values the plan asks to send; a missing one is an error, never a blank."""
    missing = [name for name in change.sensitive if name not in values]
    if missing:
        raise SecretResolutionError(f"{change.address}: no value resolved for {', '.join(missing)}")
    return {name: values[name] for name in change.sensitive}
