"""De-duplication of reports heard by several receivers: within a batch, across batches, the
bounded window, reports older than the window (matched in the database), reopening, and hash
collisions (which may only ever store a duplicate)."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from tracks_fixtures import (
    T0_MS,
    assert_tables_equal,
    positions_table,
    sort_like_store,
    statics_table,
)

from seabridge.config import Settings
from seabridge.errors import ConfigError
from seabridge.tracks import TrackStore, queries
from seabridge.tracks.dedup import PositionDedup, PositionKeys

MIN_MS = 60_000


def _with_source(table: Any, source: str) -> Any:
    """The same reports as heard by another receiver (only ``source`` differs)."""
    index = table.schema.get_field_index("source")
    return table.set_column(index, "source", pa.array([source] * table.num_rows, pa.string()))


def _shift(table: Any, delta_ms: int) -> Any:
    index = table.schema.get_field_index("ts")
    ts = pc.add(table.column("ts").cast(pa.int64()), delta_ms).cast(table.schema.field("ts").type)
    return table.set_column(index, "ts", ts)


def test_default_window_comes_from_the_setting(tmp_path: Path) -> None:
    with TrackStore.open(tmp_path / "t.duckdb") as store:
        assert store.dedup_window_ms == Settings()["ingest.dedup_window_min"] * MIN_MS == 600_000


def test_window_outside_the_setting_range_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"ingest\.dedup_window_min"):
        TrackStore.open(tmp_path / "t.duckdb", dedup_window_min=-1)
    TrackStore.open(tmp_path / "t.duckdb", dedup_window_min=1440).close()


def test_duplicates_within_one_batch_are_stored_once(tmp_path: Path) -> None:
    reports = positions_table(1_000, seed=10, span_s=300)
    heard_three_times = pa.concat_tables(
        [reports, _with_source(reports, "rx-x"), _with_source(reports, "rx-y")]
    )
    shuffled = heard_three_times.take(pa.array(np.random.default_rng(0).permutation(3_000)))
    with TrackStore.open(tmp_path / "t.duckdb") as store:
        assert store.append_positions(shuffled) == 2_000
        stored = store.positions()
    assert stored.num_rows == 1_000
    assert_tables_equal(
        stored.drop_columns(["source"]), sort_like_store(reports).drop_columns(["source"])
    )


def test_duplicates_across_batches_are_counted(tmp_path: Path) -> None:
    reports = positions_table(800, seed=11, span_s=300)
    with TrackStore.open(tmp_path / "t.duckdb") as store:
        assert store.append_positions(reports.slice(0, 500)) == 0
        # The second receiver's batch overlaps rows 300..799: 200 of them were stored already.
        assert store.append_positions(_with_source(reports.slice(300, 500), "rx-z")) == 200
        assert store.append_positions(_with_source(reports, "rx-w")) == 800
        assert store.stats().positions == 800


def test_one_differing_key_column_is_not_a_duplicate(tmp_path: Path) -> None:
    reports = positions_table(50, seed=12, span_s=60)
    with TrackStore.open(tmp_path / "t.duckdb") as store:
        store.append_positions(reports)
        for name, delta in (("lat", 1e-6), ("lon", 1e-6), ("mmsi", 1), ("ts", 1)):
            index = reports.schema.get_field_index(name)
            field = reports.schema.field(name)
            column = reports.column(name)
            if name == "ts":
                column = column.cast(pa.int64())
            changed = pc.add(column, pa.scalar(delta, column.type)).cast(field.type)
            assert store.append_positions(reports.set_column(index, field, changed)) == 0
        msg_type = pa.array([27] * 50, pa.uint8())
        other_type = reports.set_column(
            reports.schema.get_field_index("msg_type"), "msg_type", msg_type
        )
        assert store.append_positions(other_type) == 0
        # Columns outside the key do not matter.
        sog = pa.array(np.full(50, 99.0, np.float32))
        other_sog = reports.set_column(reports.schema.get_field_index("sog_kn"), "sog_kn", sog)
        assert store.append_positions(other_sog) == 50
        assert store.stats().positions == 50 * 6


class _Lookups:
    """Counts the database look-ups of the de-duplication fallback and the rows they probe."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        self.rows = 0
        real = queries.stored_matches

        def counting(con: Any, table_name: str, probe: Any, key: Any) -> Any:
            self.calls += 1
            self.rows += probe.num_rows
            return real(con, table_name, probe, key)

        monkeypatch.setattr(queries, "stored_matches", counting)


