"""The numbers of the monthly transparency report: one query function per table.

Every number the report shows comes from exactly one function below, and the numbers file
keys each table by that function's name (:data:`QUERIES`), so any figure traces to its query.
Same inputs, same numbers: rows are ordered by their keys and nothing reads a clock.

Positions are DuckDB SQL over a relation, :class:`TrackSource`: the node's track store
(``positions`` and ``statics`` tables) or the Parquet archive of ``seabridge tracks export``
(``ROOT/day=YYYY-MM-DD/*.parquet`` read with ``hive_partitioning``, and ``ROOT/_statics.parquet``
when present), interchangeably. Zone containment is geodesic geometry, so positions inside
the belts' bounding box come out of SQL, :meth:`seabridge.geo.ZoneSet.membership` places
them, and the presence rows go back into DuckDB for the counts.

Events are the live engine's (every status change of an event is a line of
``events.jsonl``; the last line of an id is its final state). Incidents and the hotline ledger
are read from ``state.sqlite`` read-only, by plain SQL over their tables.

Definitions (docs/reports.md says the same):

- *vessel-day*: a vessel with at least one position inside a belt during one UTC day.
- *days* (JCG form): UTC days on which at least one vessel of the group was in the belt.
- *aggregate vessels* (JCG's 延べ): vessel-days summed over the month.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import duckdb
import numpy as np
import pyarrow as pa

from seabridge.ais.mid import flags_for_mmsis
from seabridge.errors import InputError, StoreError
from seabridge.units import ms_to_datetime, ms_to_iso

if TYPE_CHECKING:
    from seabridge.detect.model import Event
    from seabridge.geo import ZoneSet
    from seabridge.geo.zones import Zone
    from seabridge.tracks import TrackStore

__all__ = [
    "BELT_KINDS",
    "MESSAGE_KINDS",
    "QUERIES",
    "Period",
    "Table",
    "TrackSource",
    "belt_days_jcg",
    "belt_order",
    "belt_presence",
    "belt_presence_rows",
    "daily_presence",
    "event_counts",
    "final_events",
    "hotline_delivery",
    "incident_summary",
    "incident_times",
    "month_period",
    "newest_position_ms",
    "percentile",
    "vessel_groups",
    "zone_entries",
]

MS_PER_DAY: Final = 86_400_000
BELT_KINDS: Final = ("territorial_sea_belt", "contiguous_zone_belt")
"""Zone kinds counted as belts, nearest first (``seabridge zones list`` shows them)."""
MESSAGE_KINDS: Final = ("notification", "ack", "reply", "escalation", "agreement", "note")
"""Hotline entry kinds counted as sent messages (heartbeats and bookkeeping are not)."""
_SHIP_TYPE_GROUP: Final = """CASE
    WHEN ship_type IS NULL OR ship_type = 0 THEN 'unknown'
    WHEN ship_type IN (35, 55) THEN 'government'
    WHEN ship_type = 30 THEN 'fishing'
    WHEN ship_type BETWEEN 60 AND 69 THEN 'passenger'
    WHEN ship_type BETWEEN 70 AND 79 THEN 'cargo'
    WHEN ship_type BETWEEN 80 AND 89 THEN 'tanker'
    ELSE 'other' END"""
# ITU-R M.1371-5 table 53: 35 military, 55 law enforcement, 30 fishing, 6x passenger,
# 7x cargo, 8x tanker; the console groups the same way (symbols.js).


@dataclass(frozen=True, slots=True)
class Period:
    """A half-open UTC time window ``[start_ms, end_ms)`` with its label (``YYYY-MM``)."""

    label: str
    start_ms: int
    end_ms: int

    @property
    def days(self) -> int:
        return (self.end_ms - self.start_ms) // MS_PER_DAY

    def first_day(self) -> int:
        return self.start_ms // MS_PER_DAY


def month_period(text: str | None = None, *, containing_ms: int | None = None) -> Period:
    """The UTC month ``YYYY-MM``, or the month containing ``containing_ms``.

    Raises:
        InputError: ``text`` is not a month ``YYYY-MM``.
    """
    if text is not None:
        try:
            start = datetime.strptime(text, "%Y-%m").replace(tzinfo=UTC)
        except ValueError:
            raise InputError(f"--month {text}: give a month as YYYY-MM, e.g. 2026-05") from None
    else:
        if containing_ms is None:
            raise InputError("no month given and no data to take it from")
        moment = datetime.fromtimestamp(containing_ms / 1000, UTC)
        start = datetime(moment.year, moment.month, 1, tzinfo=UTC)
    end = datetime(start.year + start.month // 12, start.month % 12 + 1, 1, tzinfo=UTC)
    return Period(
        start.strftime("%Y-%m"), int(start.timestamp() * 1000), int(end.timestamp()) * 1000
    )


@dataclass(frozen=True, slots=True)
class Table:
    """One query's result: column names and rows of plain JSON values."""

    query: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "columns": list(self.columns),
            "rows": [list(r) for r in self.rows],
        }

    def dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


