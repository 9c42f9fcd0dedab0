"""Integration checks on plain data: each invariant passing and failing in each way it can."""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from reconciler.checks import DRONE_HOOK_EVENTS, CheckOutcome, run_checks
from reconciler.models.address import Address
from reconciler.models.live import DroneHook, Identity, LiveState, OAuthVerification
from reconciler.models.resources import (
    DesiredResource,
    DesiredState,
    Inventory,
    LiveResource,
    PolicySettings,
    Prune,
    SecretRef,
    Source,
    Value,
)
from reconciler.plan import Action, Change, CheckStatus, FieldChange, Plan, build_plan, extend_plan
from reconciler.policy import check_policy
from reconciler.render import dumps, plan_document, render_markdown, render_text

SERVER = "https://drone.acme.example"
CANARY = "canary-5e1f0b7d9a"
API = Address.parse("drone_repo:acme/api")
WEB = Address.parse("drone_repo:acme/web")
CONSUMER = Address.parse("bitbucket_oauth_consumer:acme/drone")
OWNER = "drone-bot"
OWNER_USER = Address.parse("drone_user:drone-bot")
OWNER_UUID = "{5b3c1a2e-0000-4000-8000-000000000001}"
OWNER_GRANT = Address.parse(f"bitbucket_permission:acme/api/user:{OWNER_UUID}")
SRC = Source("desired-state/repos/api.yaml", 3)

# A recorded Bitbucket hook (fixtures/drone-go-scm/hook.json) aimed at Drone, as go-scm makes it.
RECORDED_HOOK: dict[str, Any] = {
    "description": "drone",
    "url": f"{SERVER}/hook?secret={CANARY}",
    "active": True,
    "events": ["pullrequest:created", "pullrequest:updated", "repo:push"],
    "uuid": "{d53603cc-3f67-45ea-b310-aaa5ef6ec061}",
}


# -- builders ----------------------------------------------------------------------------------


def _as_reader(repo: str, raw: dict[str, Any]) -> DroneHook:
    """What the Bitbucket reader makes of a hook on Drone's host: every query value redacted."""
    parts = urlsplit(raw["url"])
    query = "&".join(f"{p.partition('=')[0]}=***" for p in parts.query.split("&") if p)
    url = urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
    return DroneHook(repo, raw["uuid"], url, tuple(sorted(raw["events"])), bool(raw["active"]))


def _hook(uuid: str, *, repo: str = "acme/api", **overrides: Any) -> DroneHook:
    raw = RECORDED_HOOK | {"uuid": uuid, "events": list(DRONE_HOOK_EVENTS)} | overrides
    return _as_reader(repo, raw)


def _res(address: Address | str, **fields: Value) -> DesiredResource:
    address = Address.parse(address) if isinstance(address, str) else address
    return DesiredResource(address, fields, SRC)


def _consumer(**fields: Value) -> DesiredResource:
    return DesiredResource(
        CONSUMER,
        {"callback_url": f"{SERVER}/login"} | fields,
        Source("desired-state/workspace.yaml", 12),
        sensitive={
            "client_id": SecretRef(env="DRONE_BITBUCKET_CLIENT_ID"),
            "client_secret": SecretRef(env="DRONE_BITBUCKET_CLIENT_SECRET"),
        },
    )


def _desired(
    *resources: DesiredResource,
    owner: str | None = None,
    prune_webhooks: Prune = Prune.MANAGED,
    server: str | None = SERVER,
) -> DesiredState:
    return DesiredState(
        workspace="acme",
        resources={r.address: r for r in resources},
        repositories=tuple(sorted({r.address.repo for r in resources if r.address.repo})),
        policy=PolicySettings(prune_webhooks=prune_webhooks),
        drone_server=server,
        drone_owner=owner,
        scopes={"bitbucket_permission": frozenset({"acme/api"})},
    )


