"""The SQLite state store: migrations, fingerprints, inventory, audit, PR comments, writer lock."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
from contextlib import closing
from pathlib import Path

import pytest

from reconciler.errors import LockError, ReconcilerError
from reconciler.models.address import Address
from reconciler.store import MIGRATIONS, SCHEMA_VERSION, Store

CANARY = "canary-secret-5d1e0b77"
HOOK = Address.parse("bitbucket_webhook:acme/api/deploy-notify")


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "nested" / "dir" / "state.db"


def _versions(path: Path) -> list[int]:
    with closing(sqlite3.connect(path)) as conn:
        return [row[0] for row in conn.execute("SELECT version FROM schema_version ORDER BY 1")]


def test_open_creates_parent_dirs_and_applies_every_migration_once(db: Path) -> None:
    with Store.open(db):
        pass
    with Store.open(db):
        pass
    assert db.is_file()
    assert _versions(db) == list(range(1, SCHEMA_VERSION + 1))


def test_an_older_schema_is_migrated_and_keeps_its_data(db: Path) -> None:
    db.parent.mkdir(parents=True)
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    conn.executescript(MIGRATIONS[0])
    conn.execute("INSERT INTO schema_version VALUES (1)")
    conn.execute("INSERT INTO inventory VALUES (?, '2024-01-01T00:00:00+00:00')", (str(HOOK),))
    conn.commit()
    conn.close()
    with Store.open(db, fingerprint_key=b"k") as store:
        assert store.inventory().created == frozenset({HOOK})
        run = store.start_run(revision="r1", plan_hash="sha256:1")
        assert run == 1
    assert _versions(db) == list(range(1, SCHEMA_VERSION + 1))


def test_a_newer_schema_is_refused(db: Path) -> None:
    with Store.open(db):
        pass
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION + 1,))
    with pytest.raises(ReconcilerError, match="newer than this reconciler supports"):
        Store.open(db)


def test_fingerprints_are_keyed_versioned_and_stable(db: Path) -> None:
    with Store.open(db) as store:
        first = store.fingerprint(CANARY, 1)
        assert first.startswith("hmac-sha256:")
        assert CANARY not in first
        assert store.fingerprint(CANARY, 1) == first
        assert store.fingerprint(CANARY, 2) != first
        assert store.fingerprint(CANARY, None) != first
        assert store.fingerprint(CANARY + "x", 1) != first
    with Store.open(db) as again:  # the generated key persists
        assert again.fingerprint(CANARY, 1) == first
    with Store.open(db, fingerprint_key=b"operator-key") as keyed:
        assert keyed.fingerprint(CANARY, 1) != first
    with Store.open(db.with_name("other.db")) as other:  # another store, another key
        assert other.fingerprint(CANARY, 1) != first


def test_inventory_records_and_forgets(db: Path) -> None:
    key = f"{HOOK}#secret"
    other = Address.parse("bitbucket_webhook:acme/api/deploy-notify-2")
    with Store.open(db) as store:
        store.record_created(HOOK)
        store.record_created(HOOK)  # idempotent
        store.record_created(other)
        fp = store.fingerprint(CANARY, 1)
        store.record_fingerprint(key, fp)
        store.record_fingerprint(f"{other}#secret", fp)
        store.record_fingerprint(key, store.fingerprint(CANARY, 2))  # overwrite
        inventory = store.inventory()
        assert inventory.created == frozenset({HOOK, other})
        assert inventory.fingerprints[key] == store.fingerprint(CANARY, 2)
        store.forget(HOOK)
        inventory = store.inventory()
        assert inventory.created == frozenset({other})
        assert list(inventory.fingerprints) == [f"{other}#secret"]


def test_raw_values_cannot_be_recorded_as_fingerprints(db: Path) -> None:
    with Store.open(db) as store, pytest.raises(ValueError, match="only fingerprints"):
        store.record_fingerprint(f"{HOOK}#secret", CANARY)


def test_secret_values_never_reach_the_database_file(db: Path) -> None:
    with Store.open(db) as store:
        store.record_fingerprint(f"{HOOK}#secret", store.fingerprint(CANARY, 1))
        run = store.start_run(revision="r", plan_hash="sha256:x")
        store.record_result(run, address=HOOK, action="update", status="ok", message="secret set")
        store.finish_run(run, status="ok")
    for path in db.parent.iterdir():
        assert CANARY.encode() not in path.read_bytes(), path


def test_audit_log_of_runs(db: Path) -> None:
    with Store.open(db) as store:
        first = store.start_run(revision="r1", plan_hash="sha256:a")
        store.record_result(first, address=HOOK, action="create", status="ok", message="")
        store.record_result(
            first,
            address="drone_user:bob",
            action="delete",
            status="failed",
            message="Drone API returned 500",
        )
        store.finish_run(first, status="failed")
        second = store.start_run(revision=None, plan_hash="sha256:b")
        runs = store.runs(limit=10)
    assert [r.id for r in runs] == [second, first]
    latest, earlier = runs
    assert latest.status == "running"
    assert latest.finished_at is None
    assert earlier.status == "failed"
    assert earlier.finished_at is not None
    assert earlier.revision == "r1"
    assert [(r.address, r.status) for r in earlier.results] == [
        (str(HOOK), "ok"),
        ("drone_user:bob", "failed"),
    ]
    with Store.open(db) as store:
        assert len(store.runs(limit=1)) == 1


def test_pr_comment_ids(db: Path) -> None:
    with Store.open(db) as store:
        assert store.comment_ids("acme/config", 7) == ()
        store.set_comment_ids("acme/config", 7, [101, 102])
        store.set_comment_ids("acme/config", 8, [9])
        assert store.comment_ids("acme/config", 7) == (101, 102)
        store.set_comment_ids("acme/config", 7, [103])
        assert store.comment_ids("acme/config", 7) == (103,)


_CONTENDER = textwrap.dedent(
    """
    import sys
    from reconciler.errors import LockError
    from reconciler.store import Store
    store = Store.open(sys.argv[1])
    try:
        with store.writer_lock():
            print("acquired")
    except LockError as exc:
        print(exc)
    """
)


def _contend(db: Path) -> str:
    result = subprocess.run(
        [sys.executable, "-c", _CONTENDER, str(db)],
        capture_output=True,
        text=True,
        timeout=20,
        check=True,
    )
    return result.stdout.strip()


def test_writer_lock_fails_fast_in_another_process(db: Path) -> None:
    with Store.open(db) as store:
        with store.writer_lock():
            message = _contend(db)
            assert message == (
                f"another reconciler apply holds the lock on {db} (pid {os.getpid()})"
            )
            with pytest.raises(LockError):  # a second holder in this process too
                with store.writer_lock():
                    pass
        assert _contend(db) == "acquired"
