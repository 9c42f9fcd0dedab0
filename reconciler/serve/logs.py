"""Structured logs for serve: one JSON object per line when stderr is not a terminal (journald,
Loki, CloudWatch parse it), a readable line otherwise.

Callers pass fields, never request bodies or headers. As a second line of defence every line is
scrubbed of the secret values serve knows (tokens, the webhook secret, secret-looking environment
values) and of URL user-info and query strings, which is where Drone's `?secret=` hides.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TextIO

_SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSWORD|PASSPHRASE|CREDENTIAL|KEY|DSN", re.IGNORECASE)
_URL_USERINFO = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s]+@", re.IGNORECASE)
_URL_QUERY = re.compile(r"(?P<url>https?://[^\s?\"']+)\?[^\s\"']*", re.IGNORECASE)
_MIN_SECRET = 6  # shorter values would mangle ordinary words without protecting anything
REDACTED = "[redacted]"


def secret_values(env: Mapping[str, str]) -> list[str]:
    """Values of variables whose names look secret (BITBUCKET_API_TOKEN, DOCKER_PASSWORD, ...)."""
    return [v for k, v in env.items() if _SECRET_NAME.search(k) and len(v) >= _MIN_SECRET]


class EventLog:
    """Thread-safe writer of log events: `log.info("apply.done", revision=..., pr=7)`."""

    def __init__(
        self,
        *,
        stream: TextIO | None = None,
        json_lines: bool | None = None,
        secrets: Iterable[str] = (),
    ) -> None:
        self._stream = stream or sys.stderr
        self._json = (not self._stream.isatty()) if json_lines is None else json_lines
        self._secrets = sorted({s for s in secrets if len(s) >= _MIN_SECRET}, key=len, reverse=True)
        self._lock = threading.Lock()

    def info(self, event: str, /, **fields: Any) -> None:
        self._write("info", event, fields)

    def warning(self, event: str, /, **fields: Any) -> None:
        self._write("warning", event, fields)

    def error(self, event: str, /, **fields: Any) -> None:
        self._write("error", event, fields)

    def _write(self, level: str, event: str, fields: Mapping[str, Any]) -> None:
        now = datetime.now(UTC).isoformat(timespec="milliseconds")
        clean = {k: v for k, v in fields.items() if v is not None}
        if self._json:
            line = json.dumps({"ts": now, "level": level, "event": event, **clean}, default=str)
        else:
            pairs = " ".join(f"{k}={_readable(v)}" for k, v in clean.items())
            line = f"{now} {level.upper():7} {event} {pairs}".rstrip()
        line = self.scrub(line)
        with self._lock:
            self._stream.write(line + "\n")
            self._stream.flush()

    def scrub(self, text: str) -> str:
        for value in self._secrets:
            text = text.replace(value, REDACTED)
        text = _URL_USERINFO.sub(r"\g<scheme>", text)
        return _URL_QUERY.sub(rf"\g<url>?{REDACTED}", text)


class _Forward(logging.Handler):
    """Routes a library's stdlib log records (waitress) into the structured log, so stderr
    stays one format (JSON lines off a TTY) and is scrubbed like everything else."""

    def __init__(self, log: EventLog) -> None:
        super().__init__(level=logging.INFO)
        self._log = log

    def emit(self, record: logging.LogRecord) -> None:
        level = "error" if record.levelno >= logging.ERROR else "warning"
        if record.levelno < logging.WARNING:
            level = "info"
        self._log._write(level, record.name, {"message": record.getMessage()})


def capture_library_logs(log: EventLog, *names: str) -> None:
    for name in names:
        logger = logging.getLogger(name)
        logger.handlers = [_Forward(log)]
        logger.propagate = False
        logger.setLevel(logging.INFO)


def _readable(value: Any) -> str:
    text = str(value)
    return json.dumps(text) if (" " in text or not text) else text