def _repo(
    address: Address = API, *, active: bool = True, user_id: int = 1, **f: Value
) -> LiveResource:
    fields = {"active": active, "timeout": 60, "trusted": False, "throttle": 0} | f
    return LiveResource(address, fields, handle={"id": 7, "user_id": user_id, "uid": "42"})


def _user(login: str, uid: int, *, active: bool = True, machine: bool = False) -> LiveResource:
    fields = {"active": active, "admin": False, "machine": machine}
    return LiveResource(Address.parse(f"drone_user:{login}"), fields, handle={"id": uid})


def _live(*resources: LiveResource, **kw: Any) -> LiveState:
    return LiveState(resources={r.address: r for r in resources}, **kw)


def _only(outcome: CheckOutcome, name: str) -> list[Any]:
    return [c for c in outcome.checks if c.name == name]


def _hook_check(desired: DesiredState, live: LiveState) -> tuple[Any, tuple[Change, ...]]:
    outcome = run_checks(desired, live)
    (check,) = _only(outcome, "drone-hook")
    return check, outcome.changes


# -- drone-hook --------------------------------------------------------------------------------


def test_one_good_hook_passes() -> None:
    live = _live(_repo(), drone_hooks={"acme/api": (_hook("{a}"),)})
    check, changes = _hook_check(_desired(_res(API, active=True)), live)
    assert check.status is CheckStatus.PASS
    assert changes == ()


def test_missing_hook_is_repaired() -> None:
    check, changes = _hook_check(_desired(_res(API, active=True)), _live(_repo()))
    assert check.status is CheckStatus.FAIL
    assert "drone repo repair acme/api" in check.remedy
    assert changes == (
        Change(
            API,
            Action.REPAIR,
            reason="Drone's hook on Bitbucket is missing: Drone will rebuild it (repair)",
        ),
    )


def test_duplicates_are_repaired_and_extras_after_the_first_deleted() -> None:
    hooks = (_hook("{c}"), _hook("{a}"), _hook("{b}"))  # Bitbucket's listing order; {c} is first
    check, changes = _hook_check(
        _desired(_res(API, active=True)), _live(_repo(), drone_hooks={"acme/api": hooks})
    )
    assert check.status is CheckStatus.FAIL
    assert "duplicated (3 hooks" in check.message
    assert [(str(c.address), c.action) for c in changes] == [
        ("bitbucket_webhook:acme/api/drone#{a}", Action.DELETE),
        ("bitbucket_webhook:acme/api/drone#{b}", Action.DELETE),
        ("drone_repo:acme/api", Action.REPAIR),
    ]
    assert changes[0].handle == {"uuid": "{a}", "drone_hook": "true"}
    assert changes[0].before is not None
    assert changes[0].before["url"] == f"{SERVER}/hook?secret=***"


@pytest.mark.parametrize(
    ("overrides", "defect"),
    [
        ({"active": False}, "is inactive"),
        ({"events": RECORDED_HOOK["events"]}, "not subscribed to pullrequest:approved, "),
        ({"url": f"{SERVER}/webhook?secret={CANARY}"}, "aimed at /webhook instead of /hook"),
        ({"url": f"{SERVER}/hook"}, "missing its ?secret= signer"),
    ],
)
def test_defective_hook_is_repaired(overrides: dict[str, Any], defect: str) -> None:
    live = _live(_repo(), drone_hooks={"acme/api": (_hook("{a}", **overrides),)})
    check, changes = _hook_check(_desired(_res(API, active=True)), live)
    assert check.status is CheckStatus.FAIL
    (change,) = changes
    assert change.action is Action.REPAIR
    assert defect in change.reason
    assert change.reason.endswith(": Drone will rebuild it (repair)")


