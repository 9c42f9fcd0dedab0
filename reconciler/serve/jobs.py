"""What the worker does: plan a pull request, and converge the main branch (apply on merge or
push; report or heal drift on a tick).

Applying holds the store's writer lock from the plan to the last write, so an operator's
`reconciler apply` and serve can never interleave. Planning a pull request takes no lock: it
writes nothing but a comment and a status.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from reconciler.apply import ApplyReport, Outcome
from reconciler.commands.comment import (
    APPLY_STATUS_KEY,
    RepoRef,
    Report,
    failure_report,
    my_uuid,
    one_line,
    plan_report,
    publish,
    pull_request,
    set_status,
    upsert_comments,
)
from reconciler.commands.plan import execute
from reconciler.errors import ConfigError, LockError, ReconcilerError
from reconciler.gitops import Checkout, ConfigRepo
from reconciler.loader import load_desired
from reconciler.models.resources import DesiredState, Drift
from reconciler.pipeline import Clients, Planned, make_plan
from reconciler.plan import plan_hash
from reconciler.policy import check_policy
from reconciler.render.json import plan_document
from reconciler.render.text import summary_line
from reconciler.secrets import SecretResolver
from reconciler.serve.logs import EventLog
from reconciler.serve.metrics import Metrics
from reconciler.serve.scheduler import Health
from reconciler.serve.worker import Job, JobKind
from reconciler.store import Store

LOCK_RETRY_SECONDS = 10.0
LOCK_RETRY_ATTEMPTS = 30  # five minutes of an operator's apply holding the lock
_MAX_RESULT_LINES = 200


@dataclass(frozen=True)
class Settings:
    repo: RepoRef  # the config repository on Bitbucket (pull requests, statuses)
    branch: str  # the branch whose head is applied
    subdir: str  # the desired-state directory inside the config repository


@dataclass(frozen=True)
class Converged:
    """One pass over the main branch. `result`: clean, drift (reported), applied, failed (some
    change failed), refused (policy), error (could not plan)."""

    commit: str | None
    result: str
    detail: str
    changes: int = 0
    report: ApplyReport | None = None
    problems: tuple[str, ...] = ()


class JobRunner:
    def __init__(
        self,
        *,
        settings: Settings,
        env: Mapping[str, str],
        store: Store,
        clients: Clients,
        config: ConfigRepo,
        metrics: Metrics,
        health: Health,
        log: EventLog,
        resubmit: Callable[[Job, float], object],
    ) -> None:
        self.settings = settings
        self.env = env
        self.store = store
        self.clients = clients
        self.config = config
        self.metrics = metrics
        self.health = health
        self.log = log
        self._resubmit = resubmit
        self._me: str | None = None

    def __call__(self, job: Job) -> None:
        if job.kind is JobKind.PLAN:
            self._plan_pr(job)
        else:
            self._converge_job(job)

    # --- pull requests ---------------------------------------------------------------------------

    def _plan_pr(self, job: Job) -> None:
        assert job.pr is not None
        bitbucket, repo = self.clients.bitbucket, self.settings.repo
        try:
            pr = pull_request(bitbucket, repo, job.pr)
            if pr.state != "OPEN" or pr.from_fork or pr.destination != self.settings.branch:
                why = "from a fork" if pr.from_fork else f"{pr.state} into {pr.destination!r}"
                self.log.info("pr.skipped", pr=job.pr, reason=why)
                return
            self.config.fetch()
            checkout = self.config.checkout(pr.commit, subdir=self.settings.subdir)
            report = self._pr_report(checkout)
            publish(bitbucket, store=self.store, repo=repo, pr=pr, report=report)
        except ReconcilerError as exc:
            self.log.error("pr.failed", pr=job.pr, request=job.request, error=str(exc))
            return
        self.metrics.plans.labels(state="SUCCESSFUL" if report.ok else "FAILED").inc()
        self.log.info(
            "pr.planned",
            pr=job.pr,
            revision=pr.commit[:12],
            request=job.request,
            ok=report.ok,
            summary=report.description,
        )

    def _pr_report(self, checkout: Checkout) -> Report:
        title = f"#### reconciler plan for `{checkout.commit[:12]}`"
        try:
            desired = self._load(checkout)
            planned = self._plan(desired, checkout)
        except ConfigError as exc:
            problems = self._relative(exc.problems)
            return failure_report(f"Invalid desired state: {exc.summary}", problems, title=title)
        except ReconcilerError as exc:
            return failure_report(f"Could not plan: {exc}", (), title=title)
        verdict = check_policy(planned.plan, desired.policy)
        doc = plan_document(planned.plan)
        return plan_report(doc, refusals=verdict.reasons, title=title)

    # --- the main branch -------------------------------------------------------------------------

    def _converge_job(self, job: Job) -> None:
        try:
            done = self._converge(job)
        except LockError as exc:
            self._lock_busy(job, exc)
            return
        self._record(job, done)
        if job.kind is JobKind.APPLY:
            self._report_apply(job, done)

    def _converge(self, job: Job) -> Converged:
        commit: str | None = None
        try:
            self.config.fetch()
            commit = self.config.branch_head(self.settings.branch)
            checkout = self.config.checkout(commit, subdir=self.settings.subdir)
            desired = self._load(checkout)
            heal = job.kind is JobKind.APPLY or desired.policy.drift is Drift.HEAL
            with self.store.writer_lock():
                return self._reconcile(desired, checkout, heal=heal)
        except ConfigError as exc:
            summary = f"Invalid desired state: {exc.summary}"
            problems = tuple(self._relative(exc.problems))
            return Converged(commit, "error", summary, problems=problems)
        except LockError:
            raise
        except ReconcilerError as exc:
            return Converged(commit, "error", str(exc))

    def _reconcile(self, desired: DesiredState, checkout: Checkout, *, heal: bool) -> Converged:
        planned = self._plan(desired, checkout)
        changes = len(planned.plan.changes)
        self.metrics.drift.set(changes)
        summary = summary_line(plan_document(planned.plan))
        if planned.plan.empty:
            return Converged(checkout.commit, "clean", summary)
        if not heal:
            return Converged(checkout.commit, "drift", summary, changes=changes)
        verdict = check_policy(planned.plan, desired.policy)
        if not verdict.allowed:
            reasons = verdict.reasons
            return Converged(checkout.commit, "refused", "; ".join(reasons), changes, None, reasons)
        report = self._execute(planned, checkout)
        self.metrics.count_applied(report)
        after = sum(1 for r in report.results if r.outcome is not Outcome.APPLIED)
        self.metrics.drift.set(after)
        result = "applied" if report.ok else "failed"
        return Converged(checkout.commit, result, report.summary(), changes, report=report)

    def _execute(self, planned: Planned, checkout: Checkout) -> ApplyReport:
        """With serve's long-lived clients, so that the writes are counted in /metrics like
        the reads."""
        return execute(
            planned,
            store=self.store,
            env=self.env,
            directory=checkout.directory,
            doc_hash=plan_hash(plan_document(planned.plan)),
            verbose=False,
            clients=self.clients,
        )

    def _lock_busy(self, job: Job, exc: LockError) -> None:
        """Someone else is applying. A tick just waits for the next interval; an apply must not
        be lost, so it is retried for a while."""
        retry = job.kind is JobKind.APPLY and job.attempt < LOCK_RETRY_ATTEMPTS
        self.log.warning("lock.busy", job=job.key, error=str(exc), retry=retry)
        if retry:
            self._resubmit(replace(job, attempt=job.attempt + 1), LOCK_RETRY_SECONDS)

    def _record(self, job: Job, done: Converged) -> None:
        revision = done.commit[:12] if done.commit else None
        if job.kind is JobKind.APPLY or done.report is not None:
            trigger = "heal" if job.kind is JobKind.TICK else job.trigger
            self.metrics.applies.labels(trigger=trigger, result=done.result).inc()
        if job.kind is JobKind.TICK:
            ok = done.result in ("clean", "drift", "applied", "refused")
            self.health.record(ok=ok, reason=done.detail)
            result = "healed" if done.result == "applied" else done.result
            self.metrics.ticks.labels(result=result).inc()
            if ok:
                self.metrics.last_success.set_to_current_time()
        level = self.log.info if done.result in ("clean", "applied") else self.log.warning
        level(
            f"{job.kind.value}.{done.result}",
            revision=revision,
            pr=_first(job.prs),
            request=job.request,
            trigger=job.trigger,
            changes=done.changes,
            detail=done.detail,
            problems=list(done.problems) or None,
        )

    def _report_apply(self, job: Job, done: Converged) -> None:
        """A status on the applied commit, and a comment on each merged pull request. Failing
        to report is logged: the apply itself is already recorded in the store."""
        report = apply_report(done)
        bitbucket, repo = self.clients.bitbucket, self.settings.repo
        try:
            if done.commit:
                set_status(
                    bitbucket,
                    repo=repo,
                    commit=done.commit,
                    key=APPLY_STATUS_KEY,
                    report=report,
                    url="",
                    refname=self.settings.branch,
                )
            for pr in sorted(job.prs):
                upsert_comments(
                    bitbucket,
                    store=self.store,
                    repo=repo,
                    pr=pr,
                    bodies=report.bodies,
                    me=self._my_uuid(),
                    kind="apply",
                )
        except ReconcilerError as exc:
            self.log.error("apply.report_failed", pr=_first(job.prs), error=str(exc))

    # --- helpers ---------------------------------------------------------------------------------

    def _load(self, checkout: Checkout) -> DesiredState:
        """Desired state at a commit, its sources named relative to the repository root (a
        reviewer sees `desired-state/repos/api.yaml:3`, not serve's work directory)."""
        desired = load_desired(checkout.directory)
        root = f"{self.config.workdir}/"
        resources = {
            address: replace(
                resource,
                source=replace(resource.source, file=resource.source.file.removeprefix(root)),
            )
            for address, resource in desired.resources.items()
        }
        return replace(desired, resources=resources, revision=checkout.commit)

    def _plan(self, desired: DesiredState, checkout: Checkout) -> Planned:
        return make_plan(
            desired,
            clients=self.clients,
            store=self.store,
            resolver=SecretResolver(self.env, base_dir=checkout.directory),
        )

    def _relative(self, problems: list[str]) -> list[str]:
        root = f"{self.config.workdir}/"
        return [p.replace(root, "") for p in problems]

    def _my_uuid(self) -> str:
        if self._me is None:
            self._me = my_uuid(self.clients.bitbucket)
        return self._me


def apply_report(done: Converged) -> Report:
    """The text a merged pull request gets: what was applied, or why nothing was."""
    commit = f"`{done.commit[:12]}`" if done.commit else "the main branch"
    title = "#### reconciler apply"
    if done.result == "error":
        return failure_report(
            f"Could not apply {commit}: {done.detail}", done.problems, title=title
        )
    if done.result == "refused":
        reasons = "\n".join(f"- {reason}" for reason in done.problems)
        body = (
            f"{title}\n\n**Apply of {commit} refused by policy.** Nothing was changed.\n\n"
            f"{reasons}\n\nTo proceed, change the policy in a pull request, or have an operator "
            "run `reconciler apply` with the gate opened (e.g. `--allow-deletions N`).\n"
        )
        return Report(
            ok=False, description=one_line(f"Refused by policy: {done.detail}"), bodies=(body,)
        )
    if done.report is None:
        text = f"Nothing to apply: live state already matches {commit}."
        return Report(ok=True, description="No changes", bodies=(f"{title}\n\n{text}\n",))
    lines = [
        f"{r.outcome.value:13} {r.action.value} {r.address}"
        + (f": {r.message}" if r.message else "")
        for r in done.report.results
    ][:_MAX_RESULT_LINES]
    body = (
        f"{title}\n\n**{done.report.summary()}** ({commit})\n\n```\n" + "\n".join(lines) + "\n```\n"
    )
    return Report(ok=done.report.ok, description=done.report.summary(), bodies=(body,))


def _first(prs: frozenset[int]) -> int | None:
    return min(prs) if prs else None
