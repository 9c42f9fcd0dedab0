"""The canonical plan document (`format_version` 1): built once, masked, then rendered as text or
Markdown, written to `--out`, or loaded back by `apply --plan FILE`.

Layout::

    {format_version, revision, live_fingerprint,
     summary: {create, update, delete, replace, repair, manual},
     changes: [{address, kind, action, fields: [{field, before, after, sensitive}],
                before, after, handle, sensitive, reason, source: {file, line, via} | null}],
     checks: [{name, status, addresses, message, remedy}],
     warnings: [str], api_calls: {service: int}}

The document is masked (render.mask), so one loaded back is good for showing and for comparing
with a fresh plan (same plan_hash), but its masked strings are not values to send.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from reconciler.models.address import Address
from reconciler.models.resources import Source, Value
from reconciler.plan import Action, Change, CheckResult, CheckStatus, FieldChange, Plan
from reconciler.render.mask import SENSITIVE, mask_tree, sensitive_marker

FORMAT_VERSION = 1
SUMMARY_ORDER = tuple(a.value for a in Action)


def plan_document(plan: Plan) -> dict[str, Any]:
    """The masked, deterministic document: equal plans give equal documents."""
    doc = {
        "format_version": FORMAT_VERSION,
        "revision": plan.revision,
        "live_fingerprint": plan.live_fingerprint,
        "summary": summary(plan.changes),
        "changes": [_change(c) for c in plan.changes],
        "checks": [_check(c) for c in plan.checks],
        "warnings": list(plan.warnings),
        "api_calls": dict(sorted(plan.api_calls.items())),
    }
    masked: dict[str, Any] = mask_tree(doc)
    return masked


def summary(changes: tuple[Change, ...]) -> dict[str, int]:
    counts = dict.fromkeys(SUMMARY_ORDER, 0)
    for change in changes:
        counts[change.action.value] += 1
    return counts


def dumps(doc: Mapping[str, Any]) -> str:
    """Canonical text: sorted keys, 2-space indent, trailing newline (byte-identical output for
    equal documents)."""
    return json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def loads(text: str) -> dict[str, Any]:
    doc = json.loads(text)
    if not isinstance(doc, dict):
        raise ValueError("not a plan document: the top level is not a JSON object")
    return doc


def plan_from_document(doc: Mapping[str, Any]) -> Plan:
    """Read a document back into a Plan (masked values stay masked). Raises ValueError on a
    document of another format version or of the wrong shape."""
    version = doc.get("format_version")
    if version != FORMAT_VERSION:
        raise ValueError(
            f"plan document has format_version {version!r}; this reconciler reads "
            f"format_version {FORMAT_VERSION}. Re-run `reconciler plan` with this version."
        )
    try:
        return Plan(
            changes=tuple(_load_change(c) for c in doc["changes"]),
            checks=tuple(_load_check(c) for c in doc["checks"]),
            warnings=tuple(str(w) for w in doc["warnings"]),
            revision=doc.get("revision"),
            live_fingerprint=str(doc["live_fingerprint"]),
            api_calls={str(k): int(v) for k, v in doc.get("api_calls", {}).items()},
        )
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise ValueError(f"not a valid plan document: {type(exc).__name__}: {exc}") from None


# --- building -------------------------------------------------------------------------------


def _change(change: Change) -> dict[str, Any]:
    source = change.source
    return {
        "address": str(change.address),
        "kind": change.address.kind.value,
        "action": change.action.value,
        "fields": [_field(f, change.action) for f in change.fields],
        "before": _values(change.before, change.sensitive),
        "after": _values(change.after, change.sensitive),
        "handle": dict(sorted(change.handle.items())),
        "sensitive": list(change.sensitive),
        "reason": change.reason,
        "source": None
        if source is None
        else {"file": source.file, "line": source.line, "via": source.via},
    }


def _field(fc: FieldChange, action: Action) -> dict[str, Any]:
    if fc.sensitive:
        marker = sensitive_marker(changed=action is Action.UPDATE)
        return {"field": fc.field, "before": None, "after": marker, "sensitive": True}
    return {
        "field": fc.field,
        "before": _json(fc.before),
        "after": _json(fc.after),
        "sensitive": False,
    }


def _values(values: Mapping[str, Value] | None, sensitive: tuple[str, ...]) -> Any:
    if values is None:
        return None
    return {k: SENSITIVE if k in sensitive else _json(v) for k, v in sorted(values.items())}


def _json(value: Value) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _check(check: CheckResult) -> dict[str, Any]:
    return {
        "name": check.name,
        "status": check.status.value,
        "addresses": [str(a) for a in check.addresses],
        "message": check.message,
        "remedy": check.remedy,
    }


# --- loading --------------------------------------------------------------------------------


def _load_change(raw: Mapping[str, Any]) -> Change:
    source = raw.get("source")
    return Change(
        address=Address.parse(raw["address"]),
        action=Action(raw["action"]),
        fields=tuple(_load_field(f) for f in raw["fields"]),
        before=_load_values(raw.get("before")),
        after=_load_values(raw.get("after")),
        handle=dict(raw.get("handle") or {}),
        sensitive=tuple(str(s) for s in raw.get("sensitive", ())),
        reason=str(raw.get("reason", "")),
        source=None
        if source is None
        else Source(file=str(source["file"]), line=int(source["line"]), via=source.get("via")),
    )


def _load_field(raw: Mapping[str, Any]) -> FieldChange:
    if raw.get("sensitive"):
        return FieldChange(field=str(raw["field"]), before=None, after=None, sensitive=True)
    return FieldChange(
        field=str(raw["field"]), before=_load_value(raw["before"]), after=_load_value(raw["after"])
    )


def _load_values(raw: Mapping[str, Any] | None) -> dict[str, Value] | None:
    if raw is None:
        return None
    return {str(k): _load_value(v) for k, v in raw.items()}


def _load_value(raw: Any) -> Value:
    if isinstance(raw, list):
        return tuple(str(v) for v in raw)
    if raw is None or isinstance(raw, str | int | bool):
        return raw
    raise ValueError(f"unexpected value {raw!r}")


def _load_check(raw: Mapping[str, Any]) -> CheckResult:
    return CheckResult(
        name=str(raw["name"]),
        status=CheckStatus(raw["status"]),
        addresses=tuple(Address.parse(a) for a in raw["addresses"]),
        message=str(raw["message"]),
        remedy=str(raw.get("remedy", "")),
    )
