"""`reconciler serve` as an operator runs it: a real process, JSON logs on stderr, SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import requests

from tests.serve.support import WEBHOOK_SECRET, Box, ConfigGit, wait_until


def _serve(config_git: ConfigGit, env: dict[str, str], state: Path) -> subprocess.Popen[str]:
    args = ["serve", "--config-repo", str(config_git.bare), "--repo", "acme/config"]
    args += ["--listen", "127.0.0.1:0", "--interval", "3600"]
    return subprocess.Popen(
        [sys.executable, "-m", "reconciler.cli", *args],
        env={**env, "PATH": os.environ["PATH"], "RECONCILER_STATE": str(state)},
        stderr=subprocess.PIPE,
        text=True,
    )


def test_serve_runs_until_sigterm_and_logs_json(
    box: Box, config_git: ConfigGit, env: dict[str, str], tmp_path: Path
) -> None:
    with _serve(config_git, env, tmp_path / "state" / "state.db") as process:
        try:
            assert process.stderr is not None
            started = json.loads(process.stderr.readline())
            assert started["event"] == "serve.started" and started["repo"] == "acme/config"
            url = started["url"]
            wait_until(
                lambda: requests.get(f"{url}/healthz", timeout=5).status_code == 200,
                what="the first tick",
            )
            assert (tmp_path / "state" / "config-repo" / ".git").is_dir()  # beside the store
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=20) == 0
            lines = [json.loads(line) for line in process.stderr.read().splitlines()]
        finally:
            process.kill()
    assert [e["event"] for e in lines][-2:] == ["serve.stopping", "serve.stopped"]
    assert lines[-2]["signal"] == "SIGTERM"
    assert WEBHOOK_SECRET not in json.dumps(lines)


def test_serve_refuses_to_start_without_the_webhook_secret(
    config_git: ConfigGit, env: dict[str, str], tmp_path: Path
) -> None:
    without = {k: v for k, v in env.items() if k != "RECONCILER_WEBHOOK_SECRET"}
    with _serve(config_git, without, tmp_path / "state.db") as process:
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 1
    assert stderr.startswith("error: RECONCILER_WEBHOOK_SECRET is not set")
