"""Field-level comparison of one desired resource against its live record.

This is the only module that imports deepdiff; callers get our own `FieldChange` values, so the
rest of the code never depends on deepdiff's result shapes.
"""

from __future__ import annotations

from collections.abc import Mapping

from deepdiff import DeepDiff

from reconciler.models.resources import Value
from reconciler.plan import FieldChange, normalise

__all__ = ["diff_fields"]


def diff_fields(desired: Mapping[str, Value], live: Mapping[str, Value]) -> tuple[FieldChange, ...]:
    """The fields whose declared value differs from live, sorted by name.

    Only keys the desired side declares are compared ("unset means unmanaged"); a declared key
    absent live counts as live `None`.
    """
    wanted = {name: normalise(value) for name, value in desired.items()}
    current = {name: normalise(live.get(name)) for name in desired}
    result = DeepDiff(current, wanted, ignore_order=False, verbose_level=0)
    changed = {str(key) for key in result.affected_root_keys}
    return tuple(
        FieldChange(field=name, before=current[name], after=wanted[name])
        for name in sorted(changed)
    )
