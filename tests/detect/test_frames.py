"""Vessel frames: latest fix per vessel at or before the tick within the max age, statics and
MID flags, parties, zone membership, screened fixes, applicability masks, snapshots."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest
from framekit import MIN, T0, Fix, fixes_table

from seabridge.ais.records import STATIC_SCHEMA
from seabridge.detect import FrameBuilder, applies_mask
from seabridge.detect.rule import Applicability
from seabridge.geo import load_features, load_zones
from seabridge.packs import load_pack, load_parties

PACK = load_pack("ecs")
ZONES = load_zones(PACK)
PARTIES = load_parties(PACK)
UOTSURI = next(f for f in load_features(PACK) if f.id == "uotsuri")
OPEN_SEA = (26.6, 124.6)
JP_FISHER, CN_PATROL, KR_SHIP = 431000123, 413999150, 440000001


def builder(max_age_min: float = 30.0) -> FrameBuilder:
    return FrameBuilder(PARTIES, ZONES, max_age_ms=round(max_age_min * MIN))


def statics(rows: list[tuple[int, int, int | None, str | None]]) -> pa.Table:
    """STATIC_SCHEMA rows (mmsi, ts_ms, ship_type, flag); other fields null."""
    columns = {
        name: pa.nulls(len(rows), STATIC_SCHEMA.field(name).type) for name in STATIC_SCHEMA.names
    }
    columns["mmsi"] = pa.array([r[0] for r in rows], pa.uint32())
    columns["ts"] = pa.array([r[1] for r in rows], pa.int64()).cast(STATIC_SCHEMA.field("ts").type)
    columns["msg_type"] = pa.array([5] * len(rows), pa.uint8())
    columns["ship_type"] = pa.array([r[2] for r in rows], pa.uint8())
    columns["flag"] = pa.array([r[3] for r in rows], pa.string())
    return pa.table(columns, schema=STATIC_SCHEMA)


def test_latest_fix_within_the_max_age_sorted_by_mmsi() -> None:
    frames = builder(max_age_min=10)
    frames.apply(
        fixes_table(
            [
                Fix(KR_SHIP, T0, 26.0, 124.0, 12.0, 90.0, 0),
                Fix(JP_FISHER, T0 + MIN, 26.1, 124.1, 3.0, 10.0, 7),
                Fix(KR_SHIP, T0 + 2 * MIN, 26.0, 124.01, 12.0, 91.0, 0),
                Fix(CN_PATROL, T0 + 3 * MIN, 26.2, 124.2),
            ]
        )
    )
    frame = frames.frame(T0 + 4 * MIN)
    assert frame.mmsi.tolist() == [CN_PATROL, JP_FISHER, KR_SHIP]
    assert frame.ts_ms.tolist() == [T0 + 3 * MIN, T0 + MIN, T0 + 2 * MIN]
    assert frame.lon[2] == 124.01 and frame.cog_deg[2] == pytest.approx(91.0)
    assert math.isnan(frame.sog_kn[0]) and frame.nav_status.tolist() == [-1, 7, 0]
    assert frame.usable.all()
    # Ten minutes after its last fix a vessel is still present; a moment later it is not.
    assert frames.frame(T0 + 11 * MIN).mmsi.tolist() == [CN_PATROL, JP_FISHER, KR_SHIP]
    assert frames.frame(T0 + 11 * MIN + 1).mmsi.tolist() == [CN_PATROL, KR_SHIP]
    assert len(frames.frame(T0 + 14 * MIN)) == 0


def test_an_older_fix_does_not_replace_a_newer_one() -> None:
    frames = builder()
    frames.apply(fixes_table([Fix(KR_SHIP, T0 + MIN, 26.0, 124.0)]))
    frames.apply(fixes_table([Fix(KR_SHIP, T0, 25.0, 123.0)]))
    frame = frames.frame(T0 + 2 * MIN)
    assert (frame.lat[0], frame.ts_ms[0]) == (26.0, T0 + MIN)


def test_flags_ship_types_and_parties() -> None:
    frames = builder()
    frames.apply(
        fixes_table([Fix(m, T0, *OPEN_SEA) for m in (JP_FISHER, CN_PATROL, KR_SHIP, 9_000_001)])
    )
    frame = frames.frame(T0)
    # Flags from the MID until statics say otherwise; no MID, no flag.
    assert frame.flag.tolist() == ["", "CN", "JP", "KR"]
    assert frame.ship_type.tolist() == [0, 0, 0, 0]
    assert [PARTIES[p].id if p >= 0 else None for p in frame.party.tolist()] == [
        None,
        "ccg",
        None,
        None,
    ]
    frames.apply_statics(
        statics(
            [
                (JP_FISHER, T0, 30, "JP"),
                (KR_SHIP, T0, 70, None),  # no flag in the report: the MID's stays
                (KR_SHIP, T0 + MIN, None, "PA"),  # a later report: flag only
                (CN_PATROL, T0, 55, "CN"),
            ]
        )
    )
    frame = frames.frame(T0)
    assert frame.ship_type.tolist() == [0, 55, 30, 70]
    assert frame.flag.tolist() == ["", "CN", "JP", "PA"]


def test_zone_membership_is_computed_once_for_the_frame() -> None:
    frames = builder()
    frames.apply(
        fixes_table(
            [
                Fix(JP_FISHER, T0, UOTSURI.lat + 0.02, UOTSURI.lon),  # about 1.2 nm off
                Fix(KR_SHIP, T0, *OPEN_SEA),
            ]
        )
    )
    frame = frames.frame(T0)
    assert frame.zone_ids == ZONES.ids
    assert frame.in_zone("senkaku-diaoyu-12nm").tolist() == [True, False]
    assert frame.in_zone("senkaku-diaoyu-12-24nm").tolist() == [False, False]
    assert frame.in_zone("no-such-zone").tolist() == [False, False]


def test_rejected_fixes_never_move_a_vessel() -> None:
    frames = builder(max_age_min=5)
    good = Fix(KR_SHIP, T0, 26.0, 124.0)
    jump = Fix(KR_SHIP, T0 + 10_000, 30.0, 130.0)
    frames.apply(fixes_table([good, jump]), np.array([True, False]))
    frame = frames.frame(T0 + MIN)
    assert (frame.lat[0], frame.ts_ms[0], bool(frame.usable[0])) == (26.0, T0, True)
    # Once the accepted fix is older than the max age, the vessel shows its rejected fix,
    # marked unusable, until that one ages out too.
    frame = frames.frame(T0 + 5 * MIN + 5_000)
    assert (frame.lat[0], bool(frame.usable[0])) == (30.0, False)
    assert len(frames.frame(T0 + 5 * MIN + 10_001)) == 0
    # A vessel whose only fix was rejected is present but unusable.
    frames.apply(fixes_table([Fix(JP_FISHER, T0 + 6 * MIN, 26.5, 124.5)]), np.array([False]))
    frame = frames.frame(T0 + 6 * MIN)
    assert frame.mmsi.tolist() == [JP_FISHER] and not frame.usable[0]


def test_snapshot_and_restore() -> None:
    frames = builder()
    frames.apply(fixes_table([Fix(KR_SHIP, T0, 26.0, 124.0)]))
    saved = frames.snapshot()
    frames.apply(fixes_table([Fix(KR_SHIP, T0 + MIN, 26.5, 124.5), Fix(JP_FISHER, T0, 1.0, 1.0)]))
    frames.restore(saved)
    frame = frames.frame(T0 + MIN)
    assert frame.mmsi.tolist() == [KR_SHIP] and frame.lat.tolist() == [26.0]
    frames.apply(fixes_table([Fix(JP_FISHER, T0 + MIN, 2.0, 2.0)]))
    frames.restore(saved)  # a snapshot can be restored more than once
    assert frames.frame(T0 + MIN).mmsi.tolist() == [KR_SHIP]


def test_applicability_masks() -> None:
    frames = builder()
    frames.apply(
        fixes_table(
            [
                Fix(JP_FISHER, T0, UOTSURI.lat + 0.02, UOTSURI.lon, 3.0, 0.0, 7),
                Fix(CN_PATROL, T0, *OPEN_SEA, 12.0, 0.0, 0),
                Fix(KR_SHIP, T0, 26.7, 124.7, 0.1, 0.0, 0),  # barely moving
                Fix(440000002, T0, 26.8, 124.8, 8.0, 0.0, 1),  # at anchor, SOG noise
            ]
        )
    )
    frames.apply_statics(statics([(JP_FISHER, T0, 30, None), (KR_SHIP, T0, 72, None)]))
    frame = frames.frame(T0)
    assert frame.mmsi.tolist() == [CN_PATROL, JP_FISHER, KR_SHIP, 440000002]

    def mask(**applies: object) -> list[bool]:
        result = applies_mask(frame, Applicability(**applies), PARTIES)  # type: ignore[arg-type]
        return [bool(x) for x in result]

    assert mask() == [True, True, True, True]
    assert mask(ship_types=((30, 30), (70, 79))) == [False, True, True, False]
    assert mask(flags=("JP", "KR")) == [False, True, True, True]
    assert mask(zones=("senkaku-diaoyu-12nm",)) == [False, True, False, False]
    assert mask(fleets=("ccg",)) == [True, False, False, False]
    assert mask(fleets=("jcg",)) == [False, False, False, False]
    assert mask(underway_only=True) == [True, True, False, False]
    assert mask(flags=("JP",), underway_only=True) == [False, True, False, False]
    no_fleets = applies_mask(frame, Applicability(fleets=("jcg",)), PARTIES, with_fleets=False)
    assert no_fleets.all()
    no_zones = applies_mask(
        frame, Applicability(zones=("chunxiao-safety-zone",)), PARTIES, with_zones=False
    )
    assert no_zones.all()
