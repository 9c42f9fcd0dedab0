"""gitpython: the desired-state revision, and the config repository that `serve` follows.

`ConfigRepo` keeps one local clone of the config repository in a work directory that belongs to
serve alone: it is fetched before every use and checked out detached and forced, so a stray edit
can never leak into a plan. Callers run one checkout at a time (serve's single worker thread);
the returned directory is valid until the next checkout.

Git error text names the remote URL, which may carry credentials (`https://user:token@host/...`):
every error leaving this module is a ReconcilerError with the URL's user-info removed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

import git

from reconciler.errors import ReconcilerError

T = TypeVar("T")

_FULL_SHA = re.compile(r"^[0-9a-f]{40}$")
_SCP_LIKE = re.compile(r"^(?:[^@/]+@)?(?P<host>[^:/]+):(?P<path>[^/].*)$")


def revision_of(directory: Path) -> str | None:
    """The commit the directory is checked out at, `+dirty` when it has uncommitted edits;
    None outside a git repository."""
    try:
        repo = git.Repo(directory, search_parent_directories=True)
        sha = repo.head.commit.hexsha
    except (git.InvalidGitRepositoryError, git.NoSuchPathError, ValueError):
        return None
    relative = str(Path(directory).resolve().relative_to(Path(repo.working_dir).resolve()))
    dirty = repo.is_dirty(untracked_files=True, path=None if relative == "." else relative)
    return f"{sha}+dirty" if dirty else sha


def redact_url(url: str) -> str:
    """The URL without user-info or query string, safe for logs and error messages."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return url if "@" not in url.split(":", 1)[0] else url.split("@", 1)[1]
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def bitbucket_slug(url: str) -> str | None:
    """`workspace/slug` for a bitbucket.org clone URL (https or ssh), else None."""
    match = _SCP_LIKE.match(url) if "://" not in url else None
    if match:
        host, path = match["host"], match["path"]
    else:
        parts = urlsplit(url)
        host, path = parts.hostname or "", parts.path
    if host.lower() != "bitbucket.org":
        return None
    pieces = [p for p in path.strip("/").removesuffix(".git").split("/") if p]
    return "/".join(pieces) if len(pieces) == 2 else None


@dataclass(frozen=True)
class Checkout:
    """A commit of the config repository on disk: `directory` is its desired-state folder."""

    commit: str
    directory: Path


class ConfigRepo:
    """The clone serve plans and applies from. Not thread-safe: one user at a time."""

    def __init__(self, url: str, *, workdir: Path) -> None:
        self.url = url
        self.workdir = workdir
        self._repo: git.Repo | None = None

    def close(self) -> None:
        """Ends gitpython's persistent `git cat-file` helpers."""
        if self._repo is not None:
            self._repo.close()
            self._repo = None

    def fetch(self) -> None:
        """Clone on first use, then fetch every branch (pruning deleted ones)."""
        repo = self._open()
        self._git(
            lambda: repo.git.fetch("--prune", "origin", "+refs/heads/*:refs/remotes/origin/*")
        )

    def branch_head(self, branch: str) -> str:
        """The full hash of `origin/<branch>` as of the last fetch."""
        return self._resolve(f"refs/remotes/origin/{branch}", what=f"branch {branch!r}")

    def checkout(self, commit: str, *, subdir: str) -> Checkout:
        """Check out `commit` (fetching it by hash if no branch has it, e.g. a rewritten PR
        branch) and return its desired-state directory."""
        repo = self._open()
        if not _FULL_SHA.match(commit):
            raise ReconcilerError(f"config repository: {commit!r} is not a full commit hash")
        if not self._has(commit):
            self._git(lambda: repo.git.fetch("origin", commit))
        self._git(lambda: repo.git.checkout("--force", "--detach", commit))
        self._git(lambda: repo.git.clean("-ffdx"))
        directory = Path(repo.working_dir) / subdir
        if not directory.is_dir():
            raise ReconcilerError(
                f"config repository at {commit[:12]}: no directory {subdir!r} (see --dir)"
            )
        return Checkout(commit=commit, directory=directory)

    # -- helpers ---------------------------------------------------------------------------------

    def _open(self) -> git.Repo:
        if self._repo is not None:
            return self._repo
        if (self.workdir / ".git").is_dir():
            repo = git.Repo(self.workdir)
            if repo.remotes.origin.url != self.url:  # the work dir now follows a new URL
                self._git(lambda: repo.git.remote("set-url", "origin", self.url))
        else:
            self.workdir.parent.mkdir(parents=True, exist_ok=True)
            repo = self._git(lambda: git.Repo.clone_from(self.url, self.workdir, no_checkout=True))
        self._repo = repo
        return repo

    def _has(self, commit: str) -> bool:
        try:
            self._resolve(commit, what="commit")
        except ReconcilerError:
            return False
        return True

    def _resolve(self, ref: str, *, what: str) -> str:
        repo = self._open()
        try:
            sha: str = repo.git.rev_parse("--verify", "--quiet", f"{ref}^{{commit}}")
        except git.GitCommandError:
            raise ReconcilerError(f"config repository: {what} not found") from None
        return sha.strip()

    def _git(self, action: Callable[[], T]) -> T:
        try:
            return action()
        except git.GitCommandError as exc:
            detail = " ".join(str(exc.stderr or "").split())
            detail = detail.replace(self.url, redact_url(self.url))
            detail = re.sub(r"//[^/@\s]+@", "//", detail)[:300]
            raise ReconcilerError(
                f"git failed on the config repository {redact_url(self.url)}: {detail}"
            ) from None
