"""pipeline._dedupe (integer keys sorted first, floats only where they tie) against the
five-key lexsort definition: the same rows in the same order."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from seabridge.ais.records import POSITION_SCHEMA
from seabridge.node.pipeline import _dedupe

KEYS = ("ts", "mmsi", "msg_type", "lat", "lon")
T0_MS = 1_714_521_600_000


def reference(table: pa.Table) -> pa.Table:
    """The first definition: lexsort on all five keys, the first of equal rows kept."""
    if table.num_rows <= 1:
        return table

    def column(table: pa.Table, key: str) -> Any:
        kind = pa.float64() if key in ("lat", "lon") else pa.int64()
        return table.column(key).cast(kind).to_numpy()

    order = np.lexsort([column(table, k) for k in reversed(KEYS)])
    ordered = table.take(pa.array(order))
    same = np.ones(table.num_rows - 1, dtype=bool)
    for values in (column(ordered, k) for k in KEYS):
        same &= values[1:] == values[:-1]
    keep = np.concatenate(([True], ~same))
    return ordered.filter(pa.array(keep)) if not keep.all() else ordered


def rows(table: pa.Table) -> list[tuple[Any, ...]]:
    """Row tuples, NaN made comparable and -0.0 told from 0.0."""

    def plain(value: Any) -> Any:
        if isinstance(value, float):
            return "nan" if math.isnan(value) else (value, math.copysign(1.0, value))
        return value

    return [tuple(plain(v) for v in row.values()) for row in table.to_pylist()]


@st.composite
def batches(draw: st.DrawFn) -> pa.Table:
    """Small key ranges, so rows tie on some keys and repeat on all (two receivers)."""
    count = draw(st.integers(0, 60))
    span_ms = draw(st.sampled_from([0, 3_000, 600_000, 10 * 86_400_000]))  # last: fallback
    big_mmsi = draw(st.booleans())  # 2**30 and up: the fallback too

    def fixed(values: st.SearchStrategy[Any]) -> list[Any]:
        return draw(st.lists(values, min_size=count, max_size=count))

    coords = st.sampled_from([26.0, 26.5, -0.0, 0.0, math.nan, math.inf, 123.25])
    table = pa.table(
        {
            "mmsi": pa.array(
                fixed(st.sampled_from([1, 5, 7, 2**30 if big_mmsi else 9])),
                pa.uint32(),
            ),
            "ts": pa.array(
                [T0_MS + t for t in fixed(st.integers(0, span_ms))],
                pa.int64(),
            ).cast(POSITION_SCHEMA.field("ts").type),
            "lat": pa.array(fixed(coords), pa.float64()),
            "lon": pa.array(fixed(coords), pa.float64()),
            "sog_kn": pa.array(range(count), pa.float32()),  # tells equal-key rows apart
            "msg_type": pa.array(fixed(st.sampled_from([1, 3, 18])), pa.uint8()),
        }
    )
    if draw(st.booleans()):
        table = pa.concat_tables([table, table.slice(0, count // 2)])  # a second receiver
    return table


@settings(max_examples=400, deadline=None)
@given(batches())
def test_dedupe_equals_the_five_key_lexsort(table: pa.Table) -> None:
    assert rows(_dedupe(table)) == rows(reference(table))


def test_a_two_receiver_batch() -> None:
    ts = pa.array([T0_MS + 1000, T0_MS, T0_MS, T0_MS], pa.int64())
    table = pa.table(
        {
            "mmsi": pa.array([7, 7, 7, 7], pa.uint32()),
            "ts": ts.cast(POSITION_SCHEMA.field("ts").type),
            "lat": [26.0, 26.5, 26.0, 26.5],
            "lon": [123.0, 123.0, 123.0, 123.0],
            "sog_kn": [0.0, 1.0, 2.0, 3.0],
            "msg_type": pa.array([1, 1, 1, 1], pa.uint8()),
        }
    )
    assert _dedupe(table).column("sog_kn").to_pylist() == [2.0, 1.0, 0.0]
