"""Cross-system invariants: what only a tool that knows Bitbucket and Drone together can see.

`run_checks` is pure. A failure with an API remedy becomes a planned change; one without becomes a
`manual` change whose reason lists the exact steps. The caller merges them with `extend_plan` and
hands `protected` to `check_policy`. Decisions:

* drone-hook: only Drone knows the signer, so its hook is healed with `repair`, never written by
  us. Repair (like activation) deletes only the FIRST hook on Drone's host, in Bitbucket's listing
  order, and creates one: for duplicates the others are planned as deletions by uuid. A repository
  whose `active` is not declared is judged by its live state. Hooks on inactive repositories are
  deleted only under `policy.prune.webhooks: all` (we never created them, so `managed` keeps them).
* oauth-consumer: a declared callback equal to `<drone.server>/login` passes, with a note to verify
  it by hand (no API reads it; a warning that can never clear teaches reviewers to ignore them).
* drone-owner: the owner's Bitbucket token builds hooks, fetches pipelines and posts statuses, so
  it must own each active repository, be an active human user and hold admin. A desired-state
  contradiction is a `manual` change (the fix is in the YAML), not a write the next plan reverts.

No `?secret=` value enters a result or change: hook URLs arrive redacted and are redacted again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from urllib.parse import urlsplit, urlunsplit

from reconciler.models import address as addr
from reconciler.models.address import Address, Kind
from reconciler.models.live import DroneHook, LiveState
from reconciler.models.resources import DesiredResource, DesiredState, Prune, Source, Value
from reconciler.plan import Action, Change, CheckResult, CheckStatus, FieldChange

PASS, FAIL, WARN, SKIP = CheckStatus.PASS, CheckStatus.FAIL, CheckStatus.WARN, CheckStatus.SKIP
# go-scm v1.28.0 subscribes Drone's Bitbucket Cloud hook to exactly these (Drone API 7.3).
DRONE_HOOK_EVENTS = (
    *("pullrequest:approved", "pullrequest:created", "pullrequest:fulfilled"),
    *("pullrequest:rejected", "pullrequest:unapproved", "pullrequest:updated", "repo:push"),
)
DRONE_SCOPES = ("account", "email", "repository", "team", "webhook")  # Drone API 7.2
ADMIN_ONLY_SETTINGS = ("throttle", "timeout", "trusted")  # Drone API 3.1.2
# Legacy scope implications (Bitbucket API 2): a granted key also grants its values.
_IMPLIES: Mapping[str, tuple[str, ...]] = {
    "account:write": ("account",),
    "team:write": ("team",),
    "repository:write": ("repository",),
    "pullrequest": ("repository",),
    "pullrequest:write": ("pullrequest", "repository:write", "repository"),
    "project": ("repository",),
}
_LABELS: Mapping[str, str] = {
    "account": "Account: Read",
    "email": "Account: Email",
    "team": "Workspace membership: Read",
    "repository": "Repositories: Read",
    "webhook": "Webhooks: Read and write",
}
_ADMIN_REMEDY = "use a Drone system-admin token (DRONE_TOKEN of a user with admin: true)"


@dataclass(frozen=True)
class CheckOutcome:
    """Results sorted by name then addresses; changes sorted by address; the addresses policy
    must refuse to delete or deactivate unless explicitly allowed."""

    checks: tuple[CheckResult, ...] = ()
    changes: tuple[Change, ...] = ()
    protected: frozenset[Address] = frozenset()


@dataclass(frozen=True)
class _Finding:
    status: CheckStatus
    message: str
    remedy: str = ""


@dataclass
class _Found:
    checks: list[CheckResult] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    protected: set[Address] = field(default_factory=set)

    def result(
        self, name: str, subject: str, addresses: Iterable[Address], *findings: _Finding
    ) -> None:
        """One result from several findings: the worst status, messages and remedies joined."""
        statuses = {f.status for f in findings}
        status = next((s for s in (FAIL, WARN, SKIP) if s in statuses), PASS)
        message = f"{subject}: " + "; ".join(f.message for f in findings if f.message)
        remedy = " ".join(f.remedy for f in findings if f.remedy)
        self.checks.append(
            CheckResult(name, status, tuple(sorted(set(addresses))), message, remedy)
        )

    def manual(
        self, address: Address, steps: str, *fields: FieldChange, source: Source | None = None
    ) -> str:
        """Plan a manual change; returns the steps, which are also the finding's remedy."""
        self.changes.append(Change(address, Action.MANUAL, fields, reason=steps, source=source))
        return steps


