"""The reconciler's own state, in one SQLite file: inventory of what it created, keyed fingerprints
of the write-only values it wrote, an audit log of runs, PR comment ids, and the writer lock.

Secret values are never stored: only HMAC-SHA256 fingerprints under a key that is either given
(RECONCILER_FINGERPRINT_KEY) or generated once per store and kept in `settings`.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from reconciler.errors import LockError, ReconcilerError
from reconciler.models.address import Address
from reconciler.models.resources import Inventory

# Each step runs once, in order; the schema version is the number of steps applied. Never edit
# a released step: append a new one.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE inventory (address TEXT PRIMARY KEY, created_at TEXT NOT NULL);
    CREATE TABLE fingerprints (key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL);
    CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
    """
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        revision TEXT,
        plan_hash TEXT NOT NULL,
        status TEXT NOT NULL
    );
    CREATE TABLE run_results (
        run_id INTEGER NOT NULL REFERENCES runs(id),
        seq INTEGER NOT NULL,
        address TEXT NOT NULL,
        action TEXT NOT NULL,
        status TEXT NOT NULL,
        message TEXT NOT NULL,
        PRIMARY KEY (run_id, seq)
    );
    """,
    """
    CREATE TABLE pr_comments (
        repo TEXT NOT NULL,
        pr INTEGER NOT NULL,
        comment_ids TEXT NOT NULL,
        PRIMARY KEY (repo, pr)
    );
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


@dataclass(frozen=True)
class RunResult:
    address: str
    action: str
    status: str
    message: str


@dataclass(frozen=True)
class Run:
    id: int
    started_at: str
    finished_at: str | None
    revision: str | None
    plan_hash: str
    status: str
    results: tuple[RunResult, ...]


