"""Safety gates: pure checks over a Plan. Nothing here talks to an API or reads a flag by itself;
the CLI opens a gate explicitly (`--allow-deletions N`) and maps a refusal to exit code 3."""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.models.address import Address
from reconciler.models.resources import PolicySettings
from reconciler.plan import Action, Change, Plan

_DESTRUCTIVE = frozenset({Action.DELETE, Action.REPLACE})


@dataclass(frozen=True)
class PolicyVerdict:
    allowed: bool
    reasons: tuple[str, ...] = ()
    deletions: tuple[Address, ...] = ()


def deletions(plan: Plan) -> tuple[Address, ...]:
    """Addresses a plan deletes: `replace` counts, since the object is gone between the delete
    and the create (a failed create leaves it deleted)."""
    return tuple(c.address for c in plan.changes if c.action in _DESTRUCTIVE)


def check_policy(
    plan: Plan,
    settings: PolicySettings,
    *,
    allow_deletions: int | None = None,
    protected: frozenset[Address] = frozenset(),
    allow_protected: frozenset[Address] = frozenset(),
) -> PolicyVerdict:
    """Refuse a plan that deletes more than allowed, or deletes/deactivates a protected resource
    that was not explicitly allowed. `allow_deletions` replaces `settings.max_deletions`."""
    removed = deletions(plan)
    limit = settings.max_deletions if allow_deletions is None else allow_deletions
    reasons: list[str] = []
    if len(removed) > limit:
        where = "--allow-deletions" if allow_deletions is not None else "policy.max_deletions"
        listing = ", ".join(str(a) for a in removed)
        reasons.append(
            f"the plan deletes {len(removed)} resources, more than {where} = {limit}: {listing}. "
            f"Review them, then re-run with --allow-deletions {len(removed)}."
        )
    for change in plan.changes:
        if change.address in protected and change.address not in allow_protected:
            verb = _destroys(change)
            if verb:
                reasons.append(
                    f"{change.address} is protected and the plan would {verb} it; "
                    "allow it explicitly to proceed."
                )
    return PolicyVerdict(allowed=not reasons, reasons=tuple(reasons), deletions=removed)


def _destroys(change: Change) -> str:
    """What a change does to its object that a protection forbids ('' when harmless)."""
    if change.action is Action.DELETE:
        return "delete or disable"
    if change.action is Action.REPLACE:
        return "delete and re-create"
    deactivated = any(
        f.field == "active" and f.before is True and f.after is False for f in change.fields
    )
    return "deactivate" if deactivated else ""