def run_checks(
    desired: DesiredState, live: LiveState, *, accounts: Mapping[str, str] | None = None
) -> CheckOutcome:
    """Every check, deterministically. `accounts` maps a Drone login (on Bitbucket Cloud, the
    Bitbucket nickname) to its account uuid; LiveState does not carry that yet, and without it
    the owner's Bitbucket admin cannot be tied to a grant (a warning says so)."""
    found = _Found()
    _drone_hooks(desired, live, found)
    _oauth_consumers(desired, live, found)
    _drone_owner(desired, live, found, accounts or {})
    _ignored_settings(desired, live, found)
    checks = sorted(found.checks, key=lambda c: (c.name, c.addresses, c.message, c.status.value))
    changes = sorted(found.changes, key=lambda c: (c.address, c.action.value, c.reason))
    return CheckOutcome(tuple(checks), tuple(changes), frozenset(found.protected))


class _Drone(Enum):
    """A declared Drone repository's state after the plan, as hooks and owners see it."""

    ACTIVE = "active"
    ACTIVATING = "activating"  # the plan activates it; Drone creates its hook itself
    INACTIVE = "inactive"
    UNKNOWN = "unknown"  # Drone or Bitbucket does not know the repository


def _drone_repos(desired: DesiredState) -> list[DesiredResource]:
    return [r for a, r in sorted(desired.resources.items()) if a.kind is Kind.DRONE_REPO]


def _drone_state(resource: DesiredResource, live: LiveState) -> _Drone:
    """build_plan turns a declared `active` that differs from live into activation or disable."""
    current = live.resources.get(resource.address)
    if current is None or resource.address.id in live.missing_repos:
        return _Drone.UNKNOWN
    wanted = resource.fields.get("active")
    if wanted is False:
        return _Drone.INACTIVE
    if current.fields.get("active") is True:
        return _Drone.ACTIVE
    return _Drone.ACTIVATING if wanted is True else _Drone.INACTIVE


def _redact(url: str) -> str:
    """Defence in depth: every query value becomes `***`, user-info is dropped."""
    parts = urlsplit(url)
    query = "&".join(f"{p.partition('=')[0]}=***" for p in parts.query.split("&") if p)
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, query, ""))


# -- drone-hook --------------------------------------------------------------------------------


def _drone_hooks(desired: DesiredState, live: LiveState, found: _Found) -> None:
    if desired.drone_server is None:
        return
    hook_path = urlsplit(desired.drone_server).path.rstrip("/") + "/hook"
    for resource in _drone_repos(desired):
        address, state = resource.address, _drone_state(resource, live)
        hooks = live.drone_hooks.get(address.id, ())
        if state is _Drone.UNKNOWN:
            finding = _Finding(SKIP, "not checked: Drone or Bitbucket does not know it yet")
        elif state is _Drone.INACTIVE:
            finding = _inactive_hooks(address, hooks, desired.policy.prune_webhooks, found)
        else:
            activating = state is _Drone.ACTIVATING
            finding = _active_hooks(address, hooks, hook_path, found, activating=activating)
        found.result("drone-hook", address.id, (address,), finding)


def _hook_defects(hook: DroneHook, hook_path: str) -> list[str]:
    parts = urlsplit(_redact(hook.url))
    defects = [] if hook.active else ["inactive"]
    if parts.path != hook_path:
        defects.append(f"aimed at {parts.path or '/'} instead of {hook_path}")
    if "secret" not in {p.partition("=")[0] for p in parts.query.split("&")}:
        defects.append("missing its ?secret= signer (Drone rejects its deliveries)")
    missing = sorted(set(DRONE_HOOK_EVENTS) - set(hook.events))
    if missing:
        defects.append("not subscribed to " + ", ".join(missing))
    return defects


