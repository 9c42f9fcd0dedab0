"""`reconciler doctor`: credential preflight and every integration check; plans nothing.

One line per check. Exit 0 when no check fails (warnings and skips are shown, since some can
only be verified by a human, e.g. an OAuth callback URL), 1 otherwise.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path

from reconciler import exitcodes
from reconciler.commands.common import load, open_store, plan_now
from reconciler.pipeline import Clients
from reconciler.plan import CheckStatus
from reconciler.providers.bitbucket.read import BitbucketUser
from reconciler.providers.preflight import check_bitbucket, check_drone, missing_scopes

_MARK = {
    CheckStatus.PASS: "ok  ",
    CheckStatus.WARN: "warn",
    CheckStatus.FAIL: "FAIL",
    CheckStatus.SKIP: "skip",
}


def run_doctor(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    directory = Path(args.dir)
    desired = load(directory)
    clients = Clients.from_env(env)
    try:
        user = check_bitbucket(clients.bitbucket)
        drone = check_drone(clients.drone)
    finally:
        clients.close()
    print(f"ok   credentials  Bitbucket: {user.name or user.uuid}{_scopes(user)}")
    role = "system admin" if drone.admin else "not a system admin: timeout/trusted/throttle ignored"
    print(f"ok   credentials  Drone: {drone.login} ({role})")
    with open_store(env) as store:
        planned = plan_now(desired, directory=directory, env=env, store=store, quiet=True)
    failed = 0
    for check in planned.plan.checks:
        where = ", ".join(str(a) for a in check.addresses)
        print(f"{_MARK[check.status]} {check.name}  {where}: {check.message}")
        if check.status is CheckStatus.FAIL:
            failed += 1
            if check.remedy:
                print(f"     remedy: {check.remedy}")
    for note in planned.live.unavailable:
        print(f"warn unavailable  {note}")
    total = len(planned.plan.checks)
    print(f"{total - failed} of {total} checks without failure.")
    return exitcodes.ERROR if failed else exitcodes.OK


def _scopes(user: BitbucketUser) -> str:
    missing = missing_scopes(user.scopes)
    if missing:
        return f" (missing scopes: {', '.join(missing)})"
    return f" (scopes: {', '.join(user.scopes)})" if user.scopes else ""
