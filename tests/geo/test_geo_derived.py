"""Derived zones: belts and safety zones from derived-zones.toml entries."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
import shapely
from geo_fixtures import SENKAKU, SENKAKU_POINTS, senkaku_geojson

from seabridge.errors import PackError
from seabridge.geo import (
    BELT_NOTE,
    Feature,
    ZoneSet,
    belt,
    contiguous_zone_belt,
    derived_zones,
    distance_m,
    features_from_geojson,
    safety_zones,
    territorial_sea_belt,
)
from seabridge.units import nm_to_m

NAMES = {"en": "Belt", "ja": "帯", "zh": "带"}


def _features() -> dict[str, Feature]:
    features = {f.id: f for f in features_from_geojson(senkaku_geojson(), source_name="f")}
    for number, (lat, lon, verified) in enumerate([(28.333, 124.911, False), (27.0, 125.0, True)]):
        features[f"rig{number}"] = Feature(
            id=f"rig{number}",
            kind="platform",
            names={"en": f"Rig {number}", "ja": f"リグ{number}"},
            lon=lon,
            lat=lat,
            source="test",
            verified=verified,
            note="one weak source" if not verified else "",
        )
    return features


SPEC: dict[str, Any] = {
    "buffer": [
        {
            "id": "senkaku-diaoyu-12nm",
            "kind": "territorial_sea_belt",
            "names": NAMES,
            "declared_by": "geometric",
            "features": list(SENKAKU),
            "inner_nm": 0.0,
            "outer_nm": 12.0,
            "source": "UNCLOS art. 3",
            "verified": True,
            "note": "geometry",
        },
        {
            "id": "senkaku-diaoyu-12-24nm",
            "kind": "contiguous_zone_belt",
            "names": NAMES,
            "declared_by": "geometric",
            "features": list(SENKAKU),
            "inner_nm": 12.0,
            "outer_nm": 24.0,
            "source": "UNCLOS art. 33(2)",
            "verified": True,
        },
        {
            "id_suffix": "safety-zone",
            "kind": "safety_zone",
            "feature_kind": "platform",
            "outer_m": 500,
            "names": {
                "en": "{feature}: 500 m safety zone",
                "ja": "500 m 安全水域",
                "zh": "{feature}",
            },
            "declared_by": "geometric",
            "source": "UNCLOS art. 60(5)",
            "verified": "from_feature",
            "note": "Drawn around the position.",
        },
    ]
}


def test_the_spec_gives_belts_and_one_safety_zone_per_platform() -> None:
    zones = ZoneSet(derived_zones(SPEC, _features()))
    assert zones.ids == (
        "senkaku-diaoyu-12nm", "senkaku-diaoyu-12-24nm", "rig0-safety-zone", "rig1-safety-zone"
    )  # fmt: skip
    twelve, ring = zones["senkaku-diaoyu-12nm"], zones["senkaku-diaoyu-12-24nm"]
    assert twelve.geometry.equals(belt(SENKAKU_POINTS, 0.0, nm_to_m(12.0)))
    assert ring.geometry.equals(belt(SENKAKU_POINTS, nm_to_m(12.0), nm_to_m(24.0)))
    assert (twelve.declared_by, twelve.note, ring.note) == ("geometric", "geometry", "")
    rig0, rig1 = zones["rig0-safety-zone"], zones["rig1-safety-zone"]
    assert (rig0.verified, rig1.verified) == (False, True)
    assert rig0.note == "Drawn around the position. rig0: one weak source"
    assert rig1.note == "Drawn around the position."
    # {feature} is the feature's name in that language (en when it has none); a name
    # without {feature} gets it as a prefix.
    assert dict(rig0.names) == {
        "en": "Rig 0: 500 m safety zone",
        "ja": "リグ0: 500 m 安全水域",
        "zh": "Rig 0",
    }
    coords = shapely.get_coordinates(shapely.boundary(rig0.geometry))
    radius = distance_m(28.333, 124.911, coords[:, 1], coords[:, 0])
    assert np.abs(radius - 500.0).max() < 1e-3  # UNCLOS art. 60(5)


def test_helpers_build_the_same_zones() -> None:
    features = _features()
    points = [features[key] for key in SENKAKU]
    twelve = territorial_sea_belt(points, zone_id="t", names=NAMES, source="s")
    ring = contiguous_zone_belt(points, zone_id="c", names=NAMES, source="s")
    derived = derived_zones(SPEC, features)
    assert twelve.geometry.equals(derived[0].geometry) and twelve.note == BELT_NOTE
    assert ring.geometry.equals(derived[1].geometry) and ring.kind == "contiguous_zone_belt"
    platforms = [features["rig0"], features["rig1"]]
    made = safety_zones(platforms, source="s")
    assert [z.id for z in made] == ["rig0-safety-zone", "rig1-safety-zone"]
    assert made[0].names["en"] == "Rig 0 500 m safety zone" and not made[0].verified
    assert made[0].geometry.equals(derived[2].geometry)


def _error(change: Any, number: int = 0) -> str:
    spec = copy.deepcopy(SPEC)
    change(spec["buffer"][number])
    with pytest.raises(PackError) as caught:
        derived_zones(spec, _features(), source_name="derived-zones.toml")
    return str(caught.value)


WHERE = "derived-zones.toml: [[buffer]] 0 (id 'senkaku-diaoyu-12nm')"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda e: e.pop("outer_nm"), "field 'outer_nm' (or 'outer_m') is missing"),
        (
            lambda e: e.update(outer_m=500),
            "field 'outer_nm': give 'outer_nm' or 'outer_m', not both",
        ),
        (lambda e: e.update(outer_nm="12"), "field 'outer_nm': expected a number"),
        (lambda e: e.update(inner_nm=-1), "field 'inner_nm': expected a distance >= 0"),
        (lambda e: e.update(inner_nm=12.0), "field 'outer_nm': the outer distance"),
        (
            lambda e: e.update(features=["uotsuri", "atlantis"]),
            "field 'features': unknown feature(s) 'atlantis'",
        ),
        (lambda e: e.update(features=[]), "field 'features': expected a non-empty list"),
        (lambda e: e.update(feature_kind="island"), "give either 'features' or 'feature_kind'"),
        (
            lambda e: e.update(verified="maybe"),
            "field 'verified': expected true, false or 'from_feature'",
        ),
        (lambda e: e.update(kind="eez"), "zone 'senkaku-diaoyu-12nm': field 'kind': unknown kind"),
        (lambda e: e.update(declared_by="Japan"), "field 'declared_by'"),
        (lambda e: e.update(names={"ja": "帯"}), "field 'names.en' is missing"),
        (lambda e: e.pop("source"), "field 'source' is missing"),
        (lambda e: e.update(colour="red"), "unknown field(s) colour"),
    ],
)
def test_errors_name_the_entry_id_and_field(change: Any, expected: str) -> None:
    message = _error(change)
    assert message.startswith(WHERE), message
    assert expected in message


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda e: e.update(feature_kind="reef"),
            "field 'feature_kind': no feature of kind 'reef'",
        ),
        (lambda e: e.update(id="x"), "field 'id': use 'id_suffix' with 'feature_kind'"),
        (lambda e: e.pop("id_suffix"), "field 'id_suffix'"),
    ],
)
def test_per_feature_entry_errors(change: Any, expected: str) -> None:
    message = _error(change, number=2)
    assert message.startswith("derived-zones.toml: [[buffer]] 2"), message
    assert expected in message


def test_duplicate_zone_ids_and_bad_tables() -> None:
    message = _error(lambda e: e.update(id="senkaku-diaoyu-12nm"), number=1)
    assert (
        "[[buffer]] 1 (id 'senkaku-diaoyu-12nm'): field 'id'" in message and "used twice" in message
    )
    with pytest.raises(PackError, match="unknown table"):
        derived_zones({"buffers": []}, {})
    with pytest.raises(PackError, match=r"array of tables"):
        derived_zones({"buffer": {}}, {})
    assert derived_zones({}, {}) == []