def _delete_extras(hooks: tuple[DroneHook, ...], found: _Found) -> str:
    """Activation and repair replace only the first hook on Drone's host: the rest are deleted."""
    extras = hooks[1:]
    for hook in extras:
        found.changes.append(_delete_hook(hook, "duplicate Drone hook: repair keeps one"))
    uuids = ", ".join(h.uuid for h in extras)
    return f"Delete the extra hooks {uuids} (planned)." if extras else ""


def _active_hooks(
    address: Address,
    hooks: tuple[DroneHook, ...],
    hook_path: str,
    found: _Found,
    *,
    activating: bool,
) -> _Finding:
    if activating:  # activation replaces the first hook on Drone's host, as repair does
        extras = _delete_extras(hooks, found)
        text = "created by activation" + (f", but {len(hooks)} exist" if extras else "")
        return _Finding(FAIL if extras else PASS, text, extras)
    if not hooks:
        defect = "missing"
    elif len(hooks) > 1:
        defect = f"duplicated ({len(hooks)} hooks on Drone's host)"
    else:
        defect = " and ".join(_hook_defects(hooks[0], hook_path))
    if not defect:
        return _Finding(PASS, "one active Drone hook")
    reason = f"Drone's hook on Bitbucket is {defect}: Drone will rebuild it (repair)"
    found.changes.append(Change(address, Action.REPAIR, reason=reason))
    remedy = f"`drone repo repair {address.id}` (planned: repair). {_delete_extras(hooks, found)}"
    return _Finding(FAIL, f"Drone's hook is {defect}", remedy.strip())


def _inactive_hooks(
    address: Address, hooks: tuple[DroneHook, ...], prune: Prune, found: _Found
) -> _Finding:
    """Drone acknowledges and ignores deliveries for an inactive repository: noise, not harm."""
    if not hooks:
        return _Finding(PASS, "inactive in Drone, no Drone hook")
    uuids = ", ".join(h.uuid for h in hooks)
    text = f"inactive in Drone but has {len(hooks)} Drone hook(s): {uuids}"
    if prune is Prune.ALL:
        reason = "Drone hook on a repository inactive in Drone (policy.prune.webhooks: all)"
        found.changes.extend(_delete_hook(h, reason) for h in hooks)
        return _Finding(WARN, text, "Deleted (planned; policy.prune.webhooks: all).")
    remedy = (
        "Delete them in Bitbucket (Repository settings > Webhooks), or set "
        "policy.prune.webhooks: all to let reconciler delete them."
    )
    return _Finding(WARN, text, remedy)


def _delete_hook(hook: DroneHook, reason: str) -> Change:
    workspace, slug = hook.repo.split("/", 1)
    events = tuple(sorted(hook.events))
    return Change(
        address=addr.webhook(workspace, slug, f"drone#{hook.uuid}"),
        action=Action.DELETE,
        before={"active": hook.active, "events": events, "url": _redact(hook.url)},
        handle={"uuid": hook.uuid, "drone_hook": "true"},
        reason=reason,
    )


# -- oauth-consumer ----------------------------------------------------------------------------


@dataclass
class _Consumer:
    """One declared consumer. Bitbucket has no API for it: every remedy is a step of one manual
    change, with the edits in the consumer's form gathered into one sentence."""

    resource: DesiredResource
    edits: list[str] = field(default_factory=list)  # in the consumer's Edit form
    steps: list[str] = field(default_factory=list)  # anywhere else
    fields: list[FieldChange] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.name = self.resource.address.id.rsplit("/", 1)[-1]

    def remedy(self) -> str:
        form = f'Workspace settings > Apps and features > OAuth consumers > "{self.name}" > Edit'
        edits = [f"{form}: {'; '.join(self.edits)}; Save."] if self.edits else []
        return " ".join(edits + self.steps)


