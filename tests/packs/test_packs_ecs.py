"""The built-in ``ecs`` pack against its authorities: coordinates as published, every name in
every language, and the claim metadata every zone must carry.

Expected values are written here as the sources give them (degrees and decimal minutes, from
ecs-facts.md §1.1, §1.2 and §2.1), not copied from the data files.
"""

from __future__ import annotations

import math
import re
import tomllib
from typing import Any

import pytest
import shapely
from shapely.geometry import Point, Polygon, shape

from seabridge.packs import ISO2_PATTERN, load_pack

# id -> (lat, lon) as (deg, decimal min): PRC SOA list of 15 Sep 2012 (ecs-facts.md §1.1).
SOA_FEATURES = {
    "uotsuri": ((25, 44.6), (123, 28.4)),
    "kuba": ((25, 55.4), (123, 40.9)),
    "taisho": ((25, 55.3), (124, 33.5)),
    "kitakojima": ((25, 43.8), (123, 32.5)),
    "minamikojima": ((25, 43.4), (123, 33.0)),
    "okinokitaiwa": ((25, 46.9), (123, 32.6)),
    "okinominamiiwa": ((25, 45.3), (123, 34.0)),
    "tobise": ((25, 44.1), (123, 30.4)),
}
# id -> (JP usage, PRC usage, ja, zh) from the same table.
NAMES = {
    "uotsuri": ("Uotsuri-shima", "Diaoyu Dao", "魚釣島", "钓鱼岛"),
    "kuba": ("Kuba-jima", "Huangwei Yu", "久場島", "黄尾屿"),
    "taisho": ("Taisho-to", "Chiwei Yu", "大正島", "赤尾屿"),
    "kitakojima": ("Kita-kojima", "Bei Xiaodao", "北小島", "北小岛"),
    "minamikojima": ("Minami-kojima", "Nan Xiaodao", "南小島", "南小岛"),
    "okinokitaiwa": ("Okino-kita-iwa", "Bei Yu", "沖ノ北岩", "北屿"),
    "okinominamiiwa": ("Okino-minami-iwa", "Nan Yu", "沖ノ南岩", "南屿"),
    "tobise": ("Tobise", "Fei Yu", "飛瀬", "飞屿"),
}
# PRC Government Statement of 10 Sep 2012 (ecs-facts.md §1.2): (lat min, lon min), in order.
BASELINE_DIAOYU = [
    (44.1, 27.5), (44.2, 27.4), (44.4, 27.4), (44.7, 27.5), (55.8, 40.7), (55.8, 41.1),
    (55.6, 41.3), (55.4, 41.4), (55.3, 41.4), (43.2, 33.4), (43.2, 33.2), (44.0, 27.6),
]  # fmt: skip
BASELINE_CHIWEI = [(55.3, 33.7), (55.2, 33.2), (55.3, 33.3), (55.5, 33.5), (55.5, 33.7)]
# Principled consensus of 18 Jun 2008 (ecs-facts.md §2.1): (d, m, s) lat, (d, m, s) lon.
JDZ = [
    ((29, 31, 0), (125, 53, 30)), ((29, 49, 0), (125, 53, 30)), ((30, 4, 0), (126, 3, 45)),
    ((30, 0, 0), (126, 10, 23)), ((30, 0, 0), (126, 20, 0)), ((29, 55, 0), (126, 26, 0)),
    ((29, 31, 0), (126, 26, 0)),
]  # fmt: skip
ZONE_KINDS = {
    "territorial_sea_belt", "contiguous_zone_belt", "eez_claim", "baseline",
    "joint_development_zone", "safety_zone", "area_of_interest", "custom",
}  # fmt: skip
LANGUAGES = ("en", "ja", "zh")
TOLERANCE_DEG = 1e-4


def _deg(degrees: int, minutes: float, seconds: float = 0.0) -> float:
    return degrees + minutes / 60 + seconds / 3600


@pytest.fixture(scope="module")
def features() -> dict[str, dict[str, Any]]:
    data = load_pack("ecs").read_json("features")
    return {item["properties"]["id"]: item for item in data["features"]}


@pytest.fixture(scope="module")
def zones() -> dict[str, dict[str, Any]]:
    data = load_pack("ecs").read_json("zones")
    return {item["properties"]["id"]: item for item in data["features"]}


