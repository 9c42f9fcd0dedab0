"""Command line: argument parsing and wiring only. Every expected failure is a ReconcilerError,
turned into one line on stderr and an exit code from the single table below."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

from reconciler import __version__, exitcodes
from reconciler.errors import ConfigError, ReconcilerError

DEFAULT_DIR = "desired-state"

Handler = Callable[[argparse.Namespace], int]


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(exc.summary, file=sys.stderr)
        return exitcodes.ERROR
    except ReconcilerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return exitcodes.INTERRUPTED


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reconciler",
        description="Declarative GitOps reconciler for Drone CI on Bitbucket Cloud.",
    )
    parser.add_argument("--version", action="version", version=f"reconciler {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    validate = commands.add_parser("validate", help="check desired state offline")
    validate.add_argument("dir", nargs="?", default=DEFAULT_DIR, metavar="DIR")
    validate.set_defaults(handler=cmd_validate)

    schema = commands.add_parser("schema", help="print the JSON Schema of desired state")
    schema.set_defaults(handler=cmd_schema)

    plan = commands.add_parser("plan", help="read live state and show the changes apply would make")
    plan.add_argument("dir", nargs="?", default=DEFAULT_DIR, metavar="DIR")
    plan.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    plan.add_argument("--out", metavar="FILE", help="also write the JSON plan for apply --plan")
    plan.add_argument("--target", action="append", default=[], metavar="ADDR")
    plan.add_argument(
        "--detailed-exitcode", action="store_true", help="exit 2 when there are changes"
    )
    plan.set_defaults(handler=cmd_plan)

    apply = commands.add_parser("apply", help="apply the changes (only those a plan shows)")
    apply.add_argument("dir", nargs="?", default=DEFAULT_DIR, metavar="DIR")
    apply.add_argument("--plan", metavar="FILE", help="refuse unless live state still matches")
    apply.add_argument("--auto-approve", action="store_true")
    apply.add_argument("--allow-deletions", type=int, default=None, metavar="N")
    apply.add_argument("--target", action="append", default=[], metavar="ADDR")
    apply.add_argument(
        "--allow-protected",
        action="append",
        default=[],
        metavar="ADDR",
        help="let this plan remove a protected resource (the Drone owner's admin grant or user)",
    )
    apply.set_defaults(handler=cmd_apply)

    comment = commands.add_parser(
        "comment", help="post or update the plan comment + build status on a config-repo PR"
    )
    comment.add_argument("dir", nargs="?", default=DEFAULT_DIR, metavar="DIR")
    comment.add_argument("--pr", type=int, required=True, metavar="N")
    comment.add_argument("--plan", metavar="FILE", help="post this JSON plan instead of planning")
    comment.add_argument(
        "--repo", metavar="WORKSPACE/SLUG", help="config repo (default: RECONCILER_CONFIG_REPO)"
    )
    comment.set_defaults(handler=cmd_comment)

    serve = commands.add_parser("serve", help="the GitOps loop: PR plans, apply on merge, drift")
    serve.add_argument("--config-repo", metavar="URL", help="git clone URL of the config repo")
    serve.add_argument("--repo", metavar="WORKSPACE/SLUG", help="the config repo on Bitbucket")
    serve.add_argument("--branch", default="main")
    serve.add_argument("--interval", type=float, default=300.0, metavar="SECONDS")
    serve.add_argument("--listen", default="127.0.0.1:8080", metavar="HOST:PORT")
    serve.add_argument("--dir", default=DEFAULT_DIR, metavar="DIR", help="inside the config repo")
    serve.set_defaults(handler=cmd_serve)

    doctor = commands.add_parser("doctor", help="credential preflight and integration checks")
    doctor.add_argument("dir", nargs="?", default=DEFAULT_DIR, metavar="DIR")
    doctor.set_defaults(handler=cmd_doctor)

    demo = commands.add_parser("demo", help="sandbox + plan + apply + drift + heal, narrated")
    demo.set_defaults(handler=cmd_demo)

    from reconciler.commands.importing import add_arguments as import_arguments

    importing = commands.add_parser("import", help="write desired state from live state")
    import_arguments(importing)
    importing.set_defaults(handler=cmd_import)

    sandbox = commands.add_parser("sandbox", help="serve a local Bitbucket + Drone API sandbox")
    sandbox.add_argument("--listen", default="127.0.0.1:8765", metavar="HOST:PORT")
    sandbox.add_argument("--seed", default=None, metavar="FILE")
    sandbox.set_defaults(handler=cmd_sandbox)
    return parser


def cmd_validate(args: argparse.Namespace) -> int:
    from reconciler.loader import load_desired

    directory = Path(args.dir)
    state = load_desired(directory)
    counts = Counter(address.kind.value for address in state.resources)
    summary = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))
    print(f"{directory}: valid ({len(state.repositories)} repositories; {summary})")
    return exitcodes.OK


def cmd_schema(args: argparse.Namespace) -> int:
    from reconciler.models.desired import editor_schema

    print(json.dumps(editor_schema(), indent=2, sort_keys=True))
    return exitcodes.OK


def cmd_plan(args: argparse.Namespace) -> int:
    from reconciler.commands.plan import run_plan

    return run_plan(args, environ())


def cmd_apply(args: argparse.Namespace) -> int:
    from reconciler.commands.plan import run_apply

    return run_apply(args, environ())


def cmd_comment(args: argparse.Namespace) -> int:
    from reconciler.commands.comment import run_comment

    return run_comment(args, environ())


def cmd_serve(args: argparse.Namespace) -> int:
    from reconciler.serve import run_serve

    return run_serve(args, environ())


def cmd_doctor(args: argparse.Namespace) -> int:
    from reconciler.commands.doctor import run_doctor

    return run_doctor(args, environ())


def cmd_demo(args: argparse.Namespace) -> int:
    from reconciler.commands.demo import run_demo

    return run_demo()


def cmd_import(args: argparse.Namespace) -> int:
    from reconciler.commands.importing import run_import

    return run_import(args, environ())


def cmd_sandbox(args: argparse.Namespace) -> int:
    from reconciler.sandbox import serve_forever

    host, port = _listen(args.listen)
    serve_forever(host, port, args.seed)
    return exitcodes.OK


def _listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise ReconcilerError(f"--listen {text!r}: expected HOST:PORT, e.g. 127.0.0.1:8765")
    return host.strip("[]") or "127.0.0.1", int(port)


def environ() -> dict[str, str]:
    return dict(os.environ)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
