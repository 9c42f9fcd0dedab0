"""`reconciler demo`: the whole product in one process, against the embedded sandbox.

Plan the example workspace, apply it, show that a second plan is empty, then change things by
hand as an admin would and show the plan that heals the drift.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import reconciler
from reconciler import exitcodes
from reconciler.commands.common import load, open_store, plan_now, render
from reconciler.commands.plan import execute
from reconciler.errors import ReconcilerError
from reconciler.models.resources import DesiredState
from reconciler.pipeline import Clients, Planned
from reconciler.plan import plan_hash
from reconciler.render.json import plan_document
from reconciler.sandbox import EXAMPLE_SEED, Sandbox, load_seed
from reconciler.store import Store

# Values the example desired state references; the demo provides them as the environment would.
DEMO_SECRETS = {
    "DOCKER_USERNAME": "acme-ci",
    "DOCKER_PASSWORD": "demo-docker-password",
    "DRONE_BITBUCKET_CLIENT_ID": "drone-client-id-canary",
    "DRONE_BITBUCKET_CLIENT_SECRET": "drone-client-secret-canary",
    "NOTIFY_HOOK_SECRET": "demo-notify-hook-secret",
    "API_AWS_ACCESS_KEY": "demo-aws-access-key",
    "API_SENTRY_DSN": "demo-sentry-dsn",
    "WEB_NPM_TOKEN": "demo-npm-token",
    "BILLING_STRIPE_KEY": "demo-stripe-key",
    "MOBILE_SIGNING_KEY": "demo-signing-key",
    "DATA_WAREHOUSE_PASSWORD": "demo-warehouse-password",
}


def example_directory() -> Path:
    """`desired-state/` here, else the example beside the installed (editable) package."""
    local = Path("desired-state")
    if local.is_dir():
        return local
    beside = Path(reconciler.__file__).resolve().parent.parent / "desired-state"
    if beside.is_dir():
        return beside
    raise ReconcilerError("demo: run it from a clone of the repository (desired-state/ not found)")


def say(text: str) -> None:
    print(f"\n\033[1m{text}\033[0m" if sys.stdout.isatty() else f"\n== {text}")


def run_demo() -> int:
    directory = example_directory()
    sandbox = Sandbox.start(seed=load_seed(EXAMPLE_SEED))
    try:
        with tempfile.TemporaryDirectory(prefix="reconciler-demo-") as tmp:
            env = {**sandbox.env(), **DEMO_SECRETS, "RECONCILER_STATE": f"{tmp}/state.db"}
            with open_store(env) as store:
                _scenario(directory=directory, env=env, store=store, sandbox=sandbox)
    finally:
        sandbox.stop()
    return exitcodes.OK


def _scenario(*, directory: Path, env: dict[str, str], store: Store, sandbox: Sandbox) -> None:
    desired = load(directory)
    say(f"A sandbox of Bitbucket Cloud and Drone is running at {sandbox.url}.")
    print(
        f"Desired state: {directory}/ ({len(desired.repositories)} repositories, "
        f"{len(desired.resources)} resources)."
    )

    say("1. Plan: what would change to make live state match desired state?")
    planned = _plan(desired, directory, env, store)

    say("2. Apply it, then plan again: nothing is left to do.")
    _apply(planned, directory, env, store)
    _plan(load(directory), directory, env, store)

    say("3. Drift: an admin changes things by hand.")
    for line in _drift(env, desired.workspace):
        print(f"  - {line}")
    say("   The next plan shows exactly what heals it:")
    planned = _plan(desired, directory, env, store)
    _apply(planned, directory, env, store)
    say("   And once more: live state matches desired state again.")
    _plan(desired, directory, env, store)

    say("4. The seam between the systems: someone deletes Drone's own hook on acme/web.")
    print("  Builds would silently stop. The drone-hook check sees it; the fix is Drone's repair,")
    print("  because only Drone knows the hook's secret.")
    _delete_drone_hook(env, desired.workspace, "web", desired.drone_server or "")
    planned = _plan(desired, directory, env, store)
    _apply(planned, directory, env, store)
    _plan(desired, directory, env, store)
    say("Done. Next: `reconciler plan` against your own workspace (see README).")


def _plan(desired: DesiredState, directory: Path, env: dict[str, str], store: Store) -> Planned:
    planned = plan_now(desired, directory=directory, env=env, store=store)
    print(render(plan_document(planned.plan), "text"))
    return planned


def _apply(planned: Planned, directory: Path, env: dict[str, str], store: Store) -> None:
    with store.writer_lock():
        report = execute(
            planned,
            store=store,
            env=env,
            directory=directory,
            doc_hash=plan_hash(plan_document(planned.plan)),
        )
    print(report.summary())
    if not report.ok:
        raise ReconcilerError("demo: apply failed against the sandbox")


def _delete_drone_hook(env: dict[str, str], workspace: str, slug: str, server: str) -> None:
    clients = Clients.from_env(env)
    try:
        for hook in clients.bitbucket.list_hooks(workspace, slug):
            if str(hook.get("url", "")).startswith(server.rstrip("/") + "/"):
                clients.bitbucket.delete_hook(workspace, slug, str(hook["uuid"]))
    finally:
        clients.close()


def _drift(env: dict[str, str], workspace: str) -> list[str]:
    """Manual changes through the APIs, as an admin would make them in the web UIs."""
    clients = Clients.from_env(env)
    try:
        bb, drone = clients.bitbucket, clients.drone
        bb.put_group_permission(workspace, "api", "developers", permission="admin")
        hooks = bb.list_hooks(workspace, "api")
        for hook in hooks:
            if hook.get("description") == "deploy-notify":
                bb.delete_hook(workspace, "api", str(hook["uuid"]))
        drone.patch_repo(workspace, "web", body={"ignore_forks": False, "timeout": 30})
        drone.delete_secret(workspace, "api", "aws_access_key")
    finally:
        clients.close()
    return [
        "Bitbucket: group developers raised to admin on acme/api",
        "Bitbucket: the deploy-notify webhook of acme/api deleted",
        "Drone: acme/web set to build forks, with a 30-minute timeout",
        "Drone: secret aws_access_key of acme/api deleted",
    ]
