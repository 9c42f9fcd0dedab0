"""`reconciler comment`: the plan as ONE pull-request comment, edited in place, plus a build status.

The config repository (the one whose pull requests change desired state) is `--repo
WORKSPACE/SLUG`, else `RECONCILER_CONFIG_REPO`. Serve uses the same functions for every PR it plans.

Our comments are recognised by a hidden first line, `<!-- reconciler:plan --><!-- part N -->`, and
by their author (the API caller): the ids kept in the store are only a hint, since a human may have
deleted a comment; listing is the truth. A plan longer than one comment goes out as numbered parts;
when it shrinks, the surplus parts are edited to say "(superseded)" (they keep their marker, so a
longer plan later reuses them instead of adding comments). A part whose text did not change is not
written again.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler import exitcodes
from reconciler.commands.common import load, open_store, plan_now
from reconciler.errors import ConfigError, PolicyRefusal, ReconcilerError
from reconciler.models.resources import PolicySettings
from reconciler.pipeline import Clients
from reconciler.policy import check_policy
from reconciler.providers.bitbucket.client import BitbucketClient
from reconciler.render.json import loads, plan_document, plan_from_document
from reconciler.render.markdown import render_markdown
from reconciler.render.text import summary_line
from reconciler.store import Store

PLAN_STATUS_KEY = "reconciler/plan"
APPLY_STATUS_KEY = "reconciler/apply"
COMMENT_LIMIT = 32_000
_MARKER_RESERVE = 64
_DESCRIPTION_LIMIT = 250
_MARKER = re.compile(r"^<!-- reconciler:(?P<kind>[a-z]+) --><!-- part (?P<part>\d+) -->")
_SLUG = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class RepoRef:
    workspace: str
    slug: str

    def __str__(self) -> str:
        return f"{self.workspace}/{self.slug}"

    @classmethod
    def parse(cls, text: str, *, where: str) -> RepoRef:
        if not _SLUG.match(text):
            raise ReconcilerError(f"{where}: expected WORKSPACE/SLUG, e.g. acme/config")
        workspace, slug = text.split("/")
        return cls(workspace, slug)


def config_repo(explicit: str | None, env: Mapping[str, str]) -> RepoRef:
    """`--repo`, else RECONCILER_CONFIG_REPO: explicit beats guessing from a git remote, which
    may be a mirror or a fork."""
    if explicit:
        return RepoRef.parse(explicit, where="--repo")
    value = env.get("RECONCILER_CONFIG_REPO", "").strip()
    if not value:
        raise ReconcilerError(
            "the config repository is not set: pass --repo WORKSPACE/SLUG or set "
            "RECONCILER_CONFIG_REPO"
        )
    return RepoRef.parse(value, where="RECONCILER_CONFIG_REPO")


@dataclass(frozen=True)
class Report:
    """What a pull request is told: comment bodies (Markdown, markers not yet added) and a build
    status (`ok` -> SUCCESSFUL, else FAILED) whose description is one line."""

    ok: bool
    description: str
    bodies: tuple[str, ...]


def plan_report(doc: Mapping[str, Any], *, refusals: Sequence[str] = (), title: str = "") -> Report:
    """A valid plan passes (changes or not) unless a check failed or policy would refuse it."""
    counts = _counts(doc)
    failed = [c["name"] for c in doc["checks"] if c["status"] == "fail"]
    header = title or "#### reconciler plan"
    if refusals:
        header += "\n\n**Apply would be refused by policy:**\n" + "\n".join(
            f"- {reason}" for reason in refusals
        )
        description = f"Refused by policy: {refusals[0]}"
    elif failed:
        description = f"Failed check{'s' if len(failed) > 1 else ''}: {', '.join(failed)}; {counts}"
    else:
        description = counts
    bodies = render_markdown(doc, limit=COMMENT_LIMIT - _MARKER_RESERVE, header=header)
    ok = not refusals and not failed
    return Report(ok=ok, description=one_line(description), bodies=tuple(bodies))


def failure_report(summary: str, details: Sequence[str], *, title: str = "") -> Report:
    """Desired state that does not load (or a plan that could not be made): the reasons, in a
    code block so that file:line paths stay readable."""
    header = title or "#### reconciler plan"
    listing = "\n".join(details)
    room = COMMENT_LIMIT - _MARKER_RESERVE - len(header) - len(summary) - 40
    if len(listing) > room:
        listing = listing[: room - 20].rsplit("\n", 1)[0] + "\n... (truncated)"
    fence = f"\n\n```\n{listing}\n```" if listing else ""
    body = f"{header}\n\n**{summary}**{fence}\n"
    return Report(ok=False, description=one_line(summary), bodies=(body,))


def _counts(doc: Mapping[str, Any]) -> str:
    """`2 to add, 1 to change, 0 to destroy` (or `No changes`) for a status description."""
    line = summary_line(doc)
    if not line.startswith("Plan: "):
        return "No changes"
    return line.removeprefix("Plan: ").rstrip(".")


def one_line(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _DESCRIPTION_LIMIT else flat[: _DESCRIPTION_LIMIT - 1] + "…"


# --- the pull request --------------------------------------------------------------------------


@dataclass(frozen=True)
class PullRequest:
    number: int
    commit: str  # the head commit, expanded to 40 characters
    branch: str
    destination: str
    url: str
    state: str
    from_fork: bool


def pull_request(bitbucket: BitbucketClient, repo: RepoRef, number: int) -> PullRequest:
    """PR objects carry 12-character hashes: statuses and checkouts need the full one."""
    body = bitbucket.get_pull_request(repo.workspace, repo.slug, number)
    source = body.get("source") or {}
    short = (source.get("commit") or {}).get("hash") or ""
    if not short:
        raise ReconcilerError(f"{repo} pull request #{number} has no head commit")
    commit = bitbucket.get_commit(repo.workspace, repo.slug, short)
    head_repo = (source.get("repository") or {}).get("full_name")
    return PullRequest(
        number=number,
        commit=str(commit["hash"]),
        branch=str((source.get("branch") or {}).get("name") or ""),
        destination=str(((body.get("destination") or {}).get("branch") or {}).get("name") or ""),
        url=str(((body.get("links") or {}).get("html") or {}).get("href") or ""),
        state=str(body.get("state") or ""),
        from_fork=bool(head_repo) and str(head_repo).lower() != str(repo).lower(),
    )


def my_uuid(bitbucket: BitbucketClient) -> str:
    """The API caller's account: only its own comments are ours to edit."""
    return str(bitbucket.get_user().body["uuid"])


