"""TrackStore: opening, locking, schema checks, append round trips and bad batches."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pytest
from tracks_fixtures import (
    T0_MS,
    assert_tables_equal,
    positions_table,
    sort_like_store,
    statics_table,
)

import seabridge.tracks
from seabridge.ais.records import POSITION_SCHEMA, STATIC_SCHEMA
from seabridge.errors import StoreError, StoreLockedError
from seabridge.tracks import SCHEMA_VERSION, TrackStore
from support import position_batch


def test_public_api_is_pinned() -> None:
    assert sorted(seabridge.tracks.__all__) == sorted(
        [
            "FORMATS",
            "OUTPUT_COLUMNS",
            "SCHEMA_VERSION",
            "VESSEL_SCHEMA",
            "BBox",
            "ParquetExport",
            "StoreStats",
            "TrackStore",
            "iso_times",
            "write_table",
        ]
    )


def test_new_store_has_tables_and_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "tracks.duckdb"
    with TrackStore.open(path) as store:
        stats = store.stats()
    assert (stats.positions, stats.statics, stats.vessels) == (0, 0, 0)
    assert stats.first_ms is None and stats.last_ms is None
    con = duckdb.connect(str(path), read_only=True)
    try:
        version = con.sql("SELECT version FROM schema_version").fetchall()
        columns = con.sql(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'positions'"
        ).fetchall()
    finally:
        con.close()
    assert version == [(SCHEMA_VERSION,)]
    assert [name for name, _ in columns] == POSITION_SCHEMA.names
    assert dict(columns)["ts"] == "TIMESTAMP WITH TIME ZONE"
    assert dict(columns)["mmsi"] == "UINTEGER"


def test_round_trip_preserves_values_nan_and_nulls(tmp_path: Path) -> None:
    table = positions_table(2_000, seed=1)
    with TrackStore.open(tmp_path / "t.duckdb") as store:
        for batch in table.to_batches(max_chunksize=300):
            assert store.append_positions(batch) == 0
        got = store.positions()
    assert_tables_equal(got, sort_like_store(table))
    assert np.isnan(got.column("sog_kn").to_numpy()).any()
    assert got.column("source").null_count > 0


def test_round_trip_survives_reopen(tmp_path: Path) -> None:
    table = positions_table(500, seed=2)
    path = tmp_path / "t.duckdb"
    with TrackStore.open(path) as store:
        store.append_positions(table)
    with TrackStore.open(path, read_only=True) as store:
        assert_tables_equal(store.positions(), sort_like_store(table))


def test_statics_round_trip(tmp_path: Path) -> None:
    rows = [
        {"mmsi": 431000001, "ts": T0_MS, "msg_type": 24, "name": "SEABRIDGE ONE", "source": "a"},
        {
            "mmsi": 431000001,
            "ts": T0_MS + 1000,
            "msg_type": 5,
            "imo": 9876543,
            "callsign": "JA0001",
            "ship_type": 70,
            "dim_bow_m": 100,
            "dim_stern_m": 20,
            "dim_port_m": 5,
            "dim_starboard_m": 6,
            "destination": "NAHA",
            "flag": "JP",
            "source": "b",
        },
    ]
    table = statics_table(rows)
    with TrackStore.open(tmp_path / "t.duckdb") as store:
        assert store.append_statics(table) == 0
        stored = store.con.sql(
            f"SELECT {', '.join(STATIC_SCHEMA.names)} FROM statics ORDER BY ts"
        ).to_arrow_table()
    assert stored.cast(STATIC_SCHEMA).to_pylist() == table.to_pylist()


def test_append_accepts_a_batch_and_an_empty_batch(tmp_path: Path) -> None:
    batch = position_batch([(431000001, T0_MS, 24.5, 123.5, 12.3, 45.0, float("nan"), -1, 1, "rx")])
    with TrackStore.open(tmp_path / "t.duckdb") as store:
        assert store.append_positions(batch) == 0
        assert store.append_positions(batch.slice(0, 0)) == 0  # empty
        assert store.stats().positions == 1


def test_append_rejects_batches_that_do_not_fit(tmp_path: Path) -> None:
    table = positions_table(10, seed=3)
    with TrackStore.open(tmp_path / "t.duckdb") as store:
        with pytest.raises(StoreError, match="missing column"):
            store.append_positions(table.drop_columns(["lat"]))
        nulls = table.set_column(0, "mmsi", pa.array([None] * 10, pa.uint32()))
        with pytest.raises(StoreError, match="nulls in column mmsi"):
            store.append_positions(nulls)
        text = table.set_column(2, "lat", pa.array(["north"] * 10))
        with pytest.raises(StoreError, match="does not match"):
            store.append_positions(text)
        with pytest.raises(StoreError, match="expected an Arrow record batch"):
            store.append_positions([1, 2, 3])
        assert store.stats().positions == 0


def test_read_only_store_refuses_appends(tmp_path: Path) -> None:
    path = tmp_path / "t.duckdb"
    TrackStore.open(path).close()
    with (
        TrackStore.open(path, read_only=True) as store,
        pytest.raises(StoreError, match="read-only"),
    ):
        store.append_positions(positions_table(3, seed=4))


def test_closed_store_says_so(tmp_path: Path) -> None:
    store = TrackStore.open(tmp_path / "t.duckdb")
    store.close()
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.positions()


def test_open_errors_name_the_file(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.duckdb"
    garbage.write_bytes(b"not a database" * 100)
    with pytest.raises(StoreError, match=re.escape(str(garbage))) as info:
        TrackStore.open(garbage)
    assert not isinstance(info.value, StoreLockedError)
    with pytest.raises(StoreError, match="missing-dir"):
        TrackStore.open(tmp_path / "missing-dir" / "t.duckdb")
    new = tmp_path / "new.duckdb"
    with pytest.raises(StoreError, match=re.escape(str(new))):
        TrackStore.open(new, read_only=True)
    # A failed open leaves nothing registered: the file opens fine afterwards.
    TrackStore.open(new).close()


def test_foreign_or_newer_database_is_refused(tmp_path: Path) -> None:
    foreign = tmp_path / "foreign.duckdb"
    con = duckdb.connect(str(foreign))
    con.execute("CREATE TABLE something (x INTEGER)")
    con.close()
    with pytest.raises(StoreError, match="not a Seabridge track store"):
        TrackStore.open(foreign)
    newer = tmp_path / "newer.duckdb"
    TrackStore.open(newer).close()
    con = duckdb.connect(str(newer))
    con.execute("INSERT INTO schema_version (version) VALUES (?)", [SCHEMA_VERSION + 1])
    con.close()
    with pytest.raises(StoreError, match=f"schema version {SCHEMA_VERSION + 1}"):
        TrackStore.open(newer)


def test_second_open_in_same_process_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.duckdb"
    with (
        TrackStore.open(path),
        pytest.raises(StoreLockedError, match="already open in this process"),
    ):
        TrackStore.open(path)
    TrackStore.open(path).close()


_HOLDER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from seabridge.tracks import TrackStore
    store = TrackStore.open(Path(sys.argv[1]))
    print("ready", flush=True)
    sys.stdin.read()
    store.close()
    """
)


def test_file_held_by_another_process_raises_locked_error(tmp_path: Path) -> None:
    path = tmp_path / "tracks.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "ready"
        for read_only in (False, True):
            with pytest.raises(StoreLockedError) as info:
                TrackStore.open(path, read_only=read_only)
            message = str(info.value)
            assert str(path) in message
            assert f"process {holder.pid}" in message
            assert "another seabridge process holds it" in message.lower()
            assert "stop that process" in message and "node" in message
    finally:
        holder.communicate(input="", timeout=60)
    assert holder.returncode == 0
    TrackStore.open(path).close()  # free again once the holder exits
