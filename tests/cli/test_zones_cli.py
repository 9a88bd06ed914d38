"""``seabridge zones list|export|check`` end to end on the built-in ``ecs`` pack.

Distances are checked against pyproj's ``Geod`` (WGS-84), computed here independently.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from pyproj import Geod
from typer.testing import CliRunner

from seabridge.cli import app
from seabridge.packs import load_pack

runner = CliRunner()
WGS84 = Geod(ellps="WGS84")
M_PER_NM = 1852.0  # exact (BIPM SI brochure)
UOTSURI = (25.743333, 123.473333)  # lat, lon: PRC SOA list of 15 Sep 2012 (25°44.6'N 123°28.4'E)
BELT = "senkaku-diaoyu-12nm"
RING = "senkaku-diaoyu-12-24nm"
DECLARED = {
    "prc-2012-baselines-diaoyu",
    "prc-2012-baselines-chiwei",
    "jp-cn-2008-joint-development-block",
    "ecs-area-of-interest",
}


def _run(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def _one_line(text: str) -> str:
    """``text`` with the console's line wrapping undone (long paths wrap at 120 columns)."""
    return " ".join(text.split())


def _check(lat: float, lon: float) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(_run("zones", "check", str(lat), str(lon), "--json"))
    return found


def _offset(bearing_deg: float, distance_nm: float) -> tuple[float, float]:
    """The point ``distance_nm`` from Uotsuri-shima / Diaoyu Dao on ``bearing_deg``."""
    lon, lat, _ = WGS84.fwd(UOTSURI[1], UOTSURI[0], bearing_deg, distance_nm * M_PER_NM)
    return lat, lon


def _feature_positions() -> dict[str, tuple[float, float]]:
    data = load_pack("ecs").read_json("features")
    return {
        item["properties"]["id"]: (
            item["geometry"]["coordinates"][1],
            item["geometry"]["coordinates"][0],
        )
        for item in data["features"]
    }


def test_list_json_has_every_zone_and_feature() -> None:
    listed = json.loads(_run("zones", "list", "--json"))
    assert listed["pack"]["id"] == "ecs"
    zone_ids = {zone["id"] for zone in listed["zones"]}
    assert zone_ids == DECLARED | {BELT, RING, "chunxiao-safety-zone"}
    for zone in listed["zones"]:
        assert set(zone) == {"id", "kind", "name", "names", "declared_by", "verified", "note"}
        assert {"en", "ja", "zh"} <= set(zone["names"])
    assert len(listed["features"]) == 9
    by_id = {feature["id"]: feature for feature in listed["features"]}
    assert by_id["uotsuri"]["names"]["ja"] == "魚釣島"
    assert by_id["uotsuri"]["names"]["zh"] == "钓鱼岛"
    safety = next(zone for zone in listed["zones"] if zone["id"] == "chunxiao-safety-zone")
    assert safety["verified"] is False  # inherited from the platform


def test_list_in_one_language_still_shows_every_feature_name() -> None:
    listed = json.loads(_run("zones", "list", "--lang", "ja", "--json"))
    for zone in listed["zones"]:
        assert zone["name"] == zone["names"]["ja"]
    text = _run("zones", "list", "--lang", "en")
    for name in ("魚釣島", "钓鱼岛", "Uotsuri-shima / Diaoyu Dao", BELT, "geometric"):
        assert name in text


def test_export_geojson_to_stdout_and_kml_to_a_file(tmp_path: Path) -> None:
    exported = json.loads(_run("zones", "export", "--format", "geojson"))
    assert exported["type"] == "FeatureCollection"
    ids = {item["properties"]["id"] for item in exported["features"]}
    assert DECLARED | {BELT, RING} <= ids
    for item in exported["features"]:
        assert {"declared_by", "verified", "source", "note"} <= set(item["properties"])
    target = tmp_path / "zones.kml"
    _run("zones", "export", "--format", "kml", "--out", str(target))
    kml = target.read_text(encoding="utf-8")
    assert "<kml" in kml and BELT in kml and "jp-cn-2008-joint-development-block" in kml


