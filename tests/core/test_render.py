"""The canonical document and its two views: deterministic, masked, split to size."""

from __future__ import annotations

import json

import pytest

from reconciler.models.address import Address
from reconciler.models.resources import Source
from reconciler.plan import Action, Change, CheckResult, CheckStatus, FieldChange, Plan
from reconciler.render import (
    dumps,
    plan_document,
    plan_from_document,
    render_markdown,
    render_text,
)
from reconciler.render.mask import mask_text

CANARY = "canary-7f3a9c1e"


def _sample_plan() -> Plan:
    a = Address.parse
    changes = (
        Change(
            a("bitbucket_permission:acme/api/group:developers"),
            Action.UPDATE,
            fields=(FieldChange("permission", "admin", "write"),),
            before={"permission": "admin"},
            after={"permission": "write"},
            source=Source("desired-state/defaults.yaml", 3, "role developers"),
        ),
        Change(
            a("bitbucket_webhook:acme/billing/deploy-notify"),
            Action.CREATE,
            fields=(
                FieldChange("events", None, ("pullrequest:fulfilled", "repo:push")),
                FieldChange("secret", None, None, sensitive=True),
                FieldChange("url", None, f"https://hooks.acme.example/b?token={CANARY}&x=1"),
            ),
            after={
                "events": ("pullrequest:fulfilled", "repo:push"),
                "url": f"https://hooks.acme.example/b?token={CANARY}&x=1",
            },
            sensitive=("secret",),
            source=Source("desired-state/repos/billing.yaml", 6),
        ),
        Change(
            a("drone_cron:acme/api/nightly"),
            Action.REPLACE,
            fields=(FieldChange("expr", "0 0 2 * * *", "0 0 3 * * *"),),
            handle={"id": 3},
            reason="Drone cannot change a cron job's expr in place: delete and re-create",
            source=Source("desired-state/repos/api.yaml", 17),
        ),
        Change(
            a("drone_repo:acme/web"),
            Action.REPAIR,
            reason=f"Drone's hook https://drone.acme.example/hook?secret={CANARY} is missing",
        ),
        Change(
            a("drone_secret:acme/api/aws_access_key"),
            Action.UPDATE,
            fields=(FieldChange("value", None, None, sensitive=True),),
            sensitive=("value",),
            reason="value: sensitive value changed",
            source=Source("desired-state/repos/api.yaml", 14),
        ),
        Change(
            a("drone_user:bob"),
            Action.DELETE,
            before={"admin": False, "active": True},
            handle={"id": 5},
            reason="not declared (policy.prune.users: all)",
        ),
    )
    checks = (
        CheckResult(
            "oauth-consumer",
            CheckStatus.FAIL,
            (a("bitbucket_oauth_consumer:acme/drone"),),
            "callback is https://old-drone.acme.example/login",
            remedy="Workspace settings > OAuth consumers > drone > Edit.",
        ),
        CheckResult("drone-owner", CheckStatus.PASS, (), "ok"),
    )
    return Plan(
        changes=changes,
        checks=checks,
        warnings=(f"hook url https://drone.acme.example/hook?secret={CANARY} seen",),
        revision="abc1234",
        live_fingerprint="sha256:00",
        api_calls={"drone": 4, "bitbucket": 19},
    )


def test_document_is_deterministic_and_canonical() -> None:
    first = dumps(plan_document(_sample_plan()))
    second = dumps(plan_document(_sample_plan()))
    assert first == second
    assert first.endswith("}\n")
    doc = json.loads(first)
    assert doc["format_version"] == 1
    assert doc["summary"] == {
        "create": 1,
        "update": 2,
        "delete": 1,
        "replace": 1,
        "repair": 1,
        "manual": 0,
    }
    assert list(doc) == sorted(doc)
    assert first.splitlines()[1].startswith('  "api_calls"')


def test_document_layout_of_a_change() -> None:
    doc = plan_document(_sample_plan())
    hook = doc["changes"][1]
    assert set(hook) == {
        "address",
        "kind",
        "action",
        "fields",
        "before",
        "after",
        "handle",
        "sensitive",
        "reason",
        "source",
    }
    assert hook["kind"] == "bitbucket_webhook"
    assert hook["source"] == {"file": "desired-state/repos/billing.yaml", "line": 6, "via": None}
    secret = next(f for f in hook["fields"] if f["field"] == "secret")
    assert secret == {"field": "secret", "before": None, "after": "(sensitive)", "sensitive": True}
    value = doc["changes"][4]["fields"][0]
    assert value["after"] == "(sensitive value changed)"
    assert set(doc["checks"][0]) == {"name", "status", "addresses", "message", "remedy"}


def test_canaries_never_appear_in_any_view() -> None:
    doc = plan_document(_sample_plan())
    outputs = [
        dumps(doc),
        render_text(doc, color=False),
        render_text(doc, color=True),
        *render_markdown(doc),
        *render_markdown(doc, limit=600),
    ]
    for output in outputs:
        assert CANARY not in output
    assert "token=***&x=1" in outputs[0]
    assert "secret=***" in outputs[1]