class Store:
    """One open state store. Use `Store.open`; `close` (or `with`) releases the connection."""

    def __init__(self, path: Path, conn: sqlite3.Connection, key: bytes) -> None:
        self.path = path
        self._conn = conn
        self._key = key
        self._mutex = threading.Lock()  # serve's threads share one connection

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, fingerprint_key: bytes | None = None) -> Store:
        """Open (creating parent directories and the file) and migrate to the current schema."""
        where = Path(path)
        where.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = sqlite3.connect(where, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA busy_timeout = 5000")
            migrate(conn, where)
            key = fingerprint_key or _stored_key(conn)
        except sqlite3.Error as exc:
            raise ReconcilerError(f"cannot open the state store {where}: {exc}") from None
        return cls(where, conn, key)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # --- fingerprints and inventory ---------------------------------------------------------

    def fingerprint(self, value: str, version: int | None) -> str:
        """Keyed, so the store alone does not let anyone test guesses of a secret; the version
        is mixed in so that bumping it changes the fingerprint (a forced rotation)."""
        label = "-" if version is None else str(version)
        message = f"v{label}\x00{value}".encode()
        return "hmac-sha256:" + hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def inventory(self) -> Inventory:
        with self._mutex:
            created = self._conn.execute("SELECT address FROM inventory").fetchall()
            prints = self._conn.execute("SELECT key, fingerprint FROM fingerprints").fetchall()
        return Inventory(
            created=frozenset(Address.parse(row[0]) for row in created),
            fingerprints={str(key): str(fp) for key, fp in sorted(prints)},
        )

    def record_created(self, address: Address) -> None:
        self._write(
            "INSERT OR IGNORE INTO inventory (address, created_at) VALUES (?, ?)",
            (str(address), _now()),
        )

    def forget(self, address: Address) -> None:
        """After a delete: drop the object from the inventory and its fingerprints."""
        with self._mutex, _transaction(self._conn):
            self._conn.execute("DELETE FROM inventory WHERE address = ?", (str(address),))
            self._conn.execute(
                "DELETE FROM fingerprints WHERE substr(key, 1, ?) = ?",
                (len(str(address)) + 1, f"{address}#"),
            )

    def record_fingerprint(self, key: str, fingerprint: str) -> None:
        if not fingerprint.startswith("hmac-sha256:"):
            raise ValueError("only fingerprints made by Store.fingerprint may be recorded")
        self._write(
            "INSERT INTO fingerprints (key, fingerprint) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET fingerprint = excluded.fingerprint",
            (key, fingerprint),
        )

    # --- audit log --------------------------------------------------------------------------

    def start_run(self, *, revision: str | None, plan_hash: str) -> int:
        with self._mutex:
            cursor = self._conn.execute(
                "INSERT INTO runs (started_at, revision, plan_hash, status) "
                "VALUES (?, ?, ?, 'running')",
                (_now(), revision, plan_hash),
            )
        if cursor.lastrowid is None:  # pragma: no cover - sqlite always sets it on INSERT
            raise ReconcilerError("the state store did not return a run id")
        return cursor.lastrowid

    def record_result(
        self, run_id: int, *, address: Address | str, action: str, status: str, message: str
    ) -> None:
        self._write(
            "INSERT INTO run_results (run_id, seq, address, action, status, message) "
            "VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM run_results WHERE run_id = ?), "
            "?, ?, ?, ?)",
            (run_id, run_id, str(address), action, status, message),
        )

    def finish_run(self, run_id: int, *, status: str) -> None:
        self._write(
            "UPDATE runs SET finished_at = ?, status = ? WHERE id = ?", (_now(), status, run_id)
        )

    def runs(self, limit: int = 20) -> tuple[Run, ...]:
        """The latest runs, newest first, with their per-change results."""
        with self._mutex:
            rows = self._conn.execute(
                "SELECT id, started_at, finished_at, revision, plan_hash, status FROM runs "
                "ORDER BY id DESC LIMIT ?",
                (limit,),
            ).fetchall()
            results = {
                row[0]: self._conn.execute(
                    "SELECT address, action, status, message FROM run_results "
                    "WHERE run_id = ? ORDER BY seq",
                    (row[0],),
                ).fetchall()
                for row in rows
            }
        return tuple(
            Run(
                id=int(row[0]),
                started_at=str(row[1]),
                finished_at=row[2],
                revision=row[3],
                plan_hash=str(row[4]),
                status=str(row[5]),
                results=tuple(RunResult(*r) for r in results[row[0]]),
            )
            for row in rows
        )

    # --- pull-request comments --------------------------------------------------------------

    def comment_ids(self, repo: str, pr: int) -> tuple[int, ...]:
        with self._mutex:
            row = self._conn.execute(
                "SELECT comment_ids FROM pr_comments WHERE repo = ? AND pr = ?", (repo, pr)
            ).fetchone()
        return tuple(int(i) for i in json.loads(row[0])) if row else ()

    def set_comment_ids(self, repo: str, pr: int, ids: tuple[int, ...] | list[int]) -> None:
        self._write(
            "INSERT INTO pr_comments (repo, pr, comment_ids) VALUES (?, ?, ?) "
            "ON CONFLICT (repo, pr) DO UPDATE SET comment_ids = excluded.comment_ids",
            (repo, pr, json.dumps([int(i) for i in ids])),
        )

    # --- writer lock ------------------------------------------------------------------------

    @contextmanager
    def writer_lock(self) -> Iterator[None]:
        """One writer at a time (serve, or an operator's apply): fail fast, never queue, so two
        applies cannot interleave their writes against the same systems."""
        lock_path = Path(f"{self.path}.lock")
        handle = lock_path.open("a+")
        try:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "unknown"
                raise LockError(
                    f"another reconciler apply holds the lock on {self.path} (pid {holder})"
                ) from None
            handle.seek(0)
            handle.truncate()
            handle.write(str(os.getpid()))
            handle.flush()
            try:
                yield
            finally:
                handle.seek(0)
                handle.truncate()
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        finally:
            handle.close()

    def _write(self, sql: str, params: tuple[object, ...]) -> None:
        with self._mutex:
            self._conn.execute(sql, params)


def migrate(conn: sqlite3.Connection, where: Path) -> int:
    """Apply the migration steps this database has not seen yet; returns the schema version."""
    conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    current = int(row[0]) if row and row[0] is not None else 0
    if current > SCHEMA_VERSION:
        raise ReconcilerError(
            f"the state store {where} has schema version {current}, newer than this reconciler "
            f"supports ({SCHEMA_VERSION}); upgrade reconciler"
        )
    for version in range(current + 1, SCHEMA_VERSION + 1):
        with _transaction(conn):
            for statement in _statements(MIGRATIONS[version - 1]):
                conn.execute(statement)
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
    return SCHEMA_VERSION


def _statements(script: str) -> list[str]:
    """Split a migration script; executescript would commit on its own and break atomicity."""
    return [s.strip() for s in script.split(";") if s.strip()]


@contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _stored_key(conn: sqlite3.Connection) -> bytes:
    """The per-store fingerprint key, generated on first open."""
    with _transaction(conn):
        row = conn.execute("SELECT value FROM settings WHERE name = 'fingerprint_key'").fetchone()
        if row is None:
            value = secrets.token_hex(32)
            conn.execute(
                "INSERT INTO settings (name, value) VALUES ('fingerprint_key', ?)", (value,)
            )
            return bytes.fromhex(value)
    return bytes.fromhex(str(row[0]))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