def test_recorded_fixture_hook_lists_exactly_the_missing_events() -> None:
    live = _live(_repo(), drone_hooks={"acme/api": (_as_reader("acme/api", RECORDED_HOOK),)})
    _, (change,) = _hook_check(_desired(_res(API, active=True)), live)
    assert change.reason == (
        "Drone's hook on Bitbucket is not subscribed to pullrequest:approved, "
        "pullrequest:fulfilled, pullrequest:rejected, pullrequest:unapproved: "
        "Drone will rebuild it (repair)"
    )


def test_activation_creates_the_hook() -> None:
    check, changes = _hook_check(_desired(_res(API, active=True)), _live(_repo(active=False)))
    assert (check.status, check.message) == (CheckStatus.PASS, "acme/api: created by activation")
    assert changes == ()


def test_activation_with_duplicates_deletes_all_but_the_first() -> None:
    live = _live(_repo(active=False), drone_hooks={"acme/api": (_hook("{x}"), _hook("{y}"))})
    check, changes = _hook_check(_desired(_res(API, active=True)), live)
    assert check.status is CheckStatus.FAIL
    assert [str(c.address) for c in changes] == ["bitbucket_webhook:acme/api/drone#{y}"]


@pytest.mark.parametrize(
    ("prune", "deleted"), [(Prune.MANAGED, []), (Prune.NONE, []), (Prune.ALL, ["{a}", "{b}"])]
)
def test_hooks_on_inactive_repository_warn_and_are_deleted_only_under_prune_all(
    prune: Prune, deleted: list[str]
) -> None:
    live = _live(_repo(active=False), drone_hooks={"acme/api": (_hook("{a}"), _hook("{b}"))})
    check, changes = _hook_check(_desired(_res(API), prune_webhooks=prune), live)
    assert check.status is CheckStatus.WARN
    assert "inactive in Drone but has 2 Drone hook(s)" in check.message
    assert [c.handle["uuid"] for c in changes] == deleted
    assert all(c.action is Action.DELETE for c in changes)
    if not deleted:
        assert "policy.prune.webhooks: all" in check.remedy


def test_repository_being_disabled_counts_as_inactive() -> None:
    live = _live(_repo(active=True), drone_hooks={"acme/api": (_hook("{a}"),)})
    check, changes = _hook_check(_desired(_res(API, active=False)), live)
    assert check.status is CheckStatus.WARN
    assert changes == ()


def test_undeclared_active_follows_live_state() -> None:
    check, changes = _hook_check(_desired(_res(API, config_path=".drone.yml")), _live(_repo()))
    assert check.status is CheckStatus.FAIL
    assert [c.action for c in changes] == [Action.REPAIR]


def test_repository_drone_does_not_know_is_skipped() -> None:
    check, changes = _hook_check(_desired(_res(API, active=True)), _live())
    assert check.status is CheckStatus.SKIP
    assert changes == ()


def test_hook_path_follows_a_server_under_a_sub_path() -> None:
    server = "http://127.0.0.1:8080/drone"
    hook = _hook("{a}", url=f"{server}/hook?secret={CANARY}")
    live = _live(_repo(), drone_hooks={"acme/api": (hook,)})
    check, _ = _hook_check(_desired(_res(API, active=True), server=server), live)
    assert check.status is CheckStatus.PASS


# -- oauth-consumer ----------------------------------------------------------------------------

GOOD = OAuthVerification(
    True, True, True, scopes=("account", "email", "repository", "team", "webhook")
)


def _oauth(
    resource: DesiredResource, result: OAuthVerification | None
) -> tuple[Any, tuple[Change, ...]]:
    live = _live(oauth={"drone": result} if result else {})
    outcome = run_checks(_desired(resource), live)
    (check,) = _only(outcome, "oauth-consumer")
    return check, outcome.changes


def test_verified_consumer_passes_and_asks_to_verify_the_callback_by_hand() -> None:
    check, changes = _oauth(_consumer(), GOOD)
    assert check.status is CheckStatus.PASS
    assert f"callback cannot be read through the API: verify it is {SERVER}/login" in check.message
    assert changes == ()


