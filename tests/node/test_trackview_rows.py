"""trackview.position_rows, built a column at a time, against the row-by-row definition."""

from __future__ import annotations

import math
from typing import Any

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from seabridge.ais.records import POSITION_SCHEMA
from seabridge.node.trackview import position_rows
from seabridge.units import ms_to_iso

_FLOATS = ("lat", "lon", "sog_kn", "cog_deg", "heading_deg")


def _reference(table: pa.Table) -> list[dict[str, Any]]:
    """One row at a time: ISO time by units.ms_to_iso, floats rounded to 6 decimals."""

    def number(value: Any) -> float | None:
        return None if value is None or math.isnan(value) else round(float(value), 6)

    rows = []
    for row in table.to_pylist():
        ts_ms = round(row["ts"].timestamp() * 1000)
        nav = row["nav_status"]
        rows.append(
            {
                "mmsi": row["mmsi"],
                "ts": ms_to_iso(ts_ms),
                "ts_ms": ts_ms,
                **{key: number(row[key]) for key in _FLOATS},
                "nav_status": None if nav is None or nav < 0 else nav,
            }
        )
    return rows


def _table(rows: list[dict[str, Any]]) -> pa.Table:
    columns = {field.name: [row.get(field.name) for row in rows] for field in POSITION_SCHEMA}
    columns["ts"] = pa.array(columns["ts"], pa.int64()).cast(POSITION_SCHEMA.field("ts").type)
    return pa.table(
        {
            name: pa.array(values, POSITION_SCHEMA.field(name).type)
            for name, values in columns.items()
        }
    )


_maybe_float = st.one_of(st.none(), st.just(math.nan), st.floats(-1e4, 1e4))
_rows = st.fixed_dictionaries(
    {
        "mmsi": st.integers(0, 999_999_999),
        "ts": st.one_of(st.integers(0, 253_402_300_799_999), st.just(1_283_817_601_000)),
        "lat": st.floats(-90, 90),
        "lon": st.floats(-180, 180),
        "sog_kn": _maybe_float,
        "cog_deg": _maybe_float,
        "heading_deg": _maybe_float,
        "nav_status": st.one_of(st.none(), st.integers(-1, 15)),
        "msg_type": st.just(1),
        "source": st.just("test"),
    }
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_rows, max_size=20))
def test_position_rows_are_the_row_by_row_rows(rows: list[dict[str, Any]]) -> None:
    table = _table(rows)
    assert position_rows(table) == _reference(table)


def test_position_rows_write_milliseconds_only_when_there_are_some() -> None:
    base = {"mmsi": 1, "lat": 1.0, "lon": 2.0, "msg_type": 1, "source": "x"}
    table = _table([{**base, "ts": 1_283_817_601_000}, {**base, "ts": 1_283_817_601_250}])
    assert [row["ts"] for row in position_rows(table)] == [
        "2010-09-07T00:00:01Z",
        "2010-09-07T00:00:01.250Z",
    ]