def _ring(zone: dict[str, Any]) -> list[list[float]]:
    assert zone["geometry"]["type"] == "Polygon"
    rings: list[list[list[float]]] = zone["geometry"]["coordinates"]
    assert len(rings) == 1
    assert rings[0][0] == rings[0][-1], "GeoJSON rings are closed"
    return rings[0]


def _assert_common_properties(props: dict[str, Any], kinds: set[str]) -> None:
    assert re.fullmatch(r"[a-z0-9][a-z0-9_-]*", props["id"])
    assert props["kind"] in kinds, props["id"]
    for language in LANGUAGES:
        assert props["names"][language].strip(), (props["id"], language)
    assert isinstance(props["source"], str) and props["source"].strip(), props["id"]
    assert isinstance(props["verified"], bool), props["id"]
    assert isinstance(props["note"], str) and props["note"].strip(), props["id"]


def test_the_eight_features_at_the_published_coordinates(
    features: dict[str, dict[str, Any]],
) -> None:
    islands = {k: v for k, v in features.items() if v["properties"]["kind"] in ("island", "rock")}
    assert set(islands) == set(SOA_FEATURES)
    for feature_id, (lat, lon) in SOA_FEATURES.items():
        geometry = islands[feature_id]["geometry"]
        assert geometry["type"] == "Point"
        got_lon, got_lat = geometry["coordinates"]
        assert got_lat == pytest.approx(_deg(*lat), abs=TOLERANCE_DEG), feature_id
        assert got_lon == pytest.approx(_deg(*lon), abs=TOLERANCE_DEG), feature_id
        assert islands[feature_id]["properties"]["verified"] is True


def test_the_japanese_table_agrees_to_the_whole_minute(features: dict[str, dict[str, Any]]) -> None:
    """The OPRF/GSI table gives whole minutes: the SOA values truncated to the minute."""
    for feature_id in SOA_FEATURES:
        raw = features[feature_id]["properties"]["coord_raw_jp"]
        lat_d, lat_m, lon_d, lon_m = map(int, re.findall(r"\d+", raw))
        lon, lat = features[feature_id]["geometry"]["coordinates"]
        assert math.floor((lat - lat_d) * 60 + 1e-6) == lat_m, feature_id
        assert math.floor((lon - lon_d) * 60 + 1e-6) == lon_m, feature_id


def test_every_feature_shows_every_name(features: dict[str, dict[str, Any]]) -> None:
    for feature_id, (en_jp, en_cn, ja, zh) in NAMES.items():
        names = features[feature_id]["properties"]["names"]
        assert names["ja"] == ja and names["zh"] == zh
        # The English form carries both usages, Japanese usage first (docs/packs.md).
        assert names["en"].startswith(f"{en_jp} / {en_cn}"), names["en"]
        assert names["zh-Hant"].strip()
    for item in features.values():
        _assert_common_properties(item["properties"], {"island", "rock", "platform"})


def test_features_carry_both_area_figures(features: dict[str, dict[str, Any]]) -> None:
    assert features["uotsuri"]["properties"]["area_km2_jp"] == 3.81
    assert features["uotsuri"]["properties"]["area_km2_cn"] == 3.91
    assert features["taisho"]["properties"]["area_km2_cn"] == 0.065
    assert features["kitakojima"]["properties"]["area_km2_cn"] is None  # not retrieved
    for feature_id in SOA_FEATURES:
        props = features[feature_id]["properties"]
        assert props["area_km2_jp"] > 0
        assert props["max_elevation_m"] > 0


def test_platforms_are_unverified_where_the_facts_say_so(
    features: dict[str, dict[str, Any]],
) -> None:
    platforms = {k: v for k, v in features.items() if v["properties"]["kind"] == "platform"}
    assert set(platforms) == {"chunxiao"}  # the only field with a published coordinate
    chunxiao = platforms["chunxiao"]
    assert chunxiao["geometry"]["coordinates"] == [124.911, 28.333]
    assert chunxiao["properties"]["verified"] is False
    assert "unverified" in chunxiao["properties"]["note"]


def test_prc_baselines_have_17_points_as_declared(zones: dict[str, dict[str, Any]]) -> None:
    baselines = {k: v for k, v in zones.items() if v["properties"]["kind"] == "baseline"}
    assert set(baselines) == {"prc-2012-baselines-diaoyu", "prc-2012-baselines-chiwei"}
    total = 0
    for zone_id, declared, lon_deg in (
        ("prc-2012-baselines-diaoyu", BASELINE_DIAOYU, 123),
        ("prc-2012-baselines-chiwei", BASELINE_CHIWEI, 124),
    ):
        zone = baselines[zone_id]
        assert zone["properties"]["declared_by"] == "CN"
        ring = _ring(zone)[:-1]
        total += len(ring)
        expected = {(round(_deg(lon_deg, b), 5), round(_deg(25, a), 5)) for a, b in declared}
        assert {(round(x, 5), round(y, 5)) for x, y in ring} == expected
        assert ring[0] == [
            round(_deg(lon_deg, declared[0][1]), 6),
            round(_deg(25, declared[0][0]), 6),
        ]
    assert total == 17


