"""The one place where values are masked before anything is shown or written.

Two rules: a sensitive field's value is replaced by a marker (the core never holds the value, but
the marker is applied here too, defensively), and any URL query parameter whose name says it
carries a credential (Drone's hook URL has `?secret=`) has its value replaced by `***`.
"""

from __future__ import annotations

import re
from typing import Any

SENSITIVE = "(sensitive)"
SENSITIVE_CHANGED = "(sensitive value changed)"
REDACTED = "***"

_URL = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s\"'<>`]+")
_SECRET_NAME = re.compile(r"secret|token|passw|key|signature|sig$|auth|credential", re.IGNORECASE)
_PARAM = re.compile(r"([?&;])([^=&;#]+)=([^&;#]*)")


def mask_url(url: str) -> str:
    """`https://drone/hook?secret=abc&x=1` -> `https://drone/hook?secret=***&x=1`."""

    def one(match: re.Match[str]) -> str:
        sep, name, value = match.groups()
        if value and _SECRET_NAME.search(name):
            return f"{sep}{name}={REDACTED}"
        return match.group(0)

    return _PARAM.sub(one, url)


def mask_text(text: str) -> str:
    """Mask every URL embedded in free text (messages, reasons, warnings)."""
    if "://" not in text:
        return text
    return _URL.sub(lambda m: mask_url(m.group(0)), text)


def mask_tree(value: Any) -> Any:
    """Mask every string inside a JSON-like tree (dicts, lists, scalars); keys included, since
    a mapping may be keyed by URL."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {mask_text(k) if isinstance(k, str) else k: mask_tree(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_tree(v) for v in value]
    return value


def sensitive_marker(*, changed: bool) -> str:
    """What a write-only field shows: set for the first time, or re-sent because it changed."""
    return SENSITIVE_CHANGED if changed else SENSITIVE