def test_unverified_consumer_is_skipped_with_the_reason() -> None:
    check, changes = _oauth(_consumer(), None)
    assert check.status is CheckStatus.SKIP
    assert "not verified" in check.message
    assert changes == ()


@pytest.mark.parametrize(
    ("result", "message", "step"),
    [
        (
            OAuthVerification(False, False, False, error="invalid_client"),
            "unknown key or wrong secret",
            "copy its Key into env DRONE_BITBUCKET_CLIENT_ID",
        ),
        (
            OAuthVerification(True, True, False, error="unauthorized_client"),
            "the consumer is public",
            'tick "This is a private consumer"',
        ),
        (
            OAuthVerification(True, True, True, scopes=("account", "email", "repository")),
            "scopes not granted: team, webhook",
            'tick "Workspace membership: Read", "Webhooks: Read and write"',
        ),
    ],
)
def test_consumer_failures_are_manual_changes_with_ui_steps(
    result: OAuthVerification, message: str, step: str
) -> None:
    check, (change,) = _oauth(_consumer(), result)
    assert check.status is CheckStatus.FAIL
    assert message in check.message
    assert (change.address, change.action) == (CONSUMER, Action.MANUAL)
    assert change.reason.startswith("Bitbucket has no API for OAuth consumers. ")
    assert step in change.reason
    assert change.source == Source("desired-state/workspace.yaml", 12)


def test_missing_scopes_show_as_a_field_change() -> None:
    granted = ("account", "email", "repository", "team")
    _, (change,) = _oauth(_consumer(), OAuthVerification(True, True, True, scopes=granted))
    assert change.fields == (FieldChange("scopes", granted, (*granted, "webhook")),)
    assert 'OAuth consumers > "drone" > Edit: tick "Webhooks: Read and write"' in change.reason


def test_declared_scopes_are_required_too_and_implied_scopes_count() -> None:
    declared = ("account", "email", "pullrequest", "repository", "team", "webhook")
    granted = ("account", "email", "repository:write", "team", "webhook")  # no pullrequest
    check, _ = _oauth(
        _consumer(scopes=declared), OAuthVerification(True, True, True, scopes=granted)
    )
    assert "scopes not granted: pullrequest" in check.message  # repository came with :write
    assert "granted but not declared: repository:write" in check.message


def test_extra_granted_scopes_warn_without_a_change() -> None:
    granted = (*GOOD.scopes, "pipeline")
    check, changes = _oauth(
        _consumer(scopes=GOOD.scopes), OAuthVerification(True, True, True, scopes=granted)
    )
    assert check.status is CheckStatus.WARN
    assert check.remedy.startswith('Untick "pipeline"')
    assert changes == ()


def test_declared_callback_that_is_not_drones_is_a_manual_change() -> None:
    old = "https://old-drone.acme.example/login"
    check, (change,) = _oauth(_consumer(callback_url=old), GOOD)
    assert check.status is CheckStatus.FAIL
    assert change.fields == (FieldChange("callback_url", old, f"{SERVER}/login"),)
    assert f"set Callback URL to {SERVER}/login" in change.reason


# -- drone-owner -------------------------------------------------------------------------------


def _owner_live(
    *extra: LiveResource, user_id: int = 1, caller: str = "alice", **kw: Any
) -> LiveState:
    defaults: dict[str, Any] = {
        "drone_hooks": {"acme/api": (_hook("{a}"),)},
        "drone_user_ids": {OWNER: 1, "alice": 2},
        "identity": Identity(drone_login=caller),
    }
    resources = (_repo(user_id=user_id), _user(OWNER, 1), _user("alice", 2), *extra)
    return _live(*resources, **(defaults | kw))


def _owner_checks(
    desired: DesiredState, live: LiveState, *, accounts: dict[str, str] | None = None
) -> tuple[dict[Address, Any], CheckOutcome]:
    outcome = run_checks(desired, live, accounts=accounts)
    return {c.addresses[-1]: c for c in _only(outcome, "drone-owner")}, outcome