def _oauth_consumers(desired: DesiredState, live: LiveState, found: _Found) -> None:
    for address, resource in sorted(desired.resources.items()):
        if address.kind is not Kind.BITBUCKET_OAUTH_CONSUMER:
            continue
        consumer = _Consumer(resource)
        findings = [*_verification(consumer, live), _callback(consumer, desired.drone_server)]
        if consumer.edits or consumer.steps:
            steps = "Bitbucket has no API for OAuth consumers. " + consumer.remedy()
            fields = sorted(consumer.fields, key=lambda f: f.field)
            findings.append(
                _Finding(FAIL, "", found.manual(address, steps, *fields, source=resource.source))
            )
        found.result("oauth-consumer", address.id, (address,), *findings)


def _verification(consumer: _Consumer, live: LiveState) -> list[_Finding]:
    """An unknown key and a wrong secret give Bitbucket's same answer: one finding for both."""
    result = live.oauth.get(consumer.name)
    if result is None:
        text = "not verified: no client_credentials result (client id or secret unavailable)"
        return [_Finding(SKIP, text, "Make the consumer's client_id and client_secret resolvable.")]
    if not result.exists or not result.secret_valid:
        refs = [consumer.resource.sensitive[k].describe() for k in ("client_id", "client_secret")]
        consumer.steps.append(
            "Workspace settings > Apps and features > OAuth consumers: find (or add) "
            f'"{consumer.name}", copy its Key into {refs[0]} and its Secret into {refs[1]}, and '
            "give Drone the same (DRONE_BITBUCKET_CLIENT_ID, DRONE_BITBUCKET_CLIENT_SECRET)."
        )
        return [_Finding(FAIL, "client_credentials refused: unknown key or wrong secret")]
    if not result.private:
        consumer.edits.append('tick "This is a private consumer"')
        return [_Finding(FAIL, "the consumer is public, so its scopes cannot be verified")]
    return [_Finding(PASS, "exists, private, secret valid"), *_scopes(consumer, result.scopes)]


def _scopes(consumer: _Consumer, granted: tuple[str, ...]) -> list[_Finding]:
    """Declared scopes plus Drone's must be granted; granted beyond both is a warning."""
    declared = consumer.resource.fields.get("scopes")
    wanted = set(declared) if isinstance(declared, tuple) else set()
    held = set(granted) | {i for s in granted for i in _IMPLIES.get(s, ())}
    missing = sorted((wanted | set(DRONE_SCOPES)) - held)
    findings = []
    if missing:
        consumer.edits.append(f"tick {_labels(missing)}")
        after = tuple(sorted(set(granted) | set(missing)))
        consumer.fields.append(FieldChange("scopes", tuple(sorted(granted)), after))
        findings.append(_Finding(FAIL, "scopes not granted: " + ", ".join(missing)))
    extra = sorted(set(granted) - wanted - set(DRONE_SCOPES)) if declared else []
    if extra:
        remedy = f"Untick {_labels(extra)} in the consumer's form, or declare them."
        findings.append(_Finding(WARN, "granted but not declared: " + ", ".join(extra), remedy))
    return findings


def _labels(scopes: list[str]) -> str:
    return ", ".join(f'"{_LABELS.get(s, s)}"' for s in scopes)


def _callback(consumer: _Consumer, server: str | None) -> _Finding:
    """No API reads the callback: only the declaration can be compared with Drone's need."""
    if server is None:
        return _Finding(SKIP, "callback not checked: drone.server is not declared")
    expected = f"{server}/login"
    declared = consumer.resource.fields.get("callback_url", expected)
    if declared == expected:
        return _Finding(PASS, f"callback cannot be read through the API: verify it is {expected}")
    consumer.edits.append(f"set Callback URL to {expected}")
    consumer.steps.append(
        f"In desired state, set oauth_consumers.{consumer.name}.callback_url to {expected} "
        "(or remove it: that is the default)."
    )
    consumer.fields.append(FieldChange("callback_url", declared, expected))
    return _Finding(FAIL, f"declared callback_url {declared} is not Drone's {expected}")


