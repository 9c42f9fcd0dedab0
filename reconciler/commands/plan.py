"""`reconciler plan` and `reconciler apply`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from pathlib import Path

from reconciler import exitcodes
from reconciler.apply import ApplyReport, ChangeResult, Outcome, apply_changes
from reconciler.commands.common import load, open_store, plan_now, render
from reconciler.errors import ApplyFailed, PolicyRefusal, ReconcilerError, StalePlanError
from reconciler.pipeline import Clients, Planned
from reconciler.plan import Plan, plan_hash
from reconciler.policy import PolicyVerdict, check_policy
from reconciler.render.json import loads, plan_document
from reconciler.secrets import SecretResolver
from reconciler.store import Store
from reconciler.terminal import confirm


def run_plan(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    directory = Path(args.dir)
    desired = load(directory)
    with open_store(env) as store:
        planned = plan_now(
            desired, directory=directory, env=env, store=store, targets=tuple(args.target)
        )
    doc = plan_document(planned.plan)
    if args.out:
        Path(args.out).write_text(render(doc, "json"), encoding="utf-8")
    print(render(doc, args.format), end="" if args.format == "json" else "\n")
    verdict = policy_verdict(planned, allow_deletions=None)
    if not verdict.allowed:
        print("Policy: apply would refuse this plan:", file=sys.stderr)
        for reason in verdict.reasons:
            print(f"  {reason}", file=sys.stderr)
    if args.detailed_exitcode and not planned.plan.empty:
        return exitcodes.CHANGES
    return exitcodes.OK


def policy_verdict(
    planned: Planned,
    *,
    allow_deletions: int | None,
    allow_protected: tuple[str, ...] = (),
) -> PolicyVerdict:
    return check_policy(
        planned.plan,
        planned.desired.policy,
        allow_deletions=allow_deletions,
        protected=planned.protected,
        allow_protected=frozenset(a for a in planned.protected if str(a) in allow_protected),
    )


def run_apply(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    directory = Path(args.dir)
    desired = load(directory)
    saved = _load_plan_file(Path(args.plan)) if args.plan else None
    with open_store(env) as store, store.writer_lock():
        planned = plan_now(
            desired, directory=directory, env=env, store=store, targets=tuple(args.target)
        )
        doc = plan_document(planned.plan)
        if saved is not None:
            _refuse_stale(saved, doc)
        verdict = policy_verdict(
            planned,
            allow_deletions=args.allow_deletions,
            allow_protected=tuple(args.allow_protected),
        )
        if not verdict.allowed:
            raise PolicyRefusal("apply refused by policy:\n  " + "\n  ".join(verdict.reasons))
        if planned.plan.empty:
            print(render(doc, "text"))
            return exitcodes.OK
        if saved is None:
            print(render(doc, "text"))
        if not args.auto_approve and not _approved(planned.plan):
            raise ReconcilerError("apply cancelled: nothing was changed")
        report = execute(
            planned, store=store, env=env, directory=directory, doc_hash=plan_hash(doc)
        )
    print(report.summary())
    if not report.ok:
        raise ApplyFailed(_failure_text(report))
    return exitcodes.OK


def execute(
    planned: Planned,
    *,
    store: Store,
    env: Mapping[str, str],
    directory: Path,
    doc_hash: str,
    verbose: bool = True,
    clients: Clients | None = None,
) -> ApplyReport:
    """Run a plan's changes against both APIs and record the run in the store's audit log.
    A long-lived caller (serve) passes its own `clients`, so writes count in its metrics;
    otherwise clients are made from `env` for this run and closed after it."""
    from reconciler.apply import executor

    owned = clients is None
    clients = clients or Clients.from_env(env)
    run_id = store.start_run(revision=planned.desired.revision, plan_hash=doc_hash)
    try:
        report = apply_changes(
            planned.plan,
            desired=planned.desired.resources,
            execute=executor(clients.bitbucket, clients.drone),
            resolver=SecretResolver(env, base_dir=directory),
            fingerprint=store.fingerprint,
            store=store,
            run_id=run_id,
            on_result=_print_result if verbose else None,
        )
    finally:
        if owned:
            clients.close()
    store.finish_run(run_id, status="ok" if report.ok else "failed")
    return report


def _print_result(result: ChangeResult) -> None:
    mark = {
        Outcome.APPLIED: "✓",
        Outcome.FAILED: "✗",
        Outcome.NOT_ATTEMPTED: "·",
        Outcome.MANUAL: "!",
    }[result.outcome]
    tail = f": {result.message}" if result.message and result.outcome is Outcome.FAILED else ""
    print(f"  {mark} {result.action.value} {result.address} ({result.outcome.value}){tail}")


def _failure_text(report: ApplyReport) -> str:
    failed = [r for r in report.results if r.outcome is Outcome.FAILED]
    skipped = report.count(Outcome.NOT_ATTEMPTED)
    first = failed[0] if failed else None
    where = f"{first.action.value} {first.address} failed: {first.message}" if first else "failed"
    return (
        f"{where}; {report.count(Outcome.APPLIED)} change(s) were applied and {skipped} "
        "were not attempted. Fix the cause and run apply again: it converges."
    )


def _load_plan_file(path: Path) -> dict[str, object]:
    try:
        return loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReconcilerError(f"--plan {path}: cannot read a plan: {exc}") from None


def _refuse_stale(saved: Mapping[str, object], fresh: Mapping[str, object]) -> None:
    """The saved plan is applied only if planning again now gives exactly the same plan."""
    if saved.get("live_fingerprint") != fresh.get("live_fingerprint"):
        raise StalePlanError(
            "live state changed since the plan was made; run plan again and review it"
        )
    if _comparable(saved) != _comparable(fresh):
        raise StalePlanError(
            "desired state or the store changed since the plan was made (the same live state "
            "now gives a different plan); run plan again and review it"
        )


def _comparable(doc: Mapping[str, object]) -> str:
    """A plan's identity without its timing data (API call counts vary with retries)."""
    return plan_hash({key: value for key, value in doc.items() if key != "api_calls"})


def _approved(plan: Plan) -> bool:
    if not sys.stdin.isatty():
        raise ReconcilerError(
            "apply needs --auto-approve when not run on a terminal (nothing was changed)"
        )
    return confirm(f"Apply these {len(plan.changes)} changes?")
