"""Markdown view of a plan document for pull-request comments. Reads only the masked document.

A one-line summary, then a ```diff block per resource (the first column drives the highlighting:
`+` added, `-` removed, `!` changed). Comments have a size limit, so a long plan is split into
numbered parts at resource boundaries; every part repeats the header and summary, and no part is
longer than `limit` characters.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.render.text import (
    attention_lines,
    field_text,
    format_value,
    removed_fields,
    source_text,
    summary_line,
)

_MARKERS = {
    "create": "+",
    "delete": "-",
    "replace": "-",
    "update": "!",
    "repair": "!",
    "manual": "!",
}
_FENCE = "```"
_INDENT = " " * 5
_LABEL_RESERVE = len("**Part 99999 of 99999**\n\n")


def render_markdown(doc: Mapping[str, Any], *, limit: int = 32000, header: str = "") -> list[str]:
    """The comment bodies, one per part, each at most `limit` characters."""
    summary = _summary(doc)
    units = [_block(change) for change in doc["changes"]]
    attention = _attention(doc)
    if attention:
        units.append(attention)
    budget = limit - len(_prefix(header, summary, "")) - _LABEL_RESERVE
    if budget < 200:
        raise ValueError(f"a Markdown limit of {limit} characters leaves no room for the plan")
    parts = _pack([_fit(unit, budget) for unit in units], budget)
    total = len(parts)
    return [
        (_prefix(header, summary, f"**Part {i} of {total}**" if total > 1 else "") + body).rstrip()
        + "\n"
        for i, body in enumerate(parts, start=1)
    ]


def _summary(doc: Mapping[str, Any]) -> str:
    line = summary_line(doc)
    if line.startswith("Plan: "):
        line = "**Plan:** " + line.removeprefix("Plan: ")
    revision = doc.get("revision")
    return f"{line} (revision `{revision}`)" if revision else line


def _prefix(header: str, summary: str, label: str) -> str:
    pieces = [p for p in (header.rstrip(), label, summary) if p]
    return "\n\n".join(pieces) + "\n\n"


def _block(change: Mapping[str, Any]) -> str:
    action = change["action"]
    marker = _MARKERS[action]
    head = f"{marker} {action} {change['address']}"
    source = source_text(change)
    lines = [f"{head}  {source}" if source else head]
    for fc in change["fields"]:
        lines.extend(_field_lines(change, fc))
    lines.extend(f"-{_INDENT}{text}" for text in removed_fields(change))
    if change["reason"]:
        lines.append(f" {_INDENT}# {change['reason']}")
    body = "\n".join(_unfence(line) for line in lines)
    return f"{_FENCE}diff\n{body}\n{_FENCE}"


def _field_lines(change: Mapping[str, Any], fc: Mapping[str, Any]) -> list[str]:
    """An update shows the old value as a removed line and the new one as an added line."""
    simple = fc["sensitive"] or (fc["before"] is None and change["action"] == "create")
    if simple:
        marker = "+" if change["action"] == "create" else "!"
        return [f"{marker}{_INDENT}{field_text(change, fc)}"]
    name = fc["field"]
    return [
        f"-{_INDENT}{name}: {format_value(fc['before'])}",
        f"+{_INDENT}{name}: {format_value(fc['after'])}",
    ]


def _attention(doc: Mapping[str, Any]) -> str:
    lines = attention_lines(doc)
    return "\n".join(f"- {text}" for _, text in lines)


def _unfence(line: str) -> str:
    """A value holding ``` must not close the code block early."""
    return line.replace(_FENCE, "`\u200b``")


def _fit(unit: str, budget: int) -> str:
    """A single unit larger than a whole part is truncated, with a note, at a line boundary."""
    if len(unit) <= budget:
        return unit
    fenced = unit.startswith(_FENCE)
    closing = f"\n{_FENCE}" if fenced else ""
    note = "\n... truncated: this change is too large for a comment; run `reconciler plan`."
    room = budget - len(closing) - len(note)
    kept = unit[:room].rsplit("\n", 1)[0] if "\n" in unit[:room] else unit[:room]
    return kept + note + closing


def _pack(units: list[str], budget: int) -> list[str]:
    """Greedy packing in order: a part is closed when the next unit would not fit."""
    parts: list[str] = []
    current = ""
    for unit in units:
        candidate = f"{current}\n\n{unit}" if current else unit
        if len(candidate) > budget and current:
            parts.append(current)
            current = unit
        else:
            current = candidate
    parts.append(current)
    return parts