# --- comments and statuses ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Found:
    id: int
    part: int
    raw: str


def marker(kind: str, part: int) -> str:
    return f"<!-- reconciler:{kind} --><!-- part {part} -->"


def upsert_comments(
    bitbucket: BitbucketClient,
    *,
    store: Store,
    repo: RepoRef,
    pr: int,
    bodies: Sequence[str],
    me: str,
    kind: str = "plan",
) -> tuple[int, ...]:
    """Post or edit our comment parts; returns the ids of the live parts, in order."""
    key = str(repo) if kind == "plan" else f"{repo}#{kind}"
    chosen, surplus = _our_parts(
        bitbucket, repo, pr, me=me, kind=kind, preferred=store.comment_ids(key, pr)
    )
    ids: list[int] = []
    for part, body in enumerate(bodies, start=1):
        raw = f"{marker(kind, part)}\n{body}"
        hit = chosen.pop(part, None)
        if hit is None:
            created = bitbucket.create_pr_comment(repo.workspace, repo.slug, pr, raw=raw)
            ids.append(int(created["id"]))
            continue
        if hit.raw != raw:
            bitbucket.update_pr_comment(repo.workspace, repo.slug, pr, hit.id, raw=raw)
        ids.append(hit.id)
    for hit in [*chosen.values(), *surplus]:
        raw = f"{marker(kind, hit.part)}\n_(superseded: the current {kind} is above)_\n"
        if hit.raw != raw:
            bitbucket.update_pr_comment(repo.workspace, repo.slug, pr, hit.id, raw=raw)
    store.set_comment_ids(key, pr, ids)
    return tuple(ids)


