"""The pipeline's mmsi -> statics cache: latest non-null field wins, party and flag once."""

from __future__ import annotations

import pyarrow as pa

from seabridge.ais.records import STATIC_SCHEMA
from seabridge.node.vesselinfo import STATIC_KEYS, VesselStatics
from seabridge.packs import load_pack, load_parties

JCG_PATROL, CCG_PATROL, FOREIGN = 431999101, 413999101, 538000001


def _statics(*rows: dict[str, object]) -> pa.Table:
    full = [{field.name: row.get(field.name) for field in STATIC_SCHEMA} for row in rows]
    for row in full:
        row.setdefault("msg_type", 24)
        row["msg_type"] = row["msg_type"] or 24
    return pa.Table.from_pylist(full, schema=STATIC_SCHEMA)


def test_parts_of_static_reports_add_up_and_nulls_keep_what_was_known() -> None:
    statics = VesselStatics(load_parties(load_pack("ecs")))
    assert statics.of(FOREIGN) == {"name": None, "ship_type": None, "flag": "MH", "party": None}
    statics.update(
        _statics(
            {"mmsi": FOREIGN, "ts": 2_000, "name": "NEWER"},
            {"mmsi": FOREIGN, "ts": 1_000, "name": "OLDER", "ship_type": 70},  # sorted by ts
            {"mmsi": CCG_PATROL, "ts": 1_000, "ship_type": 55, "flag": "CN"},
        )
    )
    assert statics.of(FOREIGN) == {"name": "NEWER", "ship_type": 70, "flag": "MH", "party": None}
    statics.update(_statics({"mmsi": FOREIGN, "ts": 3_000, "name": None, "ship_type": 80}))
    assert statics.of(FOREIGN)["name"] == "NEWER" and statics.of(FOREIGN)["ship_type"] == 80
    assert statics.of(CCG_PATROL) == {"name": None, "ship_type": 55, "flag": "CN", "party": "ccg"}
    assert statics.of(JCG_PATROL)["party"] == "jcg" and statics.of(JCG_PATROL)["flag"] == "JP"
    assert set(statics.of(JCG_PATROL)) == set(STATIC_KEYS) and len(statics) == 2
