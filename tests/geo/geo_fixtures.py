"""Test data for the geo tests: the eight Senkaku / Diaoyu features and zone builders.

Coordinates: PRC State Oceanic Administration list of 15 Sep 2012, cross-checked against
Japan's OPRF/GSI table (../shared/domain/ecs-facts.md §1.1), given there in degrees and
decimal minutes. Names: the same table (EN as used in Japan, JA, ZH simplified).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from shapely.geometry import MultiPoint, MultiPolygon, Polygon

from seabridge.geo import Zone, distance_m

# id: (lat deg, lat min, lon deg, lon min, en, ja, zh, kind)
SENKAKU_DM: dict[str, tuple[int, float, int, float, str, str, str, str]] = {
    "uotsuri": (25, 44.6, 123, 28.4, "Uotsuri-shima", "魚釣島", "钓鱼岛", "island"),
    "kuba": (25, 55.4, 123, 40.9, "Kuba-jima", "久場島", "黄尾屿", "island"),
    "taisho": (25, 55.3, 124, 33.5, "Taisho-to", "大正島", "赤尾屿", "island"),
    "kitakojima": (25, 43.8, 123, 32.5, "Kita-kojima", "北小島", "北小岛", "island"),
    "minamikojima": (25, 43.4, 123, 33.0, "Minami-kojima", "南小島", "南小岛", "island"),
    "okinokitaiwa": (25, 46.9, 123, 32.6, "Okino-kita-iwa", "沖ノ北岩", "北屿", "rock"),
    "okinominamiiwa": (25, 45.3, 123, 34.0, "Okino-minami-iwa", "沖ノ南岩", "南屿", "rock"),
    "tobise": (25, 44.1, 123, 30.4, "Tobise", "飛瀬", "飞屿", "rock"),
}
SENKAKU: dict[str, tuple[float, float]] = {
    key: (lat_d + lat_m / 60.0, lon_d + lon_m / 60.0)
    for key, (lat_d, lat_m, lon_d, lon_m, *_) in SENKAKU_DM.items()
}
SENKAKU_LAT: NDArray[np.float64] = np.array([lat for lat, _ in SENKAKU.values()])
SENKAKU_LON: NDArray[np.float64] = np.array([lon for _, lon in SENKAKU.values()])
SENKAKU_POINTS = MultiPoint([(lon, lat) for lat, lon in SENKAKU.values()])
# The benchmark box of the issue: 25.5-26.2 N, 123-125 E.
BOX_LAT = (25.5, 26.2)
BOX_LON = (123.0, 125.0)
NAMES = {"en": "Test zone", "ja": "テスト区域", "zh": "测试区"}


def senkaku_geojson() -> dict[str, Any]:
    """The eight features as a feature file (GeoJSON FeatureCollection of Points)."""
    features = []
    for key, (_, _, _, _, en, ja, zh, kind) in SENKAKU_DM.items():
        lat, lon = SENKAKU[key]
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": {
                    "id": key,
                    "kind": kind,
                    "names": {"en": en, "ja": ja, "zh": zh},
                    "source": "PRC SOA 2012-09-15; JP OPRF/GSI",
                    "verified": True,
                    "area_km2": 0.01,
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def zone(zone_id: str, geometry: Polygon | MultiPolygon, **overrides: Any) -> Zone:
    """A valid zone with test metadata; keyword arguments replace fields."""
    fields: dict[str, Any] = {
        "id": zone_id,
        "kind": "custom",
        "names": dict(NAMES),
        "declared_by": "geometric",
        "source": "test",
        "verified": True,
        "note": "",
        "geometry": geometry,
    }
    fields.update(overrides)
    return Zone(**fields)


def random_points(
    count: int,
    seed: int,
    lat_range: tuple[float, float] = BOX_LAT,
    lon_range: tuple[float, float] = BOX_LON,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Seeded uniform (lat, lon) points in a box."""
    rng = np.random.default_rng(seed)
    return rng.uniform(*lat_range, count), rng.uniform(*lon_range, count)


def min_distance_m(
    lat: NDArray[np.float64],
    lon: NDArray[np.float64],
    lat_f: NDArray[np.float64],
    lon_f: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Each point's geodesic distance to the nearest of the reference points (Geod)."""
    return np.asarray(
        distance_m(lat[:, None], lon[:, None], lat_f[None, :], lon_f[None, :]).min(axis=1)
    )
