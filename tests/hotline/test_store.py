"""The ledger's SQLite file: pragmas, migrations, transactions, append-only triggers."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from seabridge.errors import LedgerError
from seabridge.hotline.store import APPEND_ONLY, MIGRATIONS, SCHEMA_VERSION, Store

ROWS = {
    "log": "INSERT INTO log VALUES ('o', 0, x'00', x'00', x'01', 'm', 'note', 0, NULL)",
    "refs": "INSERT INTO refs VALUES ('o', 0, 'p', 0, x'02', 'ack')",
    "tree": "INSERT INTO tree VALUES ('o', 0, 0, x'01')",
    "checkpoints": "INSERT INTO checkpoints VALUES ('o', 1, x'01', 'note')",
    "cosigs": "INSERT INTO cosigs VALUES ('o', 1, 'c', 5, 'line', 0)",
    "evidence": "INSERT INTO evidence VALUES ('i', 'k', 'd', '[]', 0)",
    "keys": "INSERT INTO keys VALUES ('o', 'log', 0, 'vkey')",
}


def test_pragmas_and_schema_version(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.sqlite")
    conn = store.conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("SELECT max(version) FROM schema_version").fetchone()[0] == SCHEMA_VERSION
    store.close()
    # Opening again runs no migration twice.
    store = Store(tmp_path / "state.sqlite")
    versions = store.conn.execute("SELECT count(*) FROM schema_version").fetchone()[0]
    assert versions == SCHEMA_VERSION
    store.close()


def test_a_version_1_file_migrates_and_keeps_its_rows(tmp_path: Path) -> None:
    """A state.sqlite written before ``delivered_via`` existed gains the column, rows kept."""
    path = tmp_path / "state.sqlite"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    conn.executescript(MIGRATIONS[0])
    conn.execute("INSERT INTO schema_version VALUES (1)")
    conn.execute("INSERT INTO delivery (peer, acked_size, created_ms) VALUES ('ccg', 3, 7)")
    conn.close()
    store = Store(path)
    row = store.conn.execute("SELECT acked_size, delivered_via FROM delivery").fetchone()
    assert row == (3, None)
    version = store.conn.execute("SELECT max(version) FROM schema_version").fetchone()[0]
    assert version == SCHEMA_VERSION
    store.close()


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.sqlite")
    with store.transaction() as conn:
        conn.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION + 1,))
    store.close()
    with pytest.raises(LedgerError, match="newer than this Seabridge"):
        Store(tmp_path / "state.sqlite")


def test_not_a_database_is_a_ledger_error(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(LedgerError, match="not a usable ledger database"):
        Store(path)


@pytest.mark.parametrize("table", APPEND_ONLY)
def test_append_only_tables_refuse_update_and_delete(tmp_path: Path, table: str) -> None:
    store = Store(tmp_path / "state.sqlite")
    with store.transaction() as conn:
        conn.execute(ROWS["log"])
        if table != "log":
            conn.execute(ROWS[table])
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store.conn.execute(f"DELETE FROM {table}")
    column = {"log": "seq", "refs": "ref_seq", "tree": "idx", "checkpoints": "size"}.get(
        table, "rowid"
    )
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store.conn.execute(f"UPDATE {table} SET {column} = {column} + 7")
    assert store.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 1
    store.close()


def test_cursors_are_updatable(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.sqlite")
    with store.transaction() as conn:
        conn.execute("INSERT INTO app_cursor VALUES ('o', 0)")
        conn.execute("UPDATE app_cursor SET next_seq = 3")
        conn.execute("INSERT INTO delivery (peer, created_ms) VALUES ('ccg', 0)")
        conn.execute("UPDATE delivery SET acked_size = 4")
    assert store.conn.execute("SELECT next_seq FROM app_cursor").fetchone()[0] == 3
    store.close()


def test_transaction_rolls_back_on_error(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.sqlite")
    with pytest.raises(RuntimeError), store.transaction() as conn:
        conn.execute(ROWS["log"])
        raise RuntimeError("boom")
    assert store.conn.execute("SELECT count(*) FROM log").fetchone()[0] == 0
    assert not store.conn.in_transaction
    store.close()
