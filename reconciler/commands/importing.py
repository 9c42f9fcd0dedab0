"""`reconciler import`: write a desired-state directory describing an existing workspace.

Listing the workspace's repositories: the Bitbucket client has no "list repositories" call, so
the list comes from Drone's `GET /api/user/repos` (one unpaginated request), kept where
`namespace == --workspace`. That is every repository Drone has synced for the token's user,
active or not; a Bitbucket repository Drone never synced is not imported (sync it in Drone, or
declare it by hand). Then one `read_live` covers them all: hooks, explicit grants, Drone settings,
secrets, cron, users and organisation secrets. The pure part is `reconciler.importer`.
"""

from __future__ import annotations

import argparse
import fnmatch
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler import exitcodes
from reconciler.errors import ReconcilerError

if TYPE_CHECKING:
    from reconciler.providers.drone.client import DroneClient


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `import` flags (kept here, so cli.py only wires the subcommand)."""
    parser.add_argument("--repos", metavar="GLOB", help="only repository slugs matching GLOB")
    parser.add_argument("--out", default="desired-state", metavar="DIR")
    parser.add_argument("--force", action="store_true", help="overwrite existing files")
    parser.add_argument("--workspace", metavar="WS", help="the Bitbucket workspace slug")
    parser.add_argument(
        "--drone-server",
        metavar="URL",
        help="Drone's public address, whose hooks are Drone's own (default: DRONE_SERVER_PUBLIC)",
    )


def list_repositories(drone: DroneClient, workspace: str, pattern: str | None) -> list[str]:
    """Slugs Drone knows in `workspace` (exact namespace), matching the glob if given."""
    slugs = {
        str(row.get("name"))
        for row in drone.list_user_repos()
        if isinstance(row, Mapping) and row.get("namespace") == workspace and row.get("name")
    }
    return sorted(s for s in slugs if pattern is None or fnmatch.fnmatchcase(s, pattern))


def render_yaml(document: Mapping[str, Any]) -> str:
    import yaml

    from reconciler.importer import HEADER

    body = yaml.safe_dump(
        dict(document), sort_keys=True, default_flow_style=False, allow_unicode=True, width=100
    )
    return HEADER + body


def run_import(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from reconciler.importer import CHECKLIST, build_import
    from reconciler.models.live import ReadScope
    from reconciler.pipeline import Clients
    from reconciler.providers.live import read_live

    workspace: str | None = args.workspace or env.get("BITBUCKET_WORKSPACE")
    if not workspace:
        raise ReconcilerError("import needs --workspace WS (the Bitbucket workspace slug)")
    server: str | None = args.drone_server or env.get("DRONE_SERVER_PUBLIC")
    if not server:
        raise ReconcilerError(
            "import needs --drone-server URL (Drone's public address), or DRONE_SERVER_PUBLIC"
        )
    out = Path(args.out)
    clients = Clients.from_env(env)
    try:
        slugs = list_repositories(clients.drone, workspace, args.repos)
        if not slugs:
            raise ReconcilerError(
                f"no repositories of {workspace} matched"
                + (f" {args.repos!r}" if args.repos else "")
                + " in Drone's repository list (GET /api/user/repos)"
            )
        scope = ReadScope(
            workspace=workspace,
            repositories=tuple(slugs),
            drone_server=server,
            permission_repos=tuple(slugs),
            drone_repos=tuple(slugs),
            read_users=True,
            read_org_secrets=True,
        )
        live = read_live(scope=scope, bitbucket=clients.bitbucket, drone=clients.drone)
    finally:
        clients.close()
    result = build_import(live, workspace=workspace, drone_server=server, slugs=slugs)
    files = {path: render_yaml(doc) for path, doc in result.documents.items()}
    files[CHECKLIST] = result.checklist
    existing = sorted(path for path in files if (out / path).exists())
    if existing and not args.force:
        raise ReconcilerError(
            f"{out / existing[0]} exists"
            + (f" (and {len(existing) - 1} more)" if len(existing) > 1 else "")
            + ": refusing to overwrite without --force; nothing written"
        )
    for path, text in sorted(files.items()):
        target = out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(
        f"Imported {len(slugs)} repositories of {workspace} into {out} "
        f"({len(result.secrets)} secret variables to set: see {out / CHECKLIST})"
    )
    return exitcodes.OK