def _table(query: str, relation: duckdb.DuckDBPyRelation) -> Table:
    columns = tuple(relation.columns)
    return Table(query, columns, tuple(tuple(row) for row in relation.fetchall()))


# --- track sources ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TrackSource:
    """Positions (and static reports) as SQL relations on one DuckDB connection.

    ``positions`` and ``statics`` are SQL table expressions with the track store's columns
    (``mmsi, ts, lat, lon, ...``; ``mmsi, ts, ship_type, flag, ...``).
    """

    con: duckdb.DuckDBPyConnection
    positions: str
    statics: str
    description: str

    @classmethod
    def from_store(cls, store: TrackStore) -> TrackSource:
        """The track store's own tables (on its connection; the store stays open meanwhile)."""
        return cls(store.con, "positions", "statics", f"track store {store.path.name}")

    @classmethod
    def from_archive(cls, root: Path) -> TrackSource:
        """The Parquet archive under ``root`` (``day=YYYY-MM-DD/*.parquet``) in a new in-memory
        DuckDB; ``root/_statics.parquet`` gives the static reports when present.

        Raises:
            InputError: ``root`` is not a directory or holds no day partitions.
        """
        if not root.is_dir():
            raise InputError(f"--archive {root}: not a directory")
        files = sorted(root.glob("day=*/*.parquet"))
        if not files:
            raise InputError(
                f"--archive {root}: no day=YYYY-MM-DD/*.parquet partitions; write the archive "
                "with `seabridge tracks export --format parquet`"
            )
        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        listed = ", ".join(_quote(str(path)) for path in files)
        con.execute(
            "CREATE VIEW positions AS SELECT mmsi, ts, lat, lon FROM "
            f"read_parquet([{listed}], hive_partitioning = true)"
        )
        statics = root / "_statics.parquet"
        if statics.is_file():
            con.execute(
                "CREATE VIEW statics AS SELECT mmsi, ts, ship_type, flag "
                f"FROM read_parquet({_quote(str(statics))})"
            )
        else:
            con.execute(
                "CREATE TABLE statics (mmsi UINTEGER, ts TIMESTAMPTZ, ship_type UTINYINT, "
                "flag VARCHAR)"
            )
        return cls(con, "positions", "statics", f"Parquet archive {root.name}")


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _run(source: TrackSource, sql: str, params: Sequence[object] = ()) -> duckdb.DuckDBPyRelation:
    try:
        return source.con.sql(sql, params=list(params) if params else None)
    except duckdb.Error as exc:
        raise StoreError(f"{source.description}: report query failed: {exc}") from exc


def map_points(source: TrackSource, period: Period, bbox: Sequence[float], limit: int) -> pa.Table:
    """``lat, lon`` of at most ``limit`` positions of the period inside ``bbox`` (W, S, E, N),
    thinned by a repeatable sample (for the map only: no number comes from it)."""
    west, south, east, north = bbox
    return _run(
        source,
        f"SELECT lat, lon FROM (SELECT lat, lon, mmsi, ts FROM {source.positions} "
        "WHERE ts >= ? AND ts < ? AND lat BETWEEN ? AND ? AND lon BETWEEN ? AND ? "
        f"ORDER BY mmsi, ts) USING SAMPLE reservoir({int(limit)} ROWS) REPEATABLE (9)",
        (ms_to_datetime(period.start_ms), ms_to_datetime(period.end_ms), south, north, west, east),
    ).to_arrow_table()


def newest_position_ms(source: TrackSource) -> int | None:
    """The time of the newest position (the default report month is its month)."""
    rows = _run(source, f"SELECT epoch_ms(max(ts)) FROM {source.positions}").fetchall()
    return None if not rows or rows[0][0] is None else int(rows[0][0])