# -- drone-owner -------------------------------------------------------------------------------


def _drone_owner(
    desired: DesiredState, live: LiveState, found: _Found, accounts: Mapping[str, str]
) -> None:
    """The owner's Bitbucket token builds hooks, fetches pipelines and posts statuses."""
    if desired.drone_owner is None:
        return
    check = _Owner(desired.drone_owner, desired, live, found, accounts.get(desired.drone_owner))
    user = addr.drone_user(check.login)
    found.protected.add(user)
    found.result("drone-owner", check.login, (user,), check.user())
    for resource in _drone_repos(desired):
        state = _drone_state(resource, live)
        if state in (_Drone.ACTIVE, _Drone.ACTIVATING):
            owns = check.ownership(resource.address, activating=state is _Drone.ACTIVATING)
            admin, grants = check.admin(resource.address)
            found.protected.update(grants)
            found.result(
                "drone-owner", resource.address.id, (resource.address, *grants), owns, admin
            )


@dataclass(frozen=True)
class _Owner:
    login: str
    desired: DesiredState
    live: LiveState
    found: _Found
    uuid: str | None  # the owner's Bitbucket account, when known

    def user(self) -> _Finding:
        """An active human Drone user after the plan (desired fields over live ones)."""
        address = addr.drone_user(self.login)
        want, have = self.desired.resources.get(address), self.live.resources.get(address)
        after = {**(have.fields if have else {}), **(want.fields if want else {})}
        manual = self.found.manual
        if after.get("machine") is True:
            text = f"{self.login} is a machine account: it has no Bitbucket token for Drone"
            return _Finding(FAIL, text, manual(address, "Set drone.owner to a human user."))
        if after.get("active") is False:
            steps = f"Declare drone.users.{self.login}.active: true (with a system-admin token)."
            return _Finding(FAIL, f"{self.login} is inactive in Drone", manual(address, steps))
        if have is not None:
            return _Finding(PASS, f"{self.login} is an active Drone user")
        live = self.live
        if not live.drone_user_ids and not any(a.kind is Kind.DRONE_USER for a in live.resources):
            text = f"not verified that {self.login} is an active Drone user (users need admin)"
            return _Finding(WARN, text, _ADMIN_REMEDY)
        login = f"{self.login} logs in to Drone through Bitbucket once, so Drone holds a token"
        if want is not None:
            return _Finding(WARN, f"{self.login} is created by this plan", login + ".")
        steps = f"{login} (that creates the user), or set drone.owner to an existing user."
        return _Finding(FAIL, f"{self.login} is not a Drone user", manual(address, steps))

    def ownership(self, address: Address, *, activating: bool) -> _Finding:
        """Activation makes the caller the owner; otherwise compare the live `user_id`."""
        caller, owner = self.live.identity.drone_login, self.login
        current: Value = caller
        if activating and caller is None:
            return _Finding(WARN, "activation makes the token's user the owner, and it is unknown")
        if not activating:
            owner_id = self.live.drone_user_ids.get(owner)
            user_id = int(self.live.resources[address].handle.get("user_id") or 0)
            if owner_id is None:
                text = f"owner not verified: {owner}'s Drone user id is unknown (needs admin)"
                return _Finding(WARN, text, _ADMIN_REMEDY)
            if user_id == owner_id:
                return _Finding(PASS, f"owned by {owner}")
            logins = {uid: login for login, uid in self.live.drone_user_ids.items()}
            current = logins.get(user_id, user_id or None)
        if current == owner:
            return _Finding(PASS, f"activation makes {owner} the owner")
        text = f"owned by {current if current is not None else 'nobody'}, not {owner}"
        change = FieldChange("owner", current, owner)
        if caller != owner:  # Drone's chown makes the CALLER the owner
            steps = (
                f"Log in to Drone as {owner} and run `drone repo chown {address.id}` "
                f"(or run reconciler with {owner}'s DRONE_TOKEN)."
            )
            return _Finding(FAIL, text, self.found.manual(address, steps, change))
        handle, reason = dict(self.live.resources[address].handle), f"chown: make {owner} the owner"
        self.found.changes.append(
            Change(address, Action.UPDATE, (change,), handle=handle, reason=reason)
        )
        return _Finding(FAIL, text, f"Chown as {owner} (planned).")

    def admin(self, repo: Address) -> tuple[_Finding, tuple[Address, ...]]:
        """Admin after the plan: declared for the owner's account, an explicit live grant the
        plan does not lower, or a group/workspace role. Returns the grants to protect."""
        owner, uuid = self.login, self.uuid
        if uuid is None:
            text = f"Bitbucket admin not verified: no Bitbucket account known for {owner}"
            remedy = f"Check that {owner} has admin on {repo.id} (Repository settings)."
            return _Finding(WARN, text, remedy), ()
        workspace, slug = repo.id.split("/", 1)
        grant = addr.permission(workspace, slug, "user", uuid)
        declared, explicit = self.desired.resources.get(grant), self.live.resources.get(grant)
        level = declared.fields.get("permission") if declared else None
        explicit_admin = explicit is not None and explicit.fields.get("permission") == "admin"
        effective = self.live.effective_permissions.get(repo.id, {}).get(uuid)
        if level == "admin" or (explicit_admin and level is None):
            return _Finding(PASS, f"{owner} holds admin ({grant}, protected)"), (grant,)
        if effective == "admin" and not explicit_admin:
            return _Finding(PASS, f"{owner} is admin through a group or workspace role"), ()
        if repo.id not in self.live.effective_permissions and not explicit_admin:
            text = f"Bitbucket admin not verified: effective permissions of {repo.id} not read"
            return _Finding(WARN, text, "Read with a workspace admin's credentials."), ()
        steps = (
            f"Declare admin for {owner} on {repo.id}: repositories.{slug}.permissions.users: "
            f'{{"{uuid}": admin}} (or through a role), or choose another drone.owner.'
        )
        self.found.manual(grant, steps, FieldChange("permission", level or effective, "admin"))
        held = f"{level} (declared)" if level else f"{effective or 'no'} access"
        text = f"{owner} has {held} on {repo.id}; Drone's owner needs admin"
        return _Finding(FAIL, text, steps), ((grant,) if explicit_admin else ())


