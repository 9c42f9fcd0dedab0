"""The config-repository clone serve works from (real git repositories in tmp_path)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.errors import ReconcilerError
from reconciler.gitops import ConfigRepo, bitbucket_slug, redact_url
from tests.serve.support import ConfigGit


def test_checkout_follows_branches_and_commits_only_reachable_by_hash(
    config_git: ConfigGit, tmp_path: Path
) -> None:
    clone = ConfigRepo(str(config_git.bare), workdir=tmp_path / "clone")
    try:
        clone.fetch()
        main = clone.branch_head("main")
        assert main == config_git.head()
        checkout = clone.checkout(main, subdir="desired-state")
        assert (checkout.directory / "workspace.yaml").is_file()

        # A pull request's head that no branch points at any more (e.g. a force-push).
        config_git.edit("repos/api.yaml", "timeout: 90", "timeout: 91")
        orphan = config_git.commit("rewritten away")
        config_git.repo.git.push("origin", f"{orphan}:refs/pull/1/head")
        (checkout.directory / "stray.yaml").write_text("left behind\n")
        clone.fetch()
        at = clone.checkout(orphan, subdir="desired-state")
        assert "timeout: 91" in (at.directory / "repos" / "api.yaml").read_text()
        assert not (at.directory / "stray.yaml").exists()  # a checkout is always clean

        with pytest.raises(ReconcilerError, match="no directory 'missing'"):
            clone.checkout(main, subdir="missing")
        with pytest.raises(ReconcilerError, match="branch 'nope' not found"):
            clone.branch_head("nope")
    finally:
        clone.close()


def test_git_errors_never_show_credentials(tmp_path: Path) -> None:
    clone = ConfigRepo("http://deploy:s3cret-t0ken@127.0.0.1:9/acme/config.git", workdir=tmp_path)
    with pytest.raises(ReconcilerError) as caught:
        clone.fetch()
    assert "s3cret-t0ken" not in str(caught.value)
    assert "http://127.0.0.1:9/acme/config.git" in str(caught.value)


@pytest.mark.parametrize(
    ("url", "slug"),
    [
        ("git@bitbucket.org:acme/config.git", "acme/config"),
        ("https://bitbucket.org/acme/config.git", "acme/config"),
        ("https://x-token-auth:tok@bitbucket.org/acme/config", "acme/config"),
        ("ssh://git@bitbucket.org/acme/config.git", "acme/config"),
        ("https://git.example.com/acme/config.git", None),
        ("/srv/git/config.git", None),
    ],
)
def test_bitbucket_slug(url: str, slug: str | None) -> None:
    assert bitbucket_slug(url) == slug


def test_redact_url() -> None:
    assert redact_url("https://x-token-auth:tok@bitbucket.org/a/b.git?x=1") == (
        "https://bitbucket.org/a/b.git"
    )
    assert redact_url("git@bitbucket.org:acme/config.git") == "bitbucket.org:acme/config.git"
    assert redact_url("/srv/git/config.git") == "/srv/git/config.git"