def belt_presence_rows(source: TrackSource, zones: ZoneSet, period: Period) -> pa.Table:
    """``(mmsi, day, belt, belt_rank)``: each vessel-day in each belt (day: days since
    1970-01-01 UTC); ``belt_rank`` orders the belts as reports list them (:func:`belt_order`).

    SQL picks the positions of the period inside the belts' bounding box; geodesic zone
    containment places them; each (vessel, day, belt) is kept once.
    """
    belts = belt_order(zones)
    empty = pa.table(
        {
            "mmsi": pa.array([], pa.int64()),
            "day": pa.array([], pa.int64()),
            "belt": pa.array([], pa.string()),
            "belt_rank": pa.array([], pa.int64()),
        }
    )
    if not belts:
        return empty
    west = min(z.geometry.bounds[0] for z in belts)
    south = min(z.geometry.bounds[1] for z in belts)
    east = max(z.geometry.bounds[2] for z in belts)
    north = max(z.geometry.bounds[3] for z in belts)
    points = _run(
        source,
        f"SELECT mmsi::BIGINT AS mmsi, epoch_ms(ts) // {MS_PER_DAY} AS day, lat, lon "
        f"FROM {source.positions} WHERE ts >= ? AND ts < ? "
        "AND lat BETWEEN ? AND ? AND lon BETWEEN ? AND ?",
        (ms_to_datetime(period.start_ms), ms_to_datetime(period.end_ms), south, north, west, east),
    ).fetchnumpy()
    if not len(points["mmsi"]):
        return empty
    point, zone_index = zones.membership(points["lat"], points["lon"])
    belt_ids = np.array([zone.id for zone in zones.zones], dtype=object)
    rank = np.full(len(zones.zones), -1, dtype=np.int64)  # per zone index; -1: not a belt
    rank[[zones.index(zone.id) for zone in belts]] = np.arange(len(belts))
    keep = rank[zone_index] >= 0
    point, zone_index = point[keep], zone_index[keep]
    triples = np.stack(
        [np.asarray(points["mmsi"])[point], np.asarray(points["day"])[point], zone_index], axis=1
    ).astype(np.int64)
    unique = np.unique(triples, axis=0) if len(triples) else triples.reshape(0, 3)
    return pa.table(
        {
            "mmsi": pa.array(unique[:, 0], pa.int64()),
            "day": pa.array(unique[:, 1], pa.int64()),
            "belt": pa.array(belt_ids[unique[:, 2]], pa.string()),
            "belt_rank": pa.array(rank[unique[:, 2]], pa.int64()),
        }
    )


def belt_order(zones: ZoneSet) -> list[Zone]:
    """The belts (zones of :data:`BELT_KINDS`) as reports list them: nearest first (the
    12 nm belts before the 12-24 nm ones), then by id."""
    belts = [zone for zone in zones.zones if zone.kind in BELT_KINDS]
    return sorted(belts, key=lambda zone: (BELT_KINDS.index(zone.kind), zone.id))


def vessel_groups(source: TrackSource, mmsis: Iterable[int]) -> pa.Table:
    """``(mmsi, flag, ship_type, type_group)`` of each vessel: the latest non-null static
    values; the flag from the MMSI's MID when no static report gave one ('' if none)."""
    wanted = sorted({int(m) for m in mmsis})
    ids = pa.table({"mmsi": pa.array(wanted, pa.int64())})
    source.con.register("_report_mmsis", ids)
    try:
        table = _run(
            source,
            "SELECT w.mmsi, s.flag, s.ship_type FROM _report_mmsis w LEFT JOIN ("
            "SELECT mmsi::BIGINT AS mmsi, "
            "arg_max(flag, ts) FILTER (WHERE flag IS NOT NULL) AS flag, "
            "arg_max(ship_type, ts) FILTER (WHERE ship_type IS NOT NULL) AS ship_type "
            f"FROM {source.statics} GROUP BY mmsi) s ON s.mmsi = w.mmsi ORDER BY w.mmsi",
        ).to_arrow_table()
    finally:
        source.con.unregister("_report_mmsis")
    mid = flags_for_mmsis(np.asarray(wanted, dtype=np.int64))
    flags = [
        (reported or from_mid or "")
        for reported, from_mid in zip(
            table.column("flag").to_pylist(), mid.to_pylist(), strict=True
        )
    ]
    ship_types = table.column("ship_type").to_pylist()
    groups = _group_names(ship_types)
    return pa.table(
        {
            "mmsi": pa.array(wanted, pa.int64()),
            "flag": pa.array(flags, pa.string()),
            "ship_type": pa.array(ship_types, pa.int64()),
            "type_group": pa.array(groups, pa.string()),
        }
    )


