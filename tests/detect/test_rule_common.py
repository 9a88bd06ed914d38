"""The rules' shared machinery: keyed tables, pair runs, plane distances, the pair screen."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from pyproj import Geod

from seabridge.detect.rules._common import (
    RUN_SCHEMA,
    Schema,
    advance,
    empty_table,
    ensure,
    keep,
    locate,
    pair_keys,
    pairs_within,
    plane_distance_m,
    split_pair_key,
    update_runs,
)
from seabridge.units import M_PER_NM

GEOD = Geod(ellps="WGS84")
SCHEMA: Schema = {"count": (np.int64, 0), "value": (np.float64, np.nan)}


def test_tables_insert_in_key_order_with_starting_values() -> None:
    table = empty_table(SCHEMA)
    rows, found = locate(table, np.array([5, 1]))
    assert not found.any()
    rows = ensure(table, SCHEMA, np.array([5, 1, 5]))
    assert table["key"].tolist() == [1, 5]
    assert rows.tolist() == [1, 0, 1]
    table["count"][rows] += 1  # one increment per distinct row: fancy indexing
    assert table["count"].tolist() == [1, 1]
    rows = ensure(table, SCHEMA, np.array([3, 9]))
    assert table["key"].tolist() == [1, 3, 5, 9]
    assert table["count"].tolist() == [1, 0, 1, 0]
    assert np.isnan(table["value"][rows]).all()
    keep(table, table["key"] != 3)
    assert table["key"].tolist() == [1, 5, 9]
    rows, found = locate(table, np.array([9, 3, 10]))
    assert found.tolist() == [True, False, False]
    assert table["key"][rows[found]].tolist() == [9]


def test_pair_keys_are_unordered_and_reversible() -> None:
    a = np.array([431_000_001, 999_999_999, 2])
    b = np.array([412_000_002, 1, 999_999_998])
    keys = pair_keys(a, b)
    assert (keys == pair_keys(b, a)).all()
    assert [split_pair_key(int(k)) for k in keys] == [
        (412_000_002, 431_000_001),
        (1, 999_999_999),
        (2, 999_999_998),
    ]


def test_runs_extend_survive_short_interruptions_and_restart_after_long_ones() -> None:
    schema: Schema = {**RUN_SCHEMA, "samples": (np.int64, 0), "total": (np.float64, 0.0)}
    runs = empty_table(schema)

    def tick(time_ms: int, keys: list[int]) -> dict[int, tuple[int, int, int, float]]:
        values = np.ones(len(keys))
        update_runs(
            runs, schema, np.array(keys, dtype=np.int64), time_ms, 100,
            sums={"total": values}, latest={},
        )  # fmt: skip
        return {
            int(k): (int(s), int(last), int(n), float(t))
            for k, s, last, n, t in zip(
                runs["key"],
                runs["start_ms"],
                runs["last_ms"],
                runs["samples"],
                runs["total"],
                strict=True,
            )
        }

    assert tick(0, [7, 8]) == {7: (0, 0, 1, 1.0), 8: (0, 0, 1, 1.0)}
    assert tick(50, [7]) == {7: (0, 50, 2, 2.0), 8: (0, 0, 1, 1.0)}
    assert tick(100, [7]) == {7: (0, 100, 3, 3.0), 8: (0, 0, 1, 1.0)}  # 8: 100 ms, kept
    assert tick(101, []) == {7: (0, 100, 3, 3.0)}  # 8: 101 ms, forgotten
    assert tick(200, [7]) == {7: (0, 200, 4, 4.0)}  # a 100 ms interruption: the same run
    assert tick(301, [7]) == {7: (301, 301, 1, 1.0)}  # 101 ms: a new run


@pytest.mark.parametrize("lat0", [0.0, 26.0, 45.0, 60.0, -70.0])
def test_plane_distance_is_within_a_thousandth_of_the_geodesic(lat0: float) -> None:
    rng = np.random.default_rng(int(lat0 + 100))
    n = 5000
    lat_a = lat0 + rng.uniform(-1, 1, n)
    lon_a = rng.uniform(-180, 180, n)
    azimuth = rng.uniform(0, 360, n)
    distance = np.exp(rng.uniform(np.log(1.0), np.log(50_000.0), n))
    lon_b, lat_b, _ = GEOD.fwd(lon_a, lat_a, azimuth, distance)
    plane = plane_distance_m(lat_a, lon_a, np.asarray(lat_b), np.asarray(lon_b))
    assert np.max(np.abs(plane / distance - 1)) < 1e-3


def test_dead_reckoning_moves_known_vessels_only() -> None:
    lat = np.array([26.0, 26.0, 26.0])
    lon = np.array([123.0, 179.999, 123.0])
    new_lat, new_lon = advance(
        lat, lon, np.array([10.0, 10.0, np.nan]), np.array([0.0, 90.0, 0.0]), np.full(3, 360.0)
    )
    _, _, north = GEOD.inv(123.0, 26.0, new_lon[0], new_lat[0])
    assert north == pytest.approx(M_PER_NM, rel=1e-3)  # 10 kn for 6 min: 1 nm
    assert new_lon[1] < -179.9  # across the antimeridian, wrapped
    assert (new_lat[2], new_lon[2]) == (26.0, 123.0)


def _brute(lat: Any, lon: Any, radius_m: float) -> set[tuple[int, int]]:
    i, j = np.triu_indices(lat.size, 1)
    close = plane_distance_m(lat[i], lon[i], lat[j], lon[j]) <= radius_m
    return set(zip(i[close].tolist(), j[close].tolist(), strict=True))


@pytest.mark.parametrize(
    ("count", "radius_m", "lat0", "lon0"),
    [
        (2, 500.0, 26.0, 123.0),
        (300, 500.0, 26.0, 123.0),
        (2000, 500.0, 26.0, 123.0),
        (2000, 5556.0, 26.0, 123.0),
        (1000, 500.0, 0.0, 179.99),  # across the antimeridian
        (1000, 2000.0, 70.0, 10.0),
    ],
)
def test_the_pair_screen_returns_exactly_the_brute_force_pairs(
    count: int, radius_m: float, lat0: float, lon0: float
) -> None:
    rng = np.random.default_rng(count)
    centres = rng.uniform(-0.2, 0.2, (max(1, count // 50), 2))
    pos = centres[rng.integers(0, len(centres), count)] + rng.normal(0, 0.005, (count, 2))
    lat = lat0 + pos[:, 0]
    lon = (lon0 + pos[:, 1] + 180.0) % 360.0 - 180.0
    i, j, distance = pairs_within(lat, lon, radius_m)
    assert (i < j).all()
    assert set(zip(i.tolist(), j.tolist(), strict=True)) == _brute(lat, lon, radius_m)
    assert (distance <= radius_m).all()
    if count > 2:
        assert i.size > 0
    # With anchors: exactly the brute-force pairs holding one, in (i, j) order.
    anchors = rng.random(count) < 0.05
    anchors[0] = True
    i, j, distance = pairs_within(lat, lon, radius_m, anchors)
    wanted = {(a, b) for a, b in _brute(lat, lon, radius_m) if anchors[a] or anchors[b]}
    assert list(zip(i.tolist(), j.tolist(), strict=True)) == sorted(wanted)
    assert distance.tolist() == plane_distance_m(lat[i], lon[i], lat[j], lon[j]).tolist()
