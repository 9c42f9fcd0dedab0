"""`reconciler validate` and `reconciler schema` as a user runs them: a real process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from reconciler.loader import load_document
from tests.conftest import EXAMPLE


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reconciler.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
        env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1"},
    )


def test_validate_example_prints_counts() -> None:
    result = run("validate", str(EXAMPLE))
    assert result.returncode == 0, result.stderr
    assert "valid (7 repositories;" in result.stdout
    assert "21 bitbucket_permission" in result.stdout and "4 drone_user" in result.stdout


def test_validate_defaults_to_desired_state_dir() -> None:
    result = run("validate", cwd=EXAMPLE.parent)
    assert result.returncode == 0 and result.stdout.startswith("desired-state: valid")


def test_validate_errors_exit_1_without_traceback(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "version: 1\nbitbucket: {workspace: acme}\nrepositories:\n  api: {roles: [nope]}\n  api: {}\n"
    )
    result = run("validate", str(tmp_path))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[-1] == "2 errors in 1 file."
    assert all(line.startswith(str(tmp_path / "a.yaml") + ":") for line in lines[:-1])


def test_validate_needs_no_credentials_or_network() -> None:
    # The environment above holds no token at all; validation still succeeds.
    assert run("validate", str(EXAMPLE)).returncode == 0


def test_schema_accepts_the_example_and_rejects_unknown_keys() -> None:
    result = run("schema")
    assert result.returncode == 0
    schema = json.loads(result.stdout)
    _, located = load_document(EXAMPLE)
    jsonschema.validate(located.data, schema)
    broken = dict(located.data, surprise=True)
    with pytest.raises(jsonschema.ValidationError, match="surprise"):
        jsonschema.validate(broken, schema)


def test_schema_validates_each_file_as_written() -> None:
    # yaml-language-server checks one file at a time: each example file must pass on its own.
    schema = json.loads(run("schema").stdout)
    assert "required" not in schema
    for path in sorted(EXAMPLE.rglob("*.yaml")):
        jsonschema.validate(yaml.safe_load(path.read_text()), schema)