def _group_names(ship_types: Sequence[int | None]) -> list[str]:
    con = duckdb.connect()
    try:
        con.register("t", pa.table({"ship_type": pa.array(ship_types, pa.int64())}))
        return [row[0] for row in con.sql(f"SELECT {_SHIP_TYPE_GROUP} FROM t").fetchall()]
    finally:
        con.close()


class Presence:
    """The vessel-days of a period joined to each vessel's flag and type, queried in DuckDB."""

    def __init__(self, rows: pa.Table, groups: pa.Table, period: Period) -> None:
        self.period = period
        self._con = duckdb.connect()
        self._con.register("_rows", rows)
        self._con.register("_groups", groups)
        self._con.execute(
            "CREATE TABLE presence AS SELECT r.mmsi, r.day, r.belt, r.belt_rank, g.flag, "
            "g.type_group "
            "FROM _rows r JOIN _groups g USING (mmsi)"
        )

    def close(self) -> None:
        self._con.close()

    def sql(self, query: str, sql: str) -> Table:
        return _table(query, self._con.sql(sql))


def belt_presence(presence: Presence) -> Table:
    """Per belt, flag and ship type: days present, vessel-days (延べ) and distinct vessels."""
    return presence.sql(
        "belt_presence",
        "SELECT belt, flag, type_group, count(DISTINCT day) AS days, count(*) AS vessel_days, "
        "count(DISTINCT mmsi) AS vessels FROM presence "
        "GROUP BY belt_rank, belt, flag, type_group ORDER BY belt_rank, belt, flag, type_group",
    )


def belt_days_jcg(presence: Presence) -> Table:
    """JCG's form per belt and flag, and per belt over all flags (flag '*'): days on which at
    least one vessel was present, and the aggregate (延べ) vessel count."""
    return presence.sql(
        "belt_days_jcg",
        "SELECT belt, flag, days, vessel_days FROM (SELECT belt_rank, belt, "
        "coalesce(flag, '*') AS flag, count(DISTINCT day) AS days, count(*) AS vessel_days "
        "FROM presence GROUP BY GROUPING SETS ((belt_rank, belt, flag), (belt_rank, belt))) "
        "ORDER BY belt_rank, belt, flag <> '*', flag",
    )


def daily_presence(presence: Presence) -> Table:
    """Vessels present per belt, UTC day and flag (days as ``YYYY-MM-DD``)."""
    return presence.sql(
        "daily_presence",
        "SELECT belt, strftime(make_date(1970, 1, 1) + day::INTEGER, '%Y-%m-%d') AS day, flag, "
        "count(*) AS vessels FROM presence GROUP BY belt_rank, belt, day, flag "
        "ORDER BY belt_rank, belt, day, flag",
    )


# --- events -------------------------------------------------------------------------------


def final_events(events: Iterable[Event], period: Period) -> pa.Table:
    """The final state of each event that started in the period (retracted ones dropped):
    ``id, rule_id, kind, level, start_ms, zone, vessel, lat, lon, duration_s``."""
    latest: dict[str, Event] = {}
    for event in events:
        latest[event.id] = event
    rows = [
        event
        for event in sorted(latest.values(), key=lambda e: (e.start_ms, e.id))
        if event.status != "retracted" and period.start_ms <= event.start_ms < period.end_ms
    ]
    duration = [_duration_s(event) for event in rows]
    return pa.table(
        {
            "id": pa.array([e.id for e in rows], pa.string()),
            "rule_id": pa.array([e.rule_id for e in rows], pa.string()),
            "kind": pa.array([e.kind for e in rows], pa.string()),
            "level": pa.array([e.level for e in rows], pa.int64()),
            "start_ms": pa.array([e.start_ms for e in rows], pa.int64()),
            "zone": pa.array([e.zone for e in rows], pa.string()),
            "vessel": pa.array([e.vessels[0] if e.vessels else None for e in rows], pa.int64()),
            "lat": pa.array([e.lat for e in rows], pa.float64()),
            "lon": pa.array([e.lon for e in rows], pa.float64()),
            "duration_s": pa.array(duration, pa.float64()),
        }
    )