def test_twin_arriving_after_the_window_is_found_in_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lookups = _Lookups(monkeypatch)
    early = positions_table(100, seed=13, span_s=60)  # ts in [T0, T0 + 60 s)
    newest_early = int(pc.max(early.column("ts").cast(pa.int64())).as_py())
    with TrackStore.open(tmp_path / "t.duckdb", dedup_window_min=10) as store:
        store.append_positions(early)
        # Data time moves on to exactly 10 min after the newest early report: the window's
        # cutoff is then that newest report itself, which the window still holds...
        later = _shift(positions_table(5, seed=14, span_s=1), newest_early + 10 * MIN_MS - T0_MS)
        store.append_positions(later)
        ts = early.column("ts").cast(pa.int64()).to_numpy()
        newest = early.filter(pa.array(ts == newest_early))
        older = early.filter(pa.array(ts < newest_early))
        assert store.append_positions(_with_source(newest, "late")) == newest.num_rows
        assert lookups.calls == 0
        # ...while everything older has left the window and is found in the database.
        assert store.append_positions(_with_source(older, "late")) == older.num_rows
        assert (lookups.calls, lookups.rows) == (1, older.num_rows)
        # A late report that was never stored is stored, and twins within its batch once.
        moved = _shift(older, 1)
        assert store.append_positions(pa.concat_tables([moved, moved])) == older.num_rows
        assert store.stats().positions == 100 + 5 + older.num_rows


def test_window_zero_dedups_through_the_store(tmp_path: Path) -> None:
    reports = positions_table(100, seed=15, span_s=600)
    with TrackStore.open(tmp_path / "t.duckdb", dedup_window_min=0) as store:
        assert store.append_positions(pa.concat_tables([reports, reports])) == 100
        # Only the reports at the newest ts are remembered; the others are looked up.
        assert store.append_positions(reports) == 100
        assert store.stats().positions == 100


def test_second_receiver_of_the_same_hour_adds_only_what_it_alone_heard(tmp_path: Path) -> None:
    # Receivers A and B cover one area for the same hour: B heard 70% of A's reports, plus
    # reports A missed. Each file is ingested in time order, A's whole hour first, so B's
    # first 50 minutes are older than the ten-minute window when they arrive.
    heard = positions_table(6_000, seed=30, span_s=3_600)
    rng = np.random.default_rng(31)
    only_a = rng.random(6_000) < 0.2
    only_b = ~only_a & (rng.random(6_000) < 0.1)
    rx_a = _with_source(heard.filter(pa.array(~only_b)), "rx-a")
    rx_b = _with_source(heard.filter(pa.array(~only_a)), "rx-b")
    with TrackStore.open(tmp_path / "t.duckdb", dedup_window_min=10) as store:
        duplicates = [
            sum(store.append_positions(b) for b in table.sort_by("ts").to_batches(500))
            for table in (rx_a, rx_b)
        ]
        assert duplicates == [0, rx_b.num_rows - int(only_b.sum())]
        stored = store.positions()
    assert_tables_equal(
        stored.drop_columns(["source"]), sort_like_store(heard).drop_columns(["source"])
    )


def test_reingesting_an_old_day_adds_nothing(tmp_path: Path) -> None:
    day = 86_400_000
    first = positions_table(3_000, seed=32, span_s=86_400)
    second = positions_table(3_000, seed=33, t0_ms=T0_MS + day, span_s=86_400)
    statics = statics_table(
        [{"mmsi": 431000000 + i, "ts": T0_MS + i * 60_000, "msg_type": 5} for i in range(50)]
    )
    path = tmp_path / "t.duckdb"
    with TrackStore.open(path) as store:
        store.append_positions(first)
        store.append_statics(statics)
        store.append_positions(second)
        store.append_statics(_shift(statics, day))
    with TrackStore.open(path) as store:
        assert store.append_positions(_with_source(first, "again")) == first.num_rows
        assert store.append_statics(statics) == statics.num_rows
        # Re-ingesting both days in one batch: old rows from two distant days, one batch.
        both = pa.concat_tables([first, second]).take(pa.array(np.arange(6_000)[::-1]))
        assert store.append_positions(both) == 6_000
        assert (store.stats().positions, store.stats().statics) == (6_000, 100)


def test_reopen_rebuilds_the_window_from_stored_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "t.duckdb"
    reports = positions_table(2_000, seed=16, span_s=3_600)
    ts = reports.column("ts").cast(pa.int64()).to_numpy()
    cutoff = int(ts.max()) - 10 * MIN_MS
    tail = reports.filter(pa.array(ts >= cutoff))
    with TrackStore.open(path) as store:
        store.append_positions(reports)
    lookups = _Lookups(monkeypatch)
    with TrackStore.open(path) as store:
        # Restarting ingest over the last window: recognised in memory, no database look-up.
        assert store.append_positions(_with_source(tail, "again")) == tail.num_rows
        assert lookups.calls == 0
        # The rest of the input, older than the window, is found in the database.
        assert store.append_positions(_with_source(reports, "again")) == 2_000
        assert lookups.rows == 2_000 - tail.num_rows
        assert store.stats().positions == 2_000