def test_owner_that_owns_and_is_declared_admin_passes_and_is_protected() -> None:
    desired = _desired(_res(API, active=True), _res(OWNER_GRANT, permission="admin"), owner=OWNER)
    checks, outcome = _owner_checks(desired, _owner_live(), accounts={OWNER: OWNER_UUID})
    assert {c.status for c in checks.values()} == {CheckStatus.PASS}
    assert outcome.protected == {OWNER_USER, OWNER_GRANT}
    assert outcome.changes == ()


def test_wrong_owner_when_the_caller_is_the_owner_plans_a_chown() -> None:
    desired = _desired(_res(API, active=True), owner=OWNER)
    checks, outcome = _owner_checks(desired, _owner_live(user_id=2, caller=OWNER))
    assert checks[API].status is CheckStatus.FAIL
    (change,) = outcome.changes
    assert (change.address, change.action) == (API, Action.UPDATE)
    assert change.fields == (FieldChange("owner", "alice", OWNER),)
    assert change.reason == "chown: make drone-bot the owner"
    assert change.handle["id"] == 7


def test_wrong_owner_otherwise_is_a_manual_chown_by_the_owner() -> None:
    desired = _desired(_res(API, active=True), owner=OWNER)
    checks, outcome = _owner_checks(desired, _owner_live(user_id=2, caller="alice"))
    (change,) = outcome.changes
    assert change.action is Action.MANUAL
    assert "Log in to Drone as drone-bot and run `drone repo chown acme/api`" in change.reason
    assert "owned by alice, not drone-bot" in checks[API].message


def test_activation_by_someone_else_needs_a_chown_by_the_owner() -> None:
    live = _owner_live(caller="alice")
    live = replace(live, resources={**live.resources, API: _repo(active=False)})
    checks, outcome = _owner_checks(_desired(_res(API, active=True), owner=OWNER), live)
    assert "owned by alice, not drone-bot" in checks[API].message
    assert [c.action for c in outcome.changes] == [Action.MANUAL]


def test_owner_unknown_without_user_list_or_account_mapping_warns() -> None:
    live = _live(
        _repo(),
        drone_hooks={"acme/api": (_hook("{a}"),)},
        identity=Identity("x", drone_login="alice"),
    )
    checks, outcome = _owner_checks(_desired(_res(API, active=True), owner=OWNER), live)
    assert checks[OWNER_USER].status is CheckStatus.WARN
    assert checks[API].status is CheckStatus.WARN
    assert "Drone user id is unknown" in checks[API].message
    assert "no Bitbucket account known for drone-bot" in checks[API].message
    assert outcome.protected == {OWNER_USER}
    assert outcome.changes == ()


@pytest.mark.parametrize(
    ("user", "declared", "message"),
    [
        (_user(OWNER, 1, active=False), None, "drone-bot is inactive in Drone"),
        (_user(OWNER, 1), _res(OWNER_USER, machine=False, active=False), "inactive in Drone"),
        (_user(OWNER, 1, machine=True), None, "is a machine account"),
    ],
)
def test_owner_user_must_be_an_active_human(
    user: LiveResource, declared: DesiredResource | None, message: str
) -> None:
    extra = (declared,) if declared else ()
    desired = _desired(_res(API, active=True), *extra, owner=OWNER)
    live = _owner_live()
    live = replace(live, resources={**live.resources, OWNER_USER: user})
    checks, outcome = _owner_checks(desired, live)
    assert checks[OWNER_USER].status is CheckStatus.FAIL
    assert message in checks[OWNER_USER].message
    assert [(c.address, c.action) for c in outcome.changes] == [(OWNER_USER, Action.MANUAL)]


