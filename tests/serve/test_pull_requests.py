"""Pull requests to the config repository: planned into ONE comment (edited in place) and a build
status; merged -> applied. Bitbucket's deliveries come from the sandbox, signed, over HTTP."""

from __future__ import annotations

from collections.abc import Callable

from reconciler.commands.common import plan_now
from reconciler.loader import load_desired
from reconciler.store import Store
from tests.serve.conftest import Running, assert_no_secrets
from tests.serve.support import (
    ME,
    Box,
    ConfigGit,
    wait_until,
)

MARKER = "<!-- reconciler:plan --><!-- part 1 -->"


def _open_pr(box: Box, config_git: ConfigGit, pr: int) -> str:
    """A developer's branch that raises the api repository's Drone timeout; returns its head."""
    main = config_git.head()
    config_git.switch(f"feature-{pr}", create=True)
    config_git.edit("repos/api.yaml", "timeout: 90", "timeout: 95")
    head = config_git.commit("api: longer builds")
    config_git.push(f"feature-{pr}")
    box.pull_request(pr, "created", source=head, main=main)
    return head


def _plan_status(box: Box, commit: str) -> dict[str, object]:
    return wait_until(
        lambda: box.status(commit, "reconciler/plan"), what=f"a plan status on {commit[:12]}"
    )


def test_pr_gets_one_comment_and_a_status_then_the_same_comment_is_edited(
    box: Box, config_git: ConfigGit, start_serve: Callable[..., Running]
) -> None:
    serve = start_serve()
    first = _open_pr(box, config_git, 1)

    status = _plan_status(box, first)
    comments = box.comments(1)
    assert len(comments) == 1
    body = comments[0]["raw"]
    assert body.startswith(MARKER) and comments[0]["user"] == ME
    assert f"reconciler plan for `{first[:12]}`" in body
    assert "+     timeout: 95" in body  # the plan shows the branch's value, not main's
    assert "desired-state/repos/api.yaml:" in body  # sources relative to the repository
    assert status["state"] == "SUCCESSFUL"
    assert status["description"] == "36 to add, 3 to change, 2 to destroy"
    assert status["refname"] == "feature-1"

    # A second push to the pull request: the same comment is edited, none is added.
    config_git.edit("repos/api.yaml", "timeout: 95", "timeout: 100")
    second = config_git.commit("api: even longer builds")
    config_git.push("feature-1")
    box.pull_request(1, "updated", source=second)
    _plan_status(box, second)
    serve.wait_idle()
    after = box.comments(1)
    assert [c["id"] for c in after] == [comments[0]["id"]]
    assert "+     timeout: 100" in after[0]["raw"] and second[:12] in after[0]["raw"]
    assert serve.store.comment_ids("acme/config", 1) == (comments[0]["id"],)
    assert serve.metric("reconciler_pr_plans_total", state="SUCCESSFUL") == 2

    # A PR plan writes nothing but the comment and the status on the config repository.
    managed = [
        w
        for w in box.writes()
        if w["system"] == "drone"
        or not w["path"].startswith(
            ("/bitbucket/2.0/repositories/acme/config", "/bitbucket/site/oauth2")
        )
    ]
    assert managed == []
    assert_no_secrets(box, serve)


def test_invalid_desired_state_on_a_pr_fails_its_status(
    box: Box, config_git: ConfigGit, start_serve: Callable[..., Running]
) -> None:
    start_serve()
    main = config_git.head()
    config_git.switch("feature-2", create=True)
    config_git.edit("repos/api.yaml", 'expr: "0 0 2 * * *"', 'expr: "0 2 * * *"')
    head = config_git.commit("a five-field cron")
    config_git.push("feature-2")
    box.pull_request(2, "created", source=head, main=main)

    status = _plan_status(box, head)
    assert status["state"] == "FAILED"
    assert str(status["description"]).startswith("Invalid desired state: 1 error")
    [comment] = box.comments(2)
    assert "desired-state/repos/api.yaml:" in comment["raw"] and "5 fields" in comment["raw"]


def test_merge_applies_main_and_reports_on_the_pr(
    box: Box,
    config_git: ConfigGit,
    start_serve: Callable[..., Running],
    env: dict[str, str],
    tmp_path: object,
) -> None:
    serve = start_serve()
    serve.wait_ticks(1)  # main is planned once at start: drift is reported, nothing applied
    assert serve.runs() == ()
    head = _open_pr(box, config_git, 3)
    _plan_status(box, head)

    config_git.switch("main")
    merged = config_git.merge("feature-3")
    config_git.push("main")
    box.pull_request(3, "fulfilled")  # Bitbucket sends both: the PR merged, and main moved
    box.push(merged)

    status = wait_until(
        lambda: box.status(merged, "reconciler/apply"), what="the apply status on main"
    )
    serve.wait_idle()
    assert status["state"] == "SUCCESSFUL"
    assert status["description"] == "Apply complete: 41 applied."
    [run] = serve.runs()  # the second trigger found nothing left to do
    assert run.revision == merged and run.status == "ok" and len(run.results) == 41
    assert serve.metric("reconciler_changes_applied_total", kind="drone_repo", action="update") >= 1
    assert serve.metric("reconciler_drift_changes") == 0
    apply_comment = [c for c in box.comments(3) if "reconciler:apply" in c["raw"]]
    assert len(apply_comment) == 1 and "Apply complete: 41 applied." in apply_comment[0]["raw"]

    # Live state now matches the merged commit: the api repository got the branch's timeout,
    # and a fresh plan from another process finds nothing to do.
    drone_api = next(r for r in box.state()["drone"]["repos"] if r["name"] == "api")
    assert drone_api["active"] and drone_api["timeout"] == 95
    with Store.open(serve.store.path) as store:
        desired = load_desired(config_git.desired)
        assert plan_now(desired, directory=config_git.desired, env=env, store=store).plan.empty
    assert_no_secrets(box, serve)


def test_a_merge_that_policy_refuses_is_reported_on_the_pr_and_changes_nothing(
    box: Box, config_git: ConfigGit, start_serve: Callable[..., Running]
) -> None:
    serve = start_serve()
    main = config_git.head()
    config_git.switch("feature-4", create=True)
    config_git.edit("workspace.yaml", "max_deletions: 10", "max_deletions: 1")
    head = config_git.commit("stricter deletions")
    config_git.push("feature-4")
    box.pull_request(4, "created", source=head, main=main)
    planned = _plan_status(box, head)
    assert planned["state"] == "FAILED"
    assert str(planned["description"]).startswith("Refused by policy: the plan deletes 2")

    config_git.switch("main")
    merged = config_git.merge("feature-4")
    config_git.push("main")
    box.pull_request(4, "fulfilled")
    box.push(merged)
    status = wait_until(lambda: box.status(merged, "reconciler/apply"), what="the apply status")
    serve.wait_idle()

    assert status["state"] == "FAILED"
    assert serve.runs() == ()
    [refusal] = [c["raw"] for c in box.comments(4) if "reconciler:apply" in c["raw"]]
    assert "refused by policy.** Nothing was changed." in refusal
    assert "more than policy.max_deletions = 1" in refusal
    assert serve.metric("reconciler_applies_total", result="refused") >= 1
    managed = [w for w in box.writes() if "/acme/config/" not in w["path"]]
    assert [w for w in managed if "oauth2" not in w["path"]] == []