def test_joint_development_block_has_its_7_vertices(zones: dict[str, dict[str, Any]]) -> None:
    block = zones["jp-cn-2008-joint-development-block"]
    assert block["properties"]["kind"] == "joint_development_zone"
    assert block["properties"]["declared_by"] == "CN+JP"
    ring = _ring(block)[:-1]
    expected = {(round(_deg(*lon), 5), round(_deg(*lat), 5)) for lat, lon in JDZ}
    assert {(round(x, 5), round(y, 5)) for x, y in ring} == expected
    assert len(ring) == 7


def test_every_zone_has_the_claim_metadata(zones: dict[str, dict[str, Any]]) -> None:
    for item in zones.values():
        props = item["properties"]
        _assert_common_properties(props, ZONE_KINDS)
        for code in props["declared_by"].split("+"):
            assert code == "geometric" or ISO2_PATTERN.fullmatch(code), props["declared_by"]
        geometry = shape(item["geometry"])
        assert isinstance(geometry, Polygon) and geometry.is_valid, props["id"]
        assert shapely.is_ccw(geometry.exterior), f"{props['id']}: RFC 7946 §3.1.6"
    assert {z["properties"]["kind"] for z in zones.values()} == {
        "baseline",
        "joint_development_zone",
        "area_of_interest",
    }


def test_the_baselines_enclose_the_features_they_were_drawn_around(
    features: dict[str, dict[str, Any]], zones: dict[str, dict[str, Any]]
) -> None:
    diaoyu = shape(zones["prc-2012-baselines-diaoyu"]["geometry"])
    chiwei = shape(zones["prc-2012-baselines-chiwei"]["geometry"])
    for feature_id in SOA_FEATURES:
        point = Point(features[feature_id]["geometry"]["coordinates"])
        assert (chiwei if feature_id == "taisho" else diaoyu).contains(point), feature_id


def test_the_area_of_interest_holds_everything(
    features: dict[str, dict[str, Any]], zones: dict[str, dict[str, Any]]
) -> None:
    area = shape(zones["ecs-area-of-interest"]["geometry"])
    assert zones["ecs-area-of-interest"]["properties"]["declared_by"] == "geometric"
    for item in [*features.values(), *zones.values()]:
        assert area.covers(shape(item["geometry"])), item["properties"]["id"]


def test_derived_zones_name_existing_features() -> None:
    pack = load_pack("ecs")
    spec = tomllib.loads(pack.file("derived_zones").read_text(encoding="utf-8"))
    feature_ids = {f["properties"]["id"] for f in pack.read_json("features")["features"]}
    belts = [b for b in spec["buffer"] if "id" in b]
    assert [(b["id"], b["kind"], b["inner_nm"], b["outer_nm"]) for b in belts] == [
        ("senkaku-diaoyu-12nm", "territorial_sea_belt", 0.0, 12.0),
        ("senkaku-diaoyu-12-24nm", "contiguous_zone_belt", 12.0, 24.0),
    ]
    for belt in belts:
        assert set(belt["features"]) == set(SOA_FEATURES) <= feature_ids
        assert belt["declared_by"] == "geometric"
        assert "approximates" in belt["note"]
    (safety,) = [b for b in spec["buffer"] if "id_suffix" in b]
    assert (safety["kind"], safety["outer_m"], safety["verified"]) == (
        "safety_zone",
        500,
        "from_feature",
    )
    for buffer in spec["buffer"]:
        assert set(LANGUAGES) <= set(buffer["names"])
        assert buffer["source"].strip()


def test_no_text_asserts_sovereignty() -> None:
    """Neutrality rule (DESIGN.md): zones are geometry or someone's declaration."""
    pack = load_pack("ecs")
    text = "\n".join(pack.file(key).read_text(encoding="utf-8") for key in pack.files).lower()
    for phrase in ("japanese territory", "chinese territory", "territory of", "inherent"):
        assert phrase not in text, phrase