def _duration_s(event: Event) -> float | None:
    value = event.metrics.get("duration_s")
    if value is not None and not math.isnan(value):
        return float(value)
    if event.end_ms is not None:
        return (event.end_ms - event.start_ms) / 1000.0
    return None


class EventCounts:
    """The period's final events with each first vessel's flag, queried in DuckDB."""

    def __init__(self, events: pa.Table, groups: pa.Table) -> None:
        self._con = duckdb.connect()
        self._con.register("_events", events)
        self._con.register("_groups", groups)
        self._con.execute(
            "CREATE TABLE events AS SELECT e.*, coalesce(g.flag, '') AS flag "
            "FROM _events e LEFT JOIN _groups g ON g.mmsi = e.vessel"
        )

    def close(self) -> None:
        self._con.close()

    def sql(self, query: str, sql: str, params: Sequence[object] = ()) -> Table:
        return _table(query, self._con.sql(sql, params=list(params) if params else None))


def zone_entries(counts: EventCounts, belt_ids: Sequence[str]) -> Table:
    """Entries into the 12 nm belt(s): zone-entry events whose zone is a territorial-sea belt,
    by belt and the entering vessel's flag."""
    return counts.sql(
        "zone_entries",
        "SELECT zone AS belt, flag, count(*) AS events FROM events "
        "WHERE kind = 'zone_entry' AND list_contains(?, zone) GROUP BY ALL ORDER BY ALL",
        (list(belt_ids),),
    )


def event_counts(counts: EventCounts) -> Table:
    """Close-quarters, AIS-gap and encounter events by kind and level, with the median
    duration in minutes where the events carry one."""
    return counts.sql(
        "event_counts",
        "SELECT kind, level, count(*) AS events, "
        "round(median(duration_s) / 60.0, 1) AS median_duration_min FROM events "
        "WHERE kind IN ('close_quarters', 'ais_gap', 'encounter') GROUP BY ALL ORDER BY ALL",
    )


# --- incidents and hotline (state.sqlite, read-only) ---------------------------------------


def open_state(path: Path) -> sqlite3.Connection:
    """``state.sqlite`` read-only (WAL lets a serving node keep writing meanwhile).

    Raises:
        StoreError: the file is missing or cannot be opened.
    """
    if not path.is_file():
        raise StoreError(f"{path}: no node state here (state.sqlite); is this a node directory?")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error as exc:
        raise StoreError(f"{path}: cannot read the node state: {exc}") from exc
    return conn


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    row = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
    return row.fetchone() is not None


def incident_times(conn: sqlite3.Connection, period: Period) -> Table:
    """Each incident that began in the period (data time; retracted ones dropped): level,
    status, minutes from opening to the first acknowledgement and to resolution, escalated."""
    columns = ("id", "kind", "level", "status", "ack_min", "resolve_min", "escalated")
    if not _has_table(conn, "incidents"):
        return Table("incident_times", columns, ())
    rows = conn.execute(
        """
        SELECT i.id, i.kind, i.level, i.status,
               (SELECT min(t.at_ms) FROM incident_transitions t WHERE t.incident_id = i.id),
               (SELECT min(t.at_ms) FROM incident_transitions t
                 WHERE t.incident_id = i.id AND t.to_status = 'acknowledged'),
               (SELECT min(t.at_ms) FROM incident_transitions t
                 WHERE t.incident_id = i.id AND t.to_status IN ('resolved', 'closed')),
               EXISTS (SELECT 1 FROM incident_transitions t
                 WHERE t.incident_id = i.id AND t.to_status = 'escalated')
        FROM incidents i
        WHERE i.start_ms >= ? AND i.start_ms < ? AND i.status != 'retracted'
        ORDER BY i.start_ms, i.id
        """,
        (period.start_ms, period.end_ms),
    ).fetchall()

    def minutes(since: int | None, until: int | None) -> float | None:
        return None if since is None or until is None else round((until - since) / 60_000, 2)

    return Table(
        "incident_times",
        columns,
        tuple(
            (id_, kind, level, status, minutes(opened, acked), minutes(opened, resolved), bool(esc))
            for id_, kind, level, status, opened, acked, resolved, esc in rows
        ),
    )