def test_statics_dedup_ignores_source_and_treats_nulls_as_values(tmp_path: Path) -> None:
    base = {"mmsi": 431000001, "ts": T0_MS, "msg_type": 24, "name": "ONE", "source": "a"}
    rows = [
        base,
        {**base, "source": "b"},  # duplicate: only source differs
        {**base, "name": None},  # not a duplicate: name null vs "ONE"
        {**base, "name": None, "source": "c"},  # duplicate of the previous row
        {**base, "callsign": "ONE"},  # not a duplicate: the value sits in another column
        {**base, "ts": T0_MS + 1},
    ]
    path = tmp_path / "t.duckdb"
    with TrackStore.open(path) as store:
        assert store.append_statics(statics_table(rows)) == 2
        assert store.append_statics(statics_table(rows)) == 6
        assert store.stats().statics == 4
        late = {**base, "ts": T0_MS + 11 * MIN_MS}
        assert store.append_statics(statics_table([late])) == 0
        # Outside the window now: found in the database, nulls matching nulls.
        assert store.append_statics(statics_table([base, {**base, "name": None}])) == 2
        assert store.append_statics(statics_table([{**base, "callsign": "TWO"}])) == 0
    with TrackStore.open(path) as store:
        assert store.append_statics(statics_table([late, base])) == 2
        assert store.stats().statics == 6


def test_old_reports_are_looked_up_per_time_cluster() -> None:
    hour = 3_600_000
    ts = np.array([5 * hour + 1, 0, 10, 5 * hour, 2 * hour, 2 * hour + hour], np.int64)
    assert queries._time_clusters(ts) == [(0, 10), (2 * hour, 3 * hour), (5 * hour, 5 * hour + 1)]
    # Never more than the cap: the widest gaps split first.
    spread = np.arange(40, dtype=np.int64) * 2 * hour
    spread[-1] += 100 * hour
    clusters = queries._time_clusters(spread)
    assert len(clusters) == queries._PROBE_QUERIES
    assert clusters[-1] == (int(spread[-1]), int(spread[-1]))  # the widest gap is cut
    # Sorted, disjoint, and every time falls inside exactly one cluster.
    assert all(a[1] < b[0] for a, b in itertools.pairwise(clusters))
    assert all(sum(lo <= t <= hi for lo, hi in clusters) == 1 for t in spread.tolist())


def _keys(mmsi: list[int], ts_ms: list[int], lat: list[float], h: list[int]) -> PositionKeys:
    n = len(mmsi)
    return PositionKeys(
        np.array(h, np.uint64),
        np.array(mmsi, np.uint32),
        np.array(ts_ms, np.int64),
        np.array(lat, np.float64),
        np.zeros(n, np.float64),
        np.ones(n, np.uint8),
    )


def test_hash_collisions_never_drop_a_distinct_report() -> None:
    window = PositionDedup(window_ms=10 * MIN_MS)
    # Forced equal hashes for different keys: the key columns decide.
    first = _keys([1, 2], [T0_MS, T0_MS], [10.0, 10.0], [42, 42])
    assert window.duplicates(first).tolist() == [False, False]
    window.remember(first)
    again = _keys([3, 1, 1], [T0_MS, T0_MS, T0_MS], [10.0, 10.0, 10.5], [42, 42, 42])
    assert window.duplicates(again).tolist() == [False, True, False]


def test_negative_zero_is_the_same_position(tmp_path: Path) -> None:
    table = positions_table(2, seed=17, span_s=10)
    lat_index = table.schema.get_field_index("lat")
    zero = table.set_column(lat_index, "lat", pa.array([0.0, 0.0]))
    negative_zero = table.set_column(lat_index, "lat", pa.array([-0.0, -0.0]))
    window = PositionDedup(window_ms=MIN_MS)
    window.remember(PositionKeys.from_table(zero))
    assert window.duplicates(PositionKeys.from_table(negative_zero)).tolist() == [True, True]
    # The same through the database, once the window has moved on.
    with TrackStore.open(tmp_path / "t.duckdb", dedup_window_min=1) as store:
        store.append_positions(zero)
        store.append_positions(_shift(table, 3_600_000))
        assert store.append_positions(negative_zero) == 2


def test_window_memory_stays_bounded() -> None:
    window = PositionDedup(window_ms=10 * MIN_MS)
    for hour in range(6):
        batch = _shift(positions_table(3_000, seed=100 + hour, span_s=3_600), hour * 3_600_000)
        keys = PositionKeys.from_table(batch)
        window.remember(keys.take(~window.duplicates(keys)))
    # One hour per batch, so at most about one batch's ten-minute tail (plus a quarter window
    # of not yet compacted keys) is held, never all 18k keys.
    assert len(window) < 1_000
