"""Request context and response helpers shared by the Bitbucket, Drone and control routes."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from werkzeug.wrappers import Request, Response

from .faults import Faults
from .state import SandboxState


@dataclass
class Ctx:
    """One request: the live state, the public root URL and what auth established."""

    request: Request
    state: SandboxState
    root: str
    faults: Faults | None = None
    caller: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def bb_api(self) -> str:
        return self.root + "/bitbucket/2.0"


Handler = Callable[[Ctx, dict[str, str]], Response]


class BadJson(ValueError):
    """The body is not the JSON value the endpoint expects."""


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None, *, newline: bool = False
) -> Response:
    text = json.dumps(data, separators=(",", ":"))
    if newline:
        text += "\n"
    return Response(text, status=status, headers=headers, content_type="application/json")


def empty(status: int = 204, headers: dict[str, str] | None = None) -> Response:
    return Response(b"", status=status, headers=headers)


def read_json(request: Request) -> Any:
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise BadJson("EOF")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        first = raw.strip()[:1].decode("latin-1")
        raise BadJson(f"invalid character '{first}' looking for beginning of value") from exc


# -- Bitbucket envelope: errors, pagination, fields= -------------------------------------------


def bb_error(
    status: int,
    message: str,
    *,
    fields: dict[str, list[str]] | None = None,
    detail: Any = None,
    headers: dict[str, str] | None = None,
) -> Response:
    err: dict[str, Any] = {"message": message}
    if detail is not None:
        err["detail"] = detail
    if fields:
        err["fields"] = fields
    return json_response({"type": "error", "error": err}, status, headers)


def _project(obj: Any, paths: list[list[str]]) -> Any:
    if isinstance(obj, list):
        return [_project(item, paths) for item in obj]
    if not isinstance(obj, dict):
        return obj
    out: dict[str, Any] = {}
    for key, value in obj.items():
        rest = [p[1:] for p in paths if p and p[0] in (key, "*")]
        if not rest:
            continue
        if any(not r for r in rest):
            out[key] = value
        else:
            out[key] = _project(value, rest)
    return out


def _remove(obj: Any, path: list[str]) -> None:
    if isinstance(obj, list):
        for item in obj:
            _remove(item, path)
        return
    if not isinstance(obj, dict) or not path:
        return
    keys = list(obj) if path[0] == "*" else [path[0]]
    for key in keys:
        if key not in obj:
            continue
        if len(path) == 1:
            del obj[key]
        else:
            _remove(obj[key], path[1:])


def apply_fields(obj: Any, spec: str) -> Any:
    """Bitbucket partial responses: bare paths select, ``-path`` removes, ``+path`` is a no-op
    (every field is already returned), ``*`` matches one level. Paths go through lists."""
    parts = [p.strip() for p in spec.split(",") if p.strip()]
    includes = [p.split(".") for p in parts if not p.startswith(("-", "+"))]
    excludes = [p[1:].split(".") for p in parts if p.startswith("-")]
    result = _project(obj, includes) if includes else json.loads(json.dumps(obj))
    for path in excludes:
        _remove(result, path)
    return result


def bb_json(
    ctx: Ctx, data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    spec = ctx.request.args.get("fields")
    if spec:
        data = apply_fields(data, spec)
    merged = dict(ctx.headers)
    merged.update(headers or {})
    return json_response(data, status, merged)


def _page_url(ctx: Ctx, page: int) -> str:
    pairs = [(k, v) for k, v in ctx.request.args.items(multi=True) if k != "page"]
    pairs.append(("page", str(page)))
    return ctx.request.base_url + "?" + urlencode(pairs)


def bb_page(
    ctx: Ctx, items: list[Any], *, default_pagelen: int = 10, max_pagelen: int = 100
) -> Response:
    """The paginated envelope: values, page, pagelen (clamped to max), size, next, previous."""
    args = ctx.request.args
    try:
        pagelen = int(args.get("pagelen", default_pagelen))
        page = int(args.get("page", 1))
    except ValueError:
        return bb_error(400, "Invalid pagination parameters", headers=ctx.headers)
    pagelen = max(1, min(pagelen, max_pagelen))
    if page < 1:
        return bb_error(400, "Invalid page", headers=ctx.headers)
    start = (page - 1) * pagelen
    if page > 1 and start >= len(items):
        return bb_error(404, "Invalid page", headers=ctx.headers)
    body: dict[str, Any] = {
        "pagelen": pagelen,
        "size": len(items),
        "values": items[start : start + pagelen],
        "page": page,
    }
    if start + pagelen < len(items):
        body["next"] = _page_url(ctx, page + 1)
    if page > 1:
        body["previous"] = _page_url(ctx, page - 1)
    return bb_json(ctx, body)
