"""The loader and schema on plain files: every rule of DESIGN section 3, errors with file:line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from reconciler.errors import ConfigError
from reconciler.loader import load_desired
from reconciler.models.address import Address, Kind

BASE = """
version: 1
bitbucket: {workspace: acme}
drone: {server: "https://drone.acme.example"}
roles:
  devs: {permission: write, groups: [developers]}
  admins: {permission: admin, groups: [ci-admins]}
"""


def tree(tmp: Path, files: dict[str, str]) -> Path:
    root = tmp / "desired-state"
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return root


def problems(tmp: Path, files: dict[str, str]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_desired(tree(tmp, files))
    return caught.value.problems


def one_problem(tmp: Path, repo_yaml: str) -> str:
    found = problems(tmp, {"workspace.yaml": BASE, "repos/api.yaml": repo_yaml})
    assert len(found) == 1, found
    return found[0]


def test_example_directory_is_valid(tmp_path: Path) -> None:
    from tests.conftest import EXAMPLE

    state = load_desired(EXAMPLE)
    kinds = {a.kind for a in state.resources}
    assert kinds == set(Kind), "the example declares every kind"
    assert len(state.repositories) >= 6
    assert state.workspace == "acme"


def test_duplicate_key_in_one_file_names_both_lines(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        {"workspace.yaml": BASE, "repos/api.yaml": "repositories:\n  api: {}\n  api: {}\n"},
    )
    assert any("repos/api.yaml:3: repositories.api: duplicate key" in p for p in found), found
    assert any("first defined at line 2" in p for p in found)


def test_entry_in_two_files_names_both_places(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        {
            "workspace.yaml": BASE,
            "repos/a.yaml": "repositories:\n  api: {roles: [devs]}\n",
            "repos/b.yaml": "repositories:\n  api: {roles: [admins]}\n",
        },
    )
    assert len(found) == 1
    assert "repos/b.yaml:2: repositories.api: already defined at" in found[0]
    assert "repos/a.yaml:2" in found[0]


def test_setting_in_two_files_is_an_error(tmp_path: Path) -> None:
    found = problems(
        tmp_path, {"workspace.yaml": BASE, "other.yaml": "bitbucket: {workspace: other}\n"}
    )
    assert len(found) == 1 and "bitbucket.workspace: already defined at" in found[0]


def test_sections_merge_across_files(tmp_path: Path) -> None:
    state = load_desired(
        tree(
            tmp_path,
            {
                "workspace.yaml": BASE,
                "repos/a.yaml": "version: 1\nrepositories:\n  api: {roles: [devs]}\n",
                "repos/b.yaml": "repositories:\n  web: {roles: [admins]}\n",
            },
        )
    )
    assert state.repositories == ("api", "web")


def test_unknown_key_has_line_and_suggestion(tmp_path: Path) -> None:
    message = one_problem(tmp_path, "repositories:\n  api:\n    drone:\n      timout: 5\n")
    assert message.startswith(str(tmp_path / "desired-state/repos/api.yaml") + ":4: ")
    assert "repositories.api.drone.timout: unknown key (did you mean 'timeout'?)" in message


def test_wrong_type(tmp_path: Path) -> None:
    message = one_problem(tmp_path, "repositories:\n  api:\n    drone:\n      timeout: soon\n")
    assert ":4: repositories.api.drone.timeout:" in message and "integer" in message


def test_five_field_cron_says_drone_wants_seconds(tmp_path: Path) -> None:
    message = one_problem(
        tmp_path,
        """
        repositories:
          api:
            drone:
              cron:
                nightly: {expr: "0 2 * * *", branch: main}
        """,
    )
    assert ":5: repositories.api.drone.cron.nightly.expr:" in message
    assert "5 fields" in message and "seconds" in message and "'0 0 2 * * *'" in message


@pytest.mark.parametrize(
    ("expr", "ok"),
    [
        ("0 0 2 * * *", True),
        ("@daily", True),
        ("@every 1h30m", True),
        ("0 */5 * * * *", True),
        ("0 30 6 * * mon-fri", True),
        ("0 0 25 * * *", False),
        ("@fortnightly", False),
        ("0 0 2 * *", False),
        ("0 0 2 * * * *", False),
    ],
)
def test_cron_expressions(tmp_path: Path, expr: str, ok: bool) -> None:
    files = {
        "workspace.yaml": BASE,
        "repos/api.yaml": f'repositories:\n  api:\n    drone:\n      cron:\n        c: {{expr: "{expr}", branch: main}}\n',
    }
    if ok:
        load_desired(tree(tmp_path, files))
    else:
        assert problems(tmp_path, files)


def test_cron_name_drone_would_rewrite_shows_rewritten_form(tmp_path: Path) -> None:
    message = one_problem(
        tmp_path,
        'repositories:\n  api:\n    drone:\n      cron:\n        "Nightly Build": {expr: "@daily", branch: main}\n',
    )
    assert "'nightly-build'" in message and "differ forever" in message


def test_bad_event_key_suggests(tmp_path: Path) -> None:
    message = one_problem(
        tmp_path,
        "repositories:\n  api:\n    webhooks:\n      n: {url: 'https://x.example/h', events: [repo:pushed]}\n",
    )
    assert "'repo:pushed' is not a Bitbucket webhook event (did you mean 'repo:push'?)" in message


def test_literal_secret_is_rejected_with_how_to(tmp_path: Path) -> None:
    message = one_problem(
        tmp_path,
        "repositories:\n  api:\n    drone:\n      secrets:\n        token: {value: hunter2-canary}\n",
    )
    assert "cannot be a literal" in message and "{env: NAME}" in message
    assert "hunter2-canary" not in message


@pytest.mark.parametrize(
    ("snippet", "needle"),
    [
        ("drone: {visibility: secret}", "visibility"),
        ("permissions: {groups: {qa: owner}}", "permissions.groups.qa"),
        ("webhooks: {n: {url: /relative, events: [repo:push]}}", "absolute http(s) URL"),
        (
            "drone: {secrets: {k: {value: {env: K, version: 0}}}}",
            "version",
        ),
        ("drone: {secrets: {'bad name': {value: {env: K}}}}", "Drone secret name"),
        ("drone: {secrets: {k: {value: {env: K, file: /x}}}}", "exactly one of env or file"),
        ("permissions: {users: {bob: read}}", "Bitbucket account id"),
    ],
)
def test_schema_rules(tmp_path: Path, snippet: str, needle: str) -> None:
    message = one_problem(tmp_path, f"repositories:\n  api:\n    {snippet}\n")
    assert needle in message
    assert "repos/api.yaml:3:" in message


def test_undefined_role_lists_defined(tmp_path: Path) -> None:
    message = one_problem(tmp_path, "repositories:\n  api:\n    roles: [devs, maintainer]\n")
    assert (
        ":3: repositories.api.roles.1: 'maintainer' is not defined (defined: admins, devs)"
        in message
    )


def test_all_errors_are_reported_at_once(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        {
            "workspace.yaml": BASE,
            "repos/api.yaml": "repositories:\n  api:\n    drone: {visibility: x, timeout: -1}\n",
            "repos/web.yaml": "repositories:\n  web:\n    wat: 1\n",
        },
    )
    assert len(found) == 3


def test_invalid_yaml_names_line(tmp_path: Path) -> None:
    found = problems(
        tmp_path, {"workspace.yaml": BASE, "repos/api.yaml": "repositories:\n  api: [\n"}
    )
    assert len(found) == 1 and "repos/api.yaml:" in found[0] and "invalid YAML" in found[0]


def test_drone_settings_without_drone_server(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        {
            "workspace.yaml": "version: 1\nbitbucket: {workspace: acme}\n",
            "repos/api.yaml": "repositories:\n  api:\n    drone: {active: true}\n",
        },
    )
    assert found == [
        f"{tmp_path / 'desired-state/repos/api.yaml'}:3: repositories.api.drone: "
        "drone.server is required when any drone section is used"
    ]


def test_defaults_merge_repository_wins_and_null_removes(tmp_path: Path) -> None:
    state = load_desired(
        tree(
            tmp_path,
            {
                "workspace.yaml": BASE,
                "defaults.yaml": "defaults:\n  roles: [devs]\n  drone: {active: true, timeout: 60, trusted: false}\n",
                "repos/api.yaml": "repositories:\n  api:\n    drone: {timeout: 90, trusted: null}\n  web:\n",
            },
        )
    )
    api = state.resources[Address(Kind.DRONE_REPO, "acme/api")]
    assert dict(api.fields) == {"active": True, "timeout": 90}
    assert api.source.file.endswith("repos/api.yaml") and api.source.via is None
    web = state.resources[Address(Kind.DRONE_REPO, "acme/web")]
    assert dict(web.fields) == {"active": True, "timeout": 60, "trusted": False}
    assert web.source.file.endswith("defaults.yaml") and web.source.via == "defaults"
    grant = state.resources[Address(Kind.BITBUCKET_PERMISSION, "acme/web/group:developers")]
    assert grant.source.via == "defaults, role devs"
    assert "acme/web" in state.scopes["bitbucket_permission"]


def test_highest_role_wins_and_explicit_permission_overrides(tmp_path: Path) -> None:
    state = load_desired(
        tree(
            tmp_path,
            {
                "workspace.yaml": BASE + "  both: {permission: read, groups: [developers, qa]}\n",
                "repos/api.yaml": "repositories:\n  api:\n    roles: [both, devs]\n    permissions: {groups: {qa: admin}}\n",
            },
        )
    )
    fields = {str(a): r.fields["permission"] for a, r in state.resources.items()}
    assert fields == {
        "bitbucket_permission:acme/api/group:developers": "write",
        "bitbucket_permission:acme/api/group:qa": "admin",
    }


def test_oauth_callback_defaults_to_drone_login(tmp_path: Path) -> None:
    state = load_desired(
        tree(
            tmp_path,
            {
                "workspace.yaml": BASE
                + "oauth_consumers:\n  drone: {client_id: {env: A}, client_secret: {env: B}}\n",
            },
        )
    )
    consumer = state.resources[Address(Kind.BITBUCKET_OAUTH_CONSUMER, "acme/drone")]
    assert consumer.fields == {"callback_url": "https://drone.acme.example/login"}
    assert set(consumer.sensitive) == {"client_id", "client_secret"}


def test_not_a_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_desired(tmp_path / "missing")
    assert "not a directory" in caught.value.problems[0]
