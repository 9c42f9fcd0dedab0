"""Terminal view of a plan document, Terraform-like. Reads only the (already masked) document.

Colour is plain ANSI and only when the caller asks for it (it decides from the TTY and NO_COLOR),
so the same document renders to the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

SYMBOLS = {
    "create": "+",
    "delete": "-",
    "update": "~",
    "replace": "-/+",
    "repair": "↻",
    "manual": "!",
}
_COLOURS = {
    "create": "32",
    "delete": "31",
    "update": "33",
    "replace": "35",
    "repair": "36",
    "manual": "1;33",
}
_RESET = "\x1b[0m"
_INDENT = " " * 6


def render_text(doc: Mapping[str, Any], *, color: bool) -> str:
    changes = doc["changes"]
    width = max((len(c["address"]) for c in changes), default=0) + 3
    lines: list[str] = []
    for change in changes:
        lines.extend(_change_lines(change, width=width, color=color))
    if lines:
        lines.append("")
    notes = attention_lines(doc)
    for kind, text in notes:
        lines.append(_paint(text, "33" if kind == "warning" else "31", color=color))
    if notes:
        lines.append("")
    lines.append(_paint(summary_line(doc), "1", color=color))
    return "\n".join(lines) + "\n"


def summary_line(doc: Mapping[str, Any]) -> str:
    """`Plan: 1 to add, 2 to change, 0 to destroy, 1 to replace, 1 to repair, 1 manual.`;
    replace, repair and manual appear only when present."""
    counts = doc["summary"]
    if not any(counts.values()):
        return "No changes. Live state matches desired state."
    parts = [
        f"{counts['create']} to add",
        f"{counts['update']} to change",
        f"{counts['delete']} to destroy",
    ]
    for key, label in (("replace", "to replace"), ("repair", "to repair"), ("manual", "manual")):
        if counts[key]:
            parts.append(f"{counts[key]} {label}")
    return "Plan: " + ", ".join(parts) + "."


def attention_lines(doc: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Warnings and checks that did not pass, as (kind, text) pairs: kind is "warning" or
    "check"; a check's remedy follows on an indented second line."""
    out = [("warning", f"Warning: {w}") for w in doc["warnings"]]
    for check in doc["checks"]:
        if check["status"] not in ("fail", "warn"):
            continue
        verb = "failed" if check["status"] == "fail" else "warning"
        text = f"Check {check['name']} {verb}: {check['message']}"
        if check["remedy"]:
            text += f"\n  Remedy: {check['remedy']}"
        out.append(("check" if check["status"] == "fail" else "warning", text))
    return out


def format_value(value: Any) -> str:
    """Strings quoted, sets as `[a, b]`, JSON literals for the rest."""
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def source_text(change: Mapping[str, Any]) -> str:
    source = change["source"]
    if source is None:
        return ""
    where = f"{source['file']}:{source['line']}"
    return f"({where}, {source['via']})" if source["via"] else f"({where})"


def field_text(change: Mapping[str, Any], fc: Mapping[str, Any]) -> str:
    """One field line: `field: "before" -> "after"`, or only the new value when there is no
    old one (a create), or only the old one on a delete without field changes."""
    if fc["sensitive"]:
        return f"{fc['field']}: {fc['after']}"
    if fc["before"] is None and change["action"] == "create":
        return f"{fc['field']}: {format_value(fc['after'])}"
    return f"{fc['field']}: {format_value(fc['before'])} -> {format_value(fc['after'])}"


def removed_fields(change: Mapping[str, Any]) -> list[str]:
    """What a plain delete removes, shown from `before` (a delete has no field changes)."""
    if change["action"] != "delete" or change["fields"] or not change["before"]:
        return []
    return [f"{name}: {format_value(value)}" for name, value in change["before"].items()]


def _change_lines(change: Mapping[str, Any], *, width: int, color: bool) -> list[str]:
    action = change["action"]
    symbol = SYMBOLS[action].rjust(3)
    head = f"{symbol} {change['address']}"
    source = source_text(change)
    if source:
        head = f"{head.ljust(width + 4)}{source}"
    lines = [_paint(head.rstrip(), _COLOURS[action], color=color)]
    lines.extend(_INDENT + field_text(change, fc) for fc in change["fields"])
    lines.extend(_INDENT + text for text in removed_fields(change))
    if change["reason"]:
        lines.append(_paint(f"{_INDENT}# {change['reason']}", "2", color=color))
    return lines


def _paint(text: str, code: str, *, color: bool) -> str:
    return f"\x1b[{code}m{text}{_RESET}" if color else text
