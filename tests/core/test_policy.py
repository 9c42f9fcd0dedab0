"""Safety gates over a plan: deletion budget and protected resources."""

from __future__ import annotations

from reconciler.models.address import Address
from reconciler.models.resources import PolicySettings
from reconciler.plan import Action, Change, FieldChange, Plan
from reconciler.policy import check_policy

HOOK = Address.parse("bitbucket_webhook:acme/api/old")
CRON = Address.parse("drone_cron:acme/api/nightly")
REPO = Address.parse("drone_repo:acme/api")
USER = Address.parse("drone_user:alice")


def _plan(*changes: Change) -> Plan:
    return Plan(changes=tuple(sorted(changes, key=lambda c: c.address)))


def test_within_budget_is_allowed() -> None:
    verdict = check_policy(_plan(Change(HOOK, Action.DELETE)), PolicySettings(max_deletions=1))
    assert verdict.allowed
    assert verdict.deletions == (HOOK,)


def test_replace_counts_as_deletion_and_refusal_lists_them() -> None:
    plan = _plan(Change(HOOK, Action.DELETE), Change(CRON, Action.REPLACE))
    verdict = check_policy(plan, PolicySettings(max_deletions=1))
    assert not verdict.allowed
    assert verdict.deletions == (HOOK, CRON)
    (reason,) = verdict.reasons
    assert str(HOOK) in reason
    assert str(CRON) in reason
    assert "--allow-deletions 2" in reason


def test_allow_deletions_opens_the_gate_explicitly() -> None:
    plan = _plan(Change(HOOK, Action.DELETE), Change(CRON, Action.REPLACE))
    assert check_policy(plan, PolicySettings(max_deletions=0), allow_deletions=2).allowed
    assert not check_policy(plan, PolicySettings(max_deletions=10), allow_deletions=1).allowed


def test_protected_resource_cannot_be_disabled_unless_allowed() -> None:
    plan = _plan(Change(REPO, Action.DELETE, fields=(FieldChange("active", True, False),)))
    settings = PolicySettings()
    refused = check_policy(plan, settings, protected=frozenset({REPO}))
    assert not refused.allowed
    assert "drone_repo:acme/api is protected" in refused.reasons[0]
    allowed = check_policy(
        plan, settings, protected=frozenset({REPO}), allow_protected=frozenset({REPO})
    )
    assert allowed.allowed


def test_protected_user_deactivation_is_refused_but_other_updates_pass() -> None:
    settings = PolicySettings()
    deactivate = _plan(Change(USER, Action.UPDATE, fields=(FieldChange("active", True, False),)))
    promote = _plan(Change(USER, Action.UPDATE, fields=(FieldChange("admin", False, True),)))
    assert not check_policy(deactivate, settings, protected=frozenset({USER})).allowed
    assert check_policy(promote, settings, protected=frozenset({USER})).allowed


def test_empty_plan_is_allowed() -> None:
    verdict = check_policy(Plan(changes=()), PolicySettings(max_deletions=0))
    assert verdict.allowed
    assert verdict.reasons == ()