def test_owner_missing_from_drone_is_a_manual_login() -> None:
    live = _owner_live()
    resources = {a: r for a, r in live.resources.items() if a != OWNER_USER}
    live = replace(live, resources=resources, drone_user_ids={"alice": 2})
    checks, outcome = _owner_checks(_desired(_res(API, active=True), owner=OWNER), live)
    assert checks[OWNER_USER].status is CheckStatus.FAIL
    assert "logs in to Drone through Bitbucket" in outcome.changes[0].reason


def test_owner_without_admin_is_a_manual_grant() -> None:
    live = _owner_live(effective_permissions={"acme/api": {OWNER_UUID: "write"}})
    checks, outcome = _owner_checks(
        _desired(_res(API, active=True), owner=OWNER), live, accounts={OWNER: OWNER_UUID}
    )
    assert checks[API].status is CheckStatus.FAIL
    assert "drone-bot has write access on acme/api" in checks[API].message
    (change,) = outcome.changes
    assert (change.address, change.action) == (OWNER_GRANT, Action.MANUAL)
    assert change.fields == (FieldChange("permission", "write", "admin"),)


def test_owner_admin_through_a_group_passes_without_protecting_a_grant() -> None:
    live = _owner_live(effective_permissions={"acme/api": {OWNER_UUID: "admin"}})
    checks, outcome = _owner_checks(
        _desired(_res(API, active=True), owner=OWNER), live, accounts={OWNER: OWNER_UUID}
    )
    assert checks[API].status is CheckStatus.PASS
    assert "through a group or workspace role" in checks[API].message
    assert outcome.protected == {OWNER_USER}


def test_desired_state_lowering_the_owners_admin_grant_fails() -> None:
    grant = LiveResource(OWNER_GRANT, {"permission": "admin"})
    live = _owner_live(grant, effective_permissions={"acme/api": {OWNER_UUID: "admin"}})
    desired = _desired(_res(API, active=True), _res(OWNER_GRANT, permission="write"), owner=OWNER)
    checks, outcome = _owner_checks(desired, live, accounts={OWNER: OWNER_UUID})
    assert checks[API].addresses == (OWNER_GRANT, API)
    assert "drone-bot has write (declared) on acme/api" in checks[API].message
    assert [(c.address, c.action) for c in outcome.changes] == [(OWNER_GRANT, Action.MANUAL)]
    assert OWNER_GRANT in outcome.protected


def test_protected_owner_grant_makes_policy_refuse_its_pruning() -> None:
    """prune.permissions: all would delete the owner's undeclared admin grant."""
    grant = LiveResource(
        OWNER_GRANT,
        {"permission": "admin"},
        handle={"principal_type": "user", "principal": OWNER_UUID},
    )
    live = _owner_live(grant, effective_permissions={"acme/api": {OWNER_UUID: "admin"}})
    desired = _desired(_res(API, active=True), owner=OWNER)
    plan = build_plan(desired, live, Inventory(), desired_fingerprints={}, drone_admin=False)
    assert [(c.address, c.action) for c in plan.changes] == [(OWNER_GRANT, Action.DELETE)]
    outcome = run_checks(desired, live, accounts={OWNER: OWNER_UUID})
    merged = extend_plan(plan, changes=outcome.changes, checks=outcome.checks)
    verdict = check_policy(merged, desired.policy, protected=outcome.protected)
    assert not verdict.allowed
    assert any(f"{OWNER_GRANT} is protected" in r for r in verdict.reasons)
    allowed = check_policy(
        merged,
        desired.policy,
        protected=outcome.protected,
        allow_protected=frozenset({OWNER_GRANT}),
    )
    assert allowed.allowed


def test_no_owner_declared_checks_nothing() -> None:
    assert _only(run_checks(_desired(_res(API, active=True)), _owner_live()), "drone-owner") == []


# -- ignored-settings --------------------------------------------------------------------------