# -- ignored-settings --------------------------------------------------------------------------


def _ignored_settings(desired: DesiredState, live: LiveState, found: _Found) -> None:
    """The structured twin of build_plan's warning: Drone answers 200 and drops these keys."""
    repos = _drone_repos(desired)
    declared = [(r, [f for f in ADMIN_ONLY_SETTINGS if f in r.fields]) for r in repos]
    declared = [(r, names) for r, names in declared if names]
    addresses = [r.address for r, _ in declared]
    if not repos:
        return
    if not declared:
        finding = _Finding(PASS, "no admin-only settings (trusted, timeout, throttle) declared")
    elif live.identity.drone_admin:
        finding = _Finding(PASS, "the Drone token is a system admin: admin-only settings apply")
    elif live.identity.drone_login is None:
        finding = _Finding(SKIP, "not checked: the Drone token's user is unknown")
    else:
        listing = ", ".join(_setting_text(r, names, live) for r, names in declared)
        text = "Drone ignores these without a system-admin token, so they are not managed: "
        finding = _Finding(WARN, text + listing, _ADMIN_REMEDY)
    found.result("ignored-settings", "Drone token", addresses, finding)


def _setting_text(resource: DesiredResource, names: list[str], live: LiveState) -> str:
    current = live.resources.get(resource.address)
    have, want = (current.fields if current else {}), resource.fields
    parts = [f"{n} {have[n]} -> {want[n]}" if have.get(n, want[n]) != want[n] else n for n in names]
    return f"{resource.address.id} ({', '.join(parts)})"