def _our_parts(
    bitbucket: BitbucketClient,
    repo: RepoRef,
    pr: int,
    *,
    me: str,
    kind: str,
    preferred: tuple[int, ...],
) -> tuple[dict[int, _Found], list[_Found]]:
    """Our live parts by number; duplicates of a part (a crash between POST and store) go to
    the surplus list. The stored id wins a tie, else the oldest comment."""
    found: list[_Found] = []
    for comment in bitbucket.list_pr_comments(repo.workspace, repo.slug, pr):
        raw = str((comment.get("content") or {}).get("raw") or "")
        match = _MARKER.match(raw)
        author = (comment.get("user") or {}).get("uuid")
        if match and match["kind"] == kind and author == me and not comment.get("deleted"):
            found.append(_Found(id=int(comment["id"]), part=int(match["part"]), raw=raw))
    found.sort(key=lambda f: (f.id not in preferred, f.id))
    chosen: dict[int, _Found] = {}
    surplus: list[_Found] = []
    for hit in found:
        if hit.part in chosen:
            surplus.append(hit)
        else:
            chosen[hit.part] = hit
    return chosen, surplus


def set_status(
    bitbucket: BitbucketClient,
    *,
    repo: RepoRef,
    commit: str,
    key: str,
    report: Report,
    url: str,
    refname: str | None,
) -> None:
    """An upsert keyed by `key`: the newest verdict on this commit replaces the previous one."""
    body: dict[str, Any] = {
        "key": key,
        "state": "SUCCESSFUL" if report.ok else "FAILED",
        "name": key,
        "description": report.description,
        "url": url or f"https://bitbucket.org/{repo}/commits/{commit}",
    }
    if refname:
        body["refname"] = refname
    bitbucket.create_build_status(repo.workspace, repo.slug, commit, body=body)


def publish(
    bitbucket: BitbucketClient, *, store: Store, repo: RepoRef, pr: PullRequest, report: Report
) -> tuple[int, ...]:
    """The plan comment, then the status: a reviewer who sees the status finds the comment."""
    ids = upsert_comments(
        bitbucket, store=store, repo=repo, pr=pr.number, bodies=report.bodies, me=my_uuid(bitbucket)
    )
    set_status(
        bitbucket,
        repo=repo,
        commit=pr.commit,
        key=PLAN_STATUS_KEY,
        report=report,
        url=pr.url,
        refname=pr.branch or None,
    )
    return ids


# --- the command -------------------------------------------------------------------------------


def run_comment(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    repo = config_repo(args.repo, env)
    directory = Path(args.dir)
    with open_store(env) as store:
        clients = Clients.from_env(env)
        try:
            pr = pull_request(clients.bitbucket, repo, args.pr)
            report, failure = _report(args, env=env, store=store, directory=directory)
            ids = publish(clients.bitbucket, store=store, repo=repo, pr=pr, report=report)
        finally:
            clients.close()
    state = "SUCCESSFUL" if report.ok else "FAILED"
    parts = f"{len(ids)} parts" if len(ids) > 1 else "1 comment"
    print(
        f"{repo} PR #{pr.number}: plan posted ({parts}); {PLAN_STATUS_KEY} {state}: "
        f"{report.description}"
    )
    if failure is not None:
        raise failure
    return exitcodes.OK


def _report(
    args: argparse.Namespace, *, env: Mapping[str, str], store: Store, directory: Path
) -> tuple[Report, ReconcilerError | None]:
    """The report to post, and the error to exit with once it is posted (None when valid)."""
    try:
        if args.plan:
            doc = _plan_file(Path(args.plan))
            settings = load(directory).policy if directory.is_dir() else PolicySettings()
            verdict = check_policy(plan_from_document(doc), settings)
        else:
            desired = load(directory)
            planned = plan_now(desired, directory=directory, env=env, store=store)
            doc = plan_document(planned.plan)
            verdict = check_policy(planned.plan, desired.policy)
    except ConfigError as exc:
        return failure_report(f"Invalid desired state: {exc.summary}", exc.problems), exc
    report = plan_report(doc, refusals=verdict.reasons)
    if verdict.reasons:
        return report, PolicyRefusal(
            "apply would refuse this plan:\n  " + "\n  ".join(verdict.reasons)
        )
    if not report.ok:
        return report, ReconcilerError(f"the plan has failed checks ({report.description})")
    return report, None


def _plan_file(path: Path) -> dict[str, Any]:
    try:
        doc = loads(path.read_text(encoding="utf-8"))
        plan_from_document(doc)
    except (OSError, ValueError) as exc:
        raise ReconcilerError(f"--plan {path}: cannot read a plan: {exc}") from None
    return doc
