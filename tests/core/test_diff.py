"""diff_fields: only declared keys, sets as sets, our own FieldChange values."""

from __future__ import annotations

from reconciler.diff import diff_fields
from reconciler.plan import FieldChange


def test_only_declared_keys_are_compared() -> None:
    assert diff_fields({"active": True}, {"active": True, "url": "https://x"}) == ()


def test_declared_key_missing_live_counts_as_none() -> None:
    assert diff_fields({"branch": "main"}, {}) == (FieldChange("branch", None, "main"),)
    assert diff_fields({"branch": None}, {}) == ()


def test_sets_ignore_order_and_repeats() -> None:
    desired = {"events": ("repo:push", "pullrequest:fulfilled", "repo:push")}
    assert diff_fields(desired, {"events": ("pullrequest:fulfilled", "repo:push")}) == ()


def test_changed_set_is_reported_sorted() -> None:
    (change,) = diff_fields({"events": ("b", "a")}, {"events": ("c",)})
    assert change == FieldChange("events", ("c",), ("a", "b"))


def test_changes_are_sorted_by_field_and_typed_as_ours() -> None:
    changes = diff_fields(
        {"visibility": "internal", "active": True, "timeout": 90},
        {"visibility": "private", "active": False, "timeout": 90},
    )
    assert [c.field for c in changes] == ["active", "visibility"]
    assert all(type(c) is FieldChange for c in changes)
    assert all(not c.sensitive for c in changes)


def test_int_and_bool_are_different_values() -> None:
    assert diff_fields({"throttle": 1}, {"throttle": True}) == (FieldChange("throttle", True, 1),)