def test_admin_only_settings_without_admin_token_warn_per_repository() -> None:
    desired = _desired(_res(API, active=True, timeout=90, trusted=False), _res(WEB, throttle=2))
    live = _live(_repo(), _repo(WEB), identity=Identity(drone_login="alice"))
    (check,) = _only(run_checks(desired, live), "ignored-settings")
    assert check.status is CheckStatus.WARN
    assert check.addresses == (API, WEB)
    assert "acme/api (timeout 60 -> 90, trusted), acme/web (throttle 0 -> 2)" in check.message
    assert check.remedy == "use a Drone system-admin token (DRONE_TOKEN of a user with admin: true)"


@pytest.mark.parametrize(
    ("fields", "admin", "status"),
    [({"timeout": 90}, True, CheckStatus.PASS), ({"active": True}, False, CheckStatus.PASS)],
)
def test_admin_only_settings_pass_with_admin_or_when_undeclared(
    fields: dict[str, Value], admin: bool, status: CheckStatus
) -> None:
    live = _live(_repo(), identity=Identity(drone_login="root", drone_admin=admin))
    (check,) = _only(run_checks(_desired(_res(API, **fields)), live), "ignored-settings")
    assert check.status is status


# -- the whole outcome -------------------------------------------------------------------------


def _everything() -> tuple[DesiredState, LiveState]:
    unredacted = DroneHook("acme/web", "{w}", f"{SERVER}/hook?secret={CANARY}", (), False)
    desired = _desired(
        _res(API, active=True, timeout=90),
        _res(WEB, active=False),
        _consumer(callback_url="https://old.acme.example/login"),
        owner=OWNER,
        prune_webhooks=Prune.ALL,
    )
    live = _owner_live(
        _repo(WEB, user_id=2),
        user_id=2,
        oauth={"drone": OAuthVerification(True, True, True, scopes=("account",))},
        drone_hooks={
            "acme/api": (_hook("{a}"), _hook("{b}", url=f"{SERVER}/hook?secret={CANARY}x")),
            "acme/web": (unredacted,),  # pruned: even a reader bug must not leak its URL
        },
    )
    return desired, live


def test_same_input_gives_the_same_outcome_sorted() -> None:
    desired, live = _everything()
    first = run_checks(desired, live)
    shuffled = replace(desired, resources=dict(reversed(list(desired.resources.items()))))
    assert run_checks(shuffled, live) == first == run_checks(desired, live)
    keys = [(c.name, c.addresses) for c in first.checks]
    assert keys == sorted(keys)
    assert [c.address for c in first.changes] == sorted(c.address for c in first.changes)
    assert {c.name for c in first.checks} == {
        "drone-hook",
        "drone-owner",
        "ignored-settings",
        "oauth-consumer",
    }


def test_no_hook_secret_appears_in_any_rendering() -> None:
    desired, live = _everything()
    outcome = run_checks(desired, live)
    actions = {(str(c.address), c.action) for c in outcome.changes}
    assert ("drone_repo:acme/api", Action.REPAIR) in actions
    assert ("bitbucket_webhook:acme/web/drone#{w}", Action.DELETE) in actions
    plan = extend_plan(Plan(changes=()), changes=outcome.changes, checks=outcome.checks)
    doc = plan_document(plan)
    rendered = [
        dumps(doc),
        render_text(doc, color=False),
        render_text(doc, color=True),
        *render_markdown(doc),
        repr(outcome),
    ]
    for text in rendered:
        assert CANARY not in text
    assert "secret=***" in dumps(doc)


def test_activation_by_the_owner_makes_it_the_owner() -> None:
    live = _owner_live(caller=OWNER)
    live = replace(live, resources={**live.resources, API: _repo(active=False, user_id=2)})
    checks, outcome = _owner_checks(_desired(_res(API, active=True), owner=OWNER), live)
    assert "activation makes drone-bot the owner" in checks[API].message
    assert outcome.changes == ()