def percentile(values: Sequence[float], share: float) -> float | None:
    """Nearest-rank percentile (``share`` in (0, 1]); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)), 1) - 1]


def median(values: Sequence[float]) -> float | None:
    """The median (mean of the middle two for an even count); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def incident_summary(times: Table) -> Table:
    """Counts of :func:`incident_times`: opened, acknowledged, resolved, escalated, and the
    median and p95 minutes to first acknowledgement and to resolution."""
    rows = times.dicts()
    acks = [row["ack_min"] for row in rows if row["ack_min"] is not None]
    resolves = [row["resolve_min"] for row in rows if row["resolve_min"] is not None]

    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 2)

    return Table(
        "incident_summary",
        (
            "opened",
            "acknowledged",
            "resolved",
            "escalated",
            "median_ack_min",
            "p95_ack_min",
            "median_resolve_min",
            "p95_resolve_min",
        ),
        (
            (
                len(rows),
                len(acks),
                len(resolves),
                sum(1 for row in rows if row["escalated"]),
                rounded(median(acks)),
                rounded(percentile(acks, 0.95)),
                rounded(median(resolves)),
                rounded(percentile(resolves, 0.95)),
            ),
        ),
    )


def hotline_delivery(conn: sqlite3.Connection, party: str, period: Period) -> Table:
    """Per peer: messages this node sent in the period (:data:`MESSAGE_KINDS`), how many a
    peer cosignature receipted, median and p95 receipt latency (s), how many set a deadline
    and how many of those the peer acknowledged (ack or reply) before it."""
    columns = ("peer", "sent", "receipted", "median_latency_s", "p95_latency_s",
               "with_deadline", "acked_in_time")  # fmt: skip
    if not _has_table(conn, "log"):
        return Table("hotline_delivery", columns, ())
    kinds = ", ".join(f"'{kind}'" for kind in MESSAGE_KINDS)
    rows = conn.execute(
        f"""
        SELECT l.origin, l.created_ms,
               (SELECT min(c.received_ms) FROM cosigs c
                 WHERE c.origin = l.origin AND c.size > l.seq),
               l.deadline_ms,
               EXISTS (SELECT 1 FROM refs r JOIN log m ON m.origin = r.origin AND m.seq = r.seq
                 WHERE r.ref_log = l.origin AND r.ref_seq = l.seq AND r.kind IN ('ack', 'reply')
                   AND r.origin != l.origin AND m.created_ms <= l.deadline_ms)
        FROM log l
        WHERE l.origin LIKE ? AND l.kind IN ({kinds}) AND l.created_ms >= ? AND l.created_ms < ?
        ORDER BY l.origin, l.seq
        """,
        (f"{party}/hotline/%", period.start_ms, period.end_ms),
    ).fetchall()
    by_peer: dict[str, list[tuple[int, int | None, int | None, int]]] = {}
    for origin, created, receipt, deadline, acked in rows:
        by_peer.setdefault(origin.rsplit("/", 1)[1], []).append((created, receipt, deadline, acked))
    table = []
    for peer, entries in sorted(by_peer.items()):
        latencies = [(r - c) / 1000 for c, r, _, _ in entries if r is not None]
        med, p95 = median(latencies), percentile(latencies, 0.95)
        table.append(
            (
                peer,
                len(entries),
                len(latencies),
                None if med is None else round(med, 3),
                None if p95 is None else round(p95, 3),
                sum(1 for _, _, deadline, _ in entries if deadline is not None),
                sum(1 for _, _, deadline, acked in entries if deadline is not None and acked),
            )
        )
    return Table("hotline_delivery", columns, tuple(table))


QUERIES: Final[Mapping[str, str]] = {
    name: f"seabridge.reports.monthly_data.{name}"
    for name in (
        "belt_presence",
        "belt_days_jcg",
        "daily_presence",
        "zone_entries",
        "event_counts",
        "incident_times",
        "incident_summary",
        "hotline_delivery",
    )
}
"""Table name in the numbers file -> the function that computes it."""


def iso_day(day: int) -> str:
    """``YYYY-MM-DD`` of a day number (days since 1970-01-01 UTC)."""
    return ms_to_iso(day * MS_PER_DAY)[:10]