def test_check_near_uotsuri_is_in_the_belt_not_the_ring() -> None:
    lat, lon = _offset(0.0, 3.0)
    found = _check(lat, lon)
    assert set(found) == {"zones", "features"}
    assert BELT in found["zones"] and RING not in found["zones"]
    assert "ecs-area-of-interest" in found["zones"]
    assert set(found["features"]) == set(_feature_positions())
    assert found["features"]["uotsuri"] == pytest.approx(3.0, abs=0.1)


def test_check_18_nm_west_is_in_the_ring() -> None:
    lat, lon = _offset(270.0, 18.0)  # Uotsuri-shima is the westernmost feature
    found = _check(lat, lon)
    assert RING in found["zones"] and BELT not in found["zones"]
    assert min(found["features"].values()) == pytest.approx(18.0, abs=0.1)


@pytest.mark.parametrize(("lat", "lon"), [(25.9, 123.9), (26.2, 123.2), (29.8, 126.2)])
def test_distances_match_geod(lat: float, lon: float) -> None:
    found = _check(lat, lon)
    for feature_id, (f_lat, f_lon) in _feature_positions().items():
        _, _, expected_m = WGS84.inv(lon, lat, f_lon, f_lat)
        assert found["features"][feature_id] == pytest.approx(expected_m / M_PER_NM, abs=0.1)


def test_check_in_the_joint_development_block() -> None:
    found = _check(29.7, 126.2)
    assert "jp-cn-2008-joint-development-block" in found["zones"]
    assert BELT not in found["zones"] and RING not in found["zones"]


def test_check_prints_tables() -> None:
    lat, lon = _offset(90.0, 1.0)
    text = _run("zones", "check", str(lat), str(lon))
    assert BELT in text and "uotsuri" in text and "distance_nm" in text


def test_a_user_pack_by_path(tmp_path: Path) -> None:
    root = tmp_path / "mysea"
    shutil.copytree(load_pack("ecs").path, root)
    listed = json.loads(_run("zones", "list", "--pack", str(root), "--json"))
    assert {zone["id"] for zone in listed["zones"]} >= {BELT, RING}


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["zones", "list", "--pack", "./no-such-pack"], "no-such-pack: no such pack directory"),
        (["zones", "list", "--pack", "atlantis"], "built-in packs: ecs"),
        (["zones", "list", "--lang", "fr"], "--lang fr"),
        (["zones", "export", "--format", "shp"], "--format shp"),
        (["zones", "check", "95", "123"], "LAT 95.0"),
        (["zones", "check", "25", "190"], "LON 190.0"),
        (["zones", "check", "--pack", "/nowhere/pack", "25", "123"], "no such pack directory"),
    ],
)
def test_bad_input_exits_2_naming_it(args: list[str], needle: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert needle in _one_line(result.stderr)


def test_negative_coordinates_after_double_dash() -> None:
    found = json.loads(_run("zones", "check", "--json", "--", "-33.9", "151.2"))
    assert found["zones"] == []
    assert min(found["features"].values()) > 3000


def test_non_numeric_lat_is_a_usage_error() -> None:
    assert runner.invoke(app, ["zones", "check", "north", "123"]).exit_code == 2


def test_a_broken_pack_exits_2_naming_the_file(tmp_path: Path) -> None:
    root = tmp_path / "broken"
    shutil.copytree(load_pack("ecs").path, root)
    (root / "zones.geojson").write_text('{"type": "FeatureCollection", "features": [', "utf-8")
    result = runner.invoke(app, ["zones", "list", "--pack", str(root)])
    assert result.exit_code == 2
    assert "zones.geojson: invalid JSON at line 1, column" in _one_line(result.stderr)