def test_mask_text_keeps_harmless_parameters() -> None:
    url = "https://drone.example/hook?page=2&access_token=abc&signature=def&api_key=ghi"
    assert mask_text(f"see {url} now") == (
        "see https://drone.example/hook?page=2&access_token=***&signature=***&api_key=*** now"
    )
    assert mask_text("no url here ?secret=x") == "no url here ?secret=x"


def test_document_round_trips_into_a_plan() -> None:
    plan = _sample_plan()
    doc = plan_document(plan)
    loaded = plan_from_document(json.loads(dumps(doc)))
    assert dumps(plan_document(loaded)) == dumps(doc)
    assert loaded.changes[0] == plan.changes[0]
    assert loaded.changes[1].fields[1] == FieldChange("secret", None, None, sensitive=True)
    assert loaded.changes[1].after is not None
    assert loaded.changes[1].after["events"] == ("pullrequest:fulfilled", "repo:push")


def test_other_format_versions_are_refused_clearly() -> None:
    doc = plan_document(_sample_plan())
    with pytest.raises(ValueError, match=r"format_version 2.*reads format_version 1"):
        plan_from_document({**doc, "format_version": 2})
    with pytest.raises(ValueError, match="not a valid plan document"):
        plan_from_document({"format_version": 1})


def test_text_view_reads_like_a_terraform_plan() -> None:
    text = render_text(plan_document(_sample_plan()), color=False)
    lines = text.splitlines()
    assert lines[0].startswith("  ~ bitbucket_permission:acme/api/group:developers")
    assert lines[0].endswith("(desired-state/defaults.yaml:3, role developers)")
    assert '      permission: "admin" -> "write"' in lines
    assert "      events: [pullrequest:fulfilled, repo:push]" in lines
    assert "      secret: (sensitive)" in lines
    assert "      value: (sensitive value changed)" in lines
    assert any(line.startswith("-/+ drone_cron:acme/api/nightly") for line in lines)
    assert any(line.startswith("  ↻ drone_repo:acme/web") for line in lines)
    assert "      admin: false" in lines
    assert any(line.startswith("Check oauth-consumer failed:") for line in lines)
    assert not any("drone-owner" in line for line in lines)
    assert lines[-1] == ("Plan: 1 to add, 2 to change, 1 to destroy, 1 to replace, 1 to repair.")


def test_no_colour_codes_unless_asked() -> None:
    doc = plan_document(_sample_plan())
    assert "\x1b[" not in render_text(doc, color=False)
    assert "\x1b[32m" in render_text(doc, color=True)


def test_empty_plan_says_so() -> None:
    doc = plan_document(Plan(changes=()))
    assert render_text(doc, color=False) == "No changes. Live state matches desired state.\n"
    (comment,) = render_markdown(doc, header="### reconciler")
    assert comment == "### reconciler\n\nNo changes. Live state matches desired state.\n"


def test_markdown_has_summary_then_one_diff_block_per_resource() -> None:
    (comment,) = render_markdown(plan_document(_sample_plan()), header="### reconciler plan")
    assert comment.startswith("### reconciler plan\n\n**Plan:** 1 to add")
    assert comment.count("```diff") == 6
    assert '-     permission: "admin"\n+     permission: "write"' in comment
    assert "+ create bitbucket_webhook:acme/billing/deploy-notify" in comment


def test_markdown_splits_at_resource_boundaries_within_the_limit() -> None:
    doc = plan_document(_sample_plan())
    header = "### reconciler plan"
    parts = render_markdown(doc, limit=700, header=header)
    assert len(parts) > 1
    for number, part in enumerate(parts, start=1):
        assert len(part) <= 700
        assert part.startswith(header)
        assert f"**Part {number} of {len(parts)}**" in part
        assert part.count("```") % 2 == 0  # every block closed in the part that opened it
    joined = "".join(parts)
    for change in doc["changes"]:
        assert joined.count(f" {change['address']}") == 1


def test_markdown_truncates_a_single_oversized_resource() -> None:
    big = Change(
        Address.parse("bitbucket_webhook:acme/api/huge"),
        Action.CREATE,
        fields=tuple(FieldChange(f"f{i:03}", None, "x" * 40) for i in range(100)),
    )
    parts = render_markdown(plan_document(Plan(changes=(big,))), limit=1000)
    (part,) = parts
    assert len(part) <= 1000
    assert "truncated" in part
    assert part.rstrip().endswith("```")


def test_markdown_fences_in_values_cannot_close_the_block() -> None:
    change = Change(
        Address.parse("drone_repo:acme/api"),
        Action.UPDATE,
        fields=(FieldChange("config_path", "a", "```evil"),),
    )
    (comment,) = render_markdown(plan_document(Plan(changes=(change,))))
    assert comment.count("```") == 2
