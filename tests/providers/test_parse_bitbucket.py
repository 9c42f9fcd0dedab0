"""Bitbucket parsers on recorded payloads (../shared/reference/bitbucket-cloud/fixtures)."""

from __future__ import annotations

import json
from typing import Any

from reconciler.errors import ApiError
from reconciler.models.address import Address, Kind
from reconciler.providers.bitbucket.read import (
    host_of,
    parse_effective_permissions,
    parse_group_permissions,
    parse_hooks,
    parse_token_error,
    parse_token_grant,
    parse_user,
    parse_user_permissions,
    redact_url,
)
from tests.conftest import shared_path

FIXTURES = ("reference", "bitbucket-cloud", "fixtures")


def load(*parts: str) -> Any:
    return json.loads(shared_path(*FIXTURES, *parts).read_text(encoding="utf-8"))


def openapi_example(api_path: str) -> Any:
    spec = json.loads(shared_path("reference", "bitbucket-cloud", "openapi.json").read_text())
    content = spec["paths"][api_path]["get"]["responses"]["200"]["content"]["application/json"]
    return content["examples"]["response"]["value"]


def test_jenkins_hooks_with_secret_set() -> None:
    single = load(
        "jenkins-bitbucket-branch-source",
        "client-payload",
        "2.0-repositories-amuniz-test-repos-hooks.json",
    )
    hooks = parse_hooks("amuniz/test-repos", [single], drone_host="drone.acme.example")
    (hook,) = hooks.resources
    assert hook.address == Address(Kind.BITBUCKET_WEBHOOK, "amuniz/test-repos/Jenkins hook")
    assert hook.fields == {
        "url": "https://jenkins.io/jenkins/bitbucket-scmsource-hook/notify",
        "events": (
            "pullrequest:created",
            "pullrequest:fulfilled",
            "pullrequest:rejected",
            "pullrequest:updated",
            "repo:push",
        ),
        "active": True,
    }
    assert hook.handle == {"uuid": "{202cf34e-7ccf-44b7-ba6b-8827a14d5324}"}
    assert hook.sensitive_set == {"secret"}
    assert hooks.drone_hooks == ()


def test_paginated_hook_listings() -> None:
    page = load(
        "jenkins-bitbucket-branch-source",
        "client-payload",
        "2.0-repositories-amuniz-test-repos-hooks_pagelen_100.json",
    )
    (hook,) = parse_hooks("amuniz/test-repos", page["values"], drone_host=None).resources
    assert hook.fields["events"] == ("repo:push",)
    assert hook.sensitive_set == frozenset()  # no secret_set in this older recording

    scm = load("drone-go-scm", "hooks.json")
    (other,) = parse_hooks(
        "atlassian/stash-example-plugin", scm["values"], drone_host=None
    ).resources
    assert str(other.address) == "bitbucket_webhook:atlassian/stash-example-plugin/example.com"
    assert other.fields["url"] == "http://example.com/webhook"


def test_drone_hooks_are_split_off_and_redacted() -> None:
    scm = load("drone-go-scm", "hooks.json")
    drone = dict(
        scm["values"][0],
        description="drone",
        url="https://CI.acme.example:443/hook?secret=s3cr3t-signer",
    )
    hooks = parse_hooks(
        "acme/api", [drone, *scm["values"]], drone_host=host_of("https://ci.acme.example")
    )
    assert [str(r.address) for r in hooks.resources] == ["bitbucket_webhook:acme/api/example.com"]
    (found,) = hooks.drone_hooks
    assert found.url == "https://CI.acme.example:443/hook?secret=***"
    assert "s3cr3t" not in repr(hooks)
    assert found.repo == "acme/api" and found.uuid == drone["uuid"]


def test_duplicate_descriptions_get_a_prunable_address() -> None:
    scm = load("drone-go-scm", "hooks.json")
    first = scm["values"][0]
    second = dict(first, uuid="{00000000-0000-4000-8000-000000000002}", url="https://x.example/")
    hooks = parse_hooks("acme/api", [first, second], drone_host=None)
    assert [r.address.id for r in hooks.resources] == [
        "acme/api/example.com",
        "acme/api/example.com#{00000000-0000-4000-8000-000000000002}",
    ]


def test_redact_url_keeps_keys_and_drops_userinfo() -> None:
    assert (
        redact_url("https://u:p@d.example/hook?secret=abc&x=1")
        == "https://d.example/hook?secret=***&x=***"
    )
    assert redact_url("https://d.example/hook") == "https://d.example/hook"
    assert host_of("HTTPS://Drone.Example:443/x") == "drone.example"
    assert host_of("http://127.0.0.1:8080/x") == "127.0.0.1:8080"
    assert host_of(None) is None


def test_explicit_permissions_from_the_spec_examples() -> None:
    groups = openapi_example("/repositories/{workspace}/{repo_slug}/permissions-config/groups")
    users = openapi_example("/repositories/{workspace}/{repo_slug}/permissions-config/users")
    parsed = parse_group_permissions("acme/geordi", groups["values"])
    assert {str(r.address): dict(r.fields) for r in parsed} == {
        "bitbucket_permission:acme/geordi/group:administrators": {"permission": "admin"},
        "bitbucket_permission:acme/geordi/group:developers": {"permission": "read"},
    }
    assert parsed[0].handle == {"principal_type": "group", "principal": "administrators"}
    parsed_users = parse_user_permissions("acme/geordi", users["values"])
    assert [r.address.id for r in parsed_users] == [
        "acme/geordi/user:{d301aafa-d676-4ee0-88be-962be7417567}",
        "acme/geordi/user:{504c3b62-8120-4f0c-a7bc-87800b9d6f70}",
    ]
    assert parsed_users[1].fields == {"permission": "write"}


def test_effective_permissions() -> None:
    perms = load("drone-go-scm", "perms.json")
    assert parse_effective_permissions(perms["values"]) == {
        "atlassian/stash-example-plugin": {"{87bb15eb-47c1-49b3-9f16-ca824a2979a4}": "admin"}
    }
    workspace = load("drone-go-scm", "workspace_repo_perms.json")
    assert parse_effective_permissions(workspace["values"], repos={"acme/other"}) == {}
    # recorded entries without user or repository carry nothing to key on
    assert (
        parse_effective_permissions(
            load("drone-go-scm", "workspace_repo_perms_read.json")["values"]
        )
        == {}
    )


def test_user_and_scope_headers() -> None:
    body = load("drone-go-scm", "user.json")
    user = parse_user(
        body, {"X-OAuth-Scopes": "webhook, repository:admin", "X-Accepted-OAuth-Scopes": "account"}
    )
    assert user.name == "brydzewski"
    assert user.uuid == "{87bb15eb-47c1-49b3-9f16-ca824a2979a4}"
    assert user.scopes == ("repository:admin", "webhook")
    assert user.accepted_scopes == ("account",)
    assert parse_user(load("atlantis", "bitbucketcloud-testdata", "user.json"), {}).scopes == ()


def test_token_grant_results() -> None:
    ok = parse_token_grant({"access_token": "t", "scopes": "repository webhook account"})
    assert (ok.exists, ok.secret_valid, ok.private) == (True, True, True)
    assert ok.scopes == ("account", "repository", "webhook")
    public = parse_token_error(
        ApiError("bitbucket", 400, "POST /x: needs private (unauthorized_client)")
    )
    assert (public.exists, public.secret_valid, public.private) == (True, True, False)
    bad = parse_token_error(ApiError("bitbucket", 401, "POST /x: bad (invalid_client)"))
    assert (bad.exists, bad.secret_valid) == (False, False)
