"""Every expected failure is a ReconcilerError; the CLI maps each class to one exit code."""

from __future__ import annotations

from reconciler import exitcodes


class ReconcilerError(Exception):
    """An expected failure with a one-line, secret-free message for the user."""

    exit_code = exitcodes.ERROR


class ConfigError(ReconcilerError):
    """Desired state is invalid. Carries every problem found, each `path:line: message`."""

    def __init__(self, problems: list[str], *, files: int = 0) -> None:
        self.problems = problems
        self.files = files
        super().__init__("\n".join([*problems, self.summary]))

    @property
    def summary(self) -> str:
        """`2 errors in 9 files.`"""
        count = len(self.problems)
        text = f"{count} {'error' if count == 1 else 'errors'}"
        if self.files:
            text += f" in {self.files} {'file' if self.files == 1 else 'files'}"
        return text + "."


class CredentialError(ReconcilerError):
    """A credential is missing or rejected; the message names the variable to fix."""


class SecretResolutionError(ReconcilerError):
    """A `{env:…}`/`{file:…}` reference could not be resolved. Never carries the value."""


class ApiError(ReconcilerError):
    """A remote API failed. `message` never contains request bodies or headers."""

    def __init__(self, service: str, status: int | None, message: str) -> None:
        self.service = service
        self.status = status
        self.message = message
        where = f"{service} API" + (f" returned {status}" if status is not None else " failed")
        super().__init__(f"{where}: {message}")


class StalePlanError(ReconcilerError):
    """Live state moved since the plan was made."""


class LockError(ReconcilerError):
    """Another writer holds the store lock."""


class PolicyRefusal(ReconcilerError):
    """A safety gate refused the plan."""

    exit_code = exitcodes.REFUSED


class ApplyFailed(ReconcilerError):
    """Apply stopped midway; the message reports what was done, what failed, what was not tried."""
