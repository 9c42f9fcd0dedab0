"""Drone cron jobs (drone/API.md 3.4): normalised names, robfig expressions, create ignores
``target``/``disabled``, PATCH takes only branch/target/disabled (decode errors ignored),
duplicates are a 500, ``POST …/cron/{name}`` runs the job."""

from __future__ import annotations

from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Response

from . import dronecore as core
from .cron import CronError, next_run, slugify
from .dronecore import GoDecodeError, error, go_decode, reply
from .dronehook import new_build
from .web import BadJson, Ctx, read_json

_CREATE = {"name": "string", "expr": "string", "branch": "string"}
_PATCH = {"branch": "string", "target": "string", "disabled": "bool"}


def _validate(job: dict[str, Any]) -> Response | None:
    try:
        next_run(job["expr"])
    except CronError:
        return error(400, "Invalid Cronjob Expression")
    if not job["name"]:
        return error(400, "Invalid Cronjob Name")
    if not job["branch"]:
        return error(400, "Invalid Cronjob Branch")
    return None


def _jobs(ctx: Ctx, row: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in ctx.state.drone["cron"] if c["repo_id"] == row["id"]]


def crons(ctx: Ctx, args: dict[str, str]) -> Response:
    got = core.repo_access(ctx, args, "write")
    if isinstance(got, Response):
        return got
    row = got[1]
    if ctx.request.method == "GET":
        return reply([core.cron_json(c) for c in sorted(_jobs(ctx, row), key=lambda c: c["name"])])
    try:
        body = go_decode(read_json(ctx.request), _CREATE, "cron.cronInput")
    except (BadJson, GoDecodeError) as exc:
        return error(400, str(exc))
    job = {
        "id": 0,
        "repo_id": row["id"],
        "name": slugify(body.get("name", "")),
        "expr": body.get("expr", ""),
        "next": 0,
        "prev": 0,
        "event": "push",
        "branch": body.get("branch", ""),
        "target": "",
        "disabled": False,
        "created": 0,
        "updated": 0,
        "version": 0,
    }
    bad = _validate(job)
    if bad:
        return bad
    if any(c["name"] == job["name"] for c in _jobs(ctx, row)):
        return error(500, "UNIQUE constraint failed: cron.cron_repo_id, cron.cron_name")
    job["next"] = next_run(job["expr"])
    job["id"] = ctx.state.next_id(ctx.state.drone["cron"])
    ctx.state.drone["cron"].append(job)
    return reply(core.cron_json(job))


def _run(ctx: Ctx, row: dict[str, Any], job: dict[str, Any]) -> Response:
    found = ctx.state.bb_repo_for(row)
    head = found[1]["branches"].get(job["branch"]) if found else None
    if head is None:
        return error(500, "Not Found")
    build = new_build(
        ctx.state,
        row,
        trigger="@cron",
        event="cron",
        cron=job["name"],
        after=head,
        ref=f"refs/heads/{job['branch']}",
        source=job["branch"],
        target=job["branch"],
        message=f"cron: {job['name']}",
    )
    return reply(build)


def cron(ctx: Ctx, args: dict[str, str]) -> Response:
    got = core.repo_access(ctx, args, "write")
    if isinstance(got, Response):
        return got
    row = got[1]
    job = next((c for c in _jobs(ctx, row) if c["name"] == args["cron"]), None)
    if job is None:
        return error(404, core.NO_ROWS)
    method = ctx.request.method
    if method == "DELETE":
        ctx.state.drone["cron"].remove(job)
        return Response(b"", status=204)
    if method == "POST":
        return _run(ctx, row, job)
    if method == "PATCH":
        try:
            changes = go_decode(read_json(ctx.request), _PATCH, "cron.cronInput", lenient=True)
        except (BadJson, GoDecodeError):
            changes = {}
        merged = {**job, **changes}
        bad = _validate(merged)
        if bad:
            return bad
        job.update(changes)
    return reply(core.cron_json(job))


def rules() -> list[Rule]:
    base = "/drone/api/repos/<owner>/<name>/cron"
    return [
        Rule(base, endpoint=crons, methods=["GET", "POST"]),
        Rule(f"{base}/<cron>", endpoint=cron, methods=["GET", "PATCH", "POST", "DELETE"]),
    ]
