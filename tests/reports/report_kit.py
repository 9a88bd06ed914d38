"""A small hand-made node for the report tests: track store, events.jsonl, state.sqlite.

Every number the tests expect is worked out by hand from what is built here (see
test_monthly.py). Positions are placed at geodesic distances west of Uotsuri-shima /
Diaoyu Dao, where no other feature is near: 5 nm (inside the 12 nm belt), 18 nm (in the
12-24 nm belt) and 40 nm (outside both). Import with ``from report_kit import ...``.
"""

from __future__ import annotations

import hashlib
import json
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from seabridge import geo
from seabridge.ais.records import POSITION_SCHEMA, STATIC_SCHEMA
from seabridge.clock import ManualClock
from seabridge.detect.model import Event, RulebookRef
from seabridge.hotline.entries import Ref
from seabridge.hotline.keys import KEY_TYPE_COSIGNATURE, KEY_TYPE_NOTE, SigningKey
from seabridge.hotline.ledger import Ledger
from seabridge.incidents.manager import IncidentManager
from seabridge.incidents.mechanism import load_mechanism
from seabridge.incidents.model import MessageRef, Outgoing, PeerMessage
from seabridge.packs import load_pack, load_parties
from seabridge.tracks import TrackStore
from seabridge.units import M_PER_NM

PACK = load_pack("ecs")
FEATURES = geo.load_features(PACK)
ZONES = geo.load_zones(PACK, FEATURES)
UOTSURI = next(f for f in FEATURES if f.id == "uotsuri")
BELT_12, BELT_24 = "senkaku-diaoyu-12nm", "senkaku-diaoyu-12-24nm"
MAY = int(datetime(2026, 5, 1, tzinfo=UTC).timestamp() * 1000)
DAY_MS = 86_400_000
HOUR_MS = 3_600_000
CCG_SHIP, CN_FISHER = 413999101, 412999003  # MID 413 and 412: CN
JCG_SHIP, JP_FISHER = 431999101, 431999004  # MID 431: JP
CCG_APRIL = 413999102  # only in April: outside the month
RULEBOOK = RulebookRef("ecs-standard", 1, "ab" * 32)


def at_nm(distance_nm: float) -> tuple[float, float]:
    """The point ``distance_nm`` due west of Uotsuri-shima."""
    lat, lon = geo.forward(UOTSURI.lat, UOTSURI.lon, 270.0, distance_nm * M_PER_NM)
    return float(lat), float(lon)


# (mmsi, day of May (1-based) or 0 for 30 April, hour, distance west in nm)
POSITIONS: list[tuple[int, int, int, float]] = [
    (CCG_SHIP, 1, 3, 5.0),
    (CCG_SHIP, 1, 9, 6.0),  # a second fix the same day: still one vessel-day
    (CCG_SHIP, 2, 4, 5.0),
    (CCG_SHIP, 3, 5, 18.0),
    (CN_FISHER, 1, 6, 18.0),
    (CN_FISHER, 2, 6, 19.0),
    (CN_FISHER, 2, 7, 40.0),  # outside both belts
    (JCG_SHIP, 2, 8, 5.0),
    (JP_FISHER, 1, 10, 40.0),
    (CCG_APRIL, 0, 12, 5.0),
]
SHIP_TYPES = {CCG_SHIP: 55, CN_FISHER: 30, JCG_SHIP: 55}  # JP_FISHER sent no static report


def position_ms(day: int, hour: int) -> int:
    return MAY + (day - 1) * DAY_MS + hour * HOUR_MS


def positions_table() -> pa.Table:
    rows: dict[str, list[Any]] = {field.name: [] for field in POSITION_SCHEMA}
    for mmsi, day, hour, distance in POSITIONS:
        lat, lon = at_nm(distance)
        values = {"mmsi": mmsi, "ts": position_ms(day, hour), "lat": lat, "lon": lon,
                  "sog_kn": 8.0, "cog_deg": 90.0, "heading_deg": 90.0, "nav_status": 0,
                  "msg_type": 1, "source": "kit"}  # fmt: skip
        for key, value in values.items():
            rows[key].append(value)
    arrays = [
        pa.array(rows[f.name], pa.int64()).cast(f.type)
        if f.name == "ts"
        else pa.array(rows[f.name], f.type)
        for f in POSITION_SCHEMA
    ]
    return pa.Table.from_arrays(arrays, schema=POSITION_SCHEMA)


def statics_table() -> pa.Table:
    rows = []
    for mmsi, ship_type in SHIP_TYPES.items():
        row: dict[str, Any] = {field.name: None for field in STATIC_SCHEMA}
        row.update(mmsi=mmsi, ts=MAY, msg_type=5, ship_type=ship_type, source="kit")
        rows.append(row)
    columns = {
        f.name: (pa.array([r[f.name] for r in rows], pa.int64()).cast(f.type) if f.name == "ts"
                 else pa.array([r[f.name] for r in rows], f.type))
        for f in STATIC_SCHEMA
    }  # fmt: skip
    return pa.table(columns, schema=STATIC_SCHEMA)


def build_store(path: Path) -> None:
    with TrackStore.open(path) as store:
        store.append_positions(positions_table())
        store.append_statics(statics_table())


def event(
    event_id: str,
    kind: str,
    status: str,
    level: int,
    vessels: tuple[int, ...],
    start_ms: int,
    *,
    zone: str | None = None,
    duration_s: float | None = None,
) -> Event:
    metrics = {} if duration_s is None else {"duration_s": duration_s}
    return Event(
        id=event_id, rule_id=kind.replace("_", "-"), kind=kind, rulebook=RULEBOOK, level=level,
        status=status,  # type: ignore[arg-type]
        vessels=vessels, start_ms=start_ms,
        end_ms=None if status in ("open", "update") else start_ms + 600_000,
        lat=UOTSURI.lat, lon=UOTSURI.lon - 0.1, zone=zone, metrics=metrics,
    )  # fmt: skip


def events() -> list[Event]:
    """Every status change, in order; the final states are what the report counts."""
    d1, d2 = position_ms(1, 3), position_ms(2, 8)
    return [
        event("entry-ccg", "zone_entry", "open", 2, (CCG_SHIP,), d1, zone=BELT_12),
        event("entry-ccg", "zone_entry", "closed", 2, (CCG_SHIP,), d1, zone=BELT_12),
        event("entry-jcg", "zone_entry", "open", 1, (JCG_SHIP,), d2, zone=BELT_12),
        event("ring-fisher", "zone_entry", "open", 1, (CN_FISHER,), d1, zone=BELT_24),
        event("cq-a", "close_quarters", "open", 1, (CCG_SHIP, JCG_SHIP), d2),
        event("cq-a", "close_quarters", "update", 2, (CCG_SHIP, JCG_SHIP), d2),
        event("cq-b", "close_quarters", "open", 2, (CN_FISHER, JCG_SHIP), d2 + 1000),
        event("cq-c", "close_quarters", "open", 3, (CCG_SHIP, JP_FISHER), d2 + 2000),
        event("cq-c", "close_quarters", "retracted", 3, (CCG_SHIP, JP_FISHER), d2 + 2000),
        event("gap-1", "ais_gap", "closed", 1, (CN_FISHER,), d1, duration_s=1800.0),
        event("gap-2", "ais_gap", "closed", 1, (JP_FISHER,), d2, duration_s=3600.0),
        event("enc-1", "encounter", "closed", 1, (CN_FISHER, JP_FISHER), d2, duration_s=7200.0),
        event("cq-april", "close_quarters", "open", 2, (CCG_SHIP, JCG_SHIP), MAY - HOUR_MS),
    ]


def write_events(path: Path) -> None:
    path.write_text("".join(json.dumps(e.as_json()) + "\n" for e in events()), encoding="utf-8")


class _Send:
    """The incidents' send function: numbers messages like the own log would."""

    def __init__(self) -> None:
        self.refs: list[MessageRef] = []

    def __call__(self, message: Outgoing) -> MessageRef:
        ref = MessageRef("jcg/hotline/ccg", len(self.refs), message.msg_id)
        self.refs.append(ref)
        return ref


def build_incidents(state: Path) -> None:
    """Two incidents in May: one acknowledged 5 min and resolved 35 min after it opened, one
    never answered; and one retracted (not counted)."""
    clock = ManualClock(position_ms(2, 9))
    send = _Send()
    manager = IncidentManager(state, load_mechanism(PACK), "jcg", clock, send,
                              parties=load_parties(PACK))  # fmt: skip
    try:
        manager.apply_events([event("cq-a", "close_quarters", "open", 2, (CCG_SHIP, JCG_SHIP),
                                    position_ms(2, 8))])  # fmt: skip
        manager.flush()
        clock.advance(300)
        first = send.refs[0]
        manager.on_peer_message(
            None,
            PeerMessage("ccg/hotline/jcg", 0, "ack.0", "ack", {}, ((first.origin, first.seq),)),
        )
        clock.advance(1800)
        incident = manager.list()[0]["id"]
        manager.operator_resolve(incident, "duty-officer", "vessels apart")
        clock.advance(3600)
        manager.apply_events([event("cq-b", "close_quarters", "open", 2, (CN_FISHER, JCG_SHIP),
                                    position_ms(3, 1))])  # fmt: skip
        manager.flush()
    finally:
        manager.close()


def _key(name: str, key_type: int) -> SigningKey:
    return SigningKey.from_seed(
        name, key_type, hashlib.sha256(f"{name}/{key_type}".encode()).digest()
    )


def _ledger(directory: Path, party: str, clock: ManualClock) -> Ledger:
    other = "ccg" if party == "jcg" else "jcg"
    directory.mkdir(parents=True, exist_ok=True)
    peers = {other: (_key(f"{other}/hotline", KEY_TYPE_NOTE).verifier,
                     _key(f"{other}/hotline/cosigner", KEY_TYPE_COSIGNATURE).verifier)}  # fmt: skip
    return Ledger(directory / "state.sqlite", party, _key(f"{party}/hotline", KEY_TYPE_NOTE),
                  _key(f"{party}/hotline/cosigner", KEY_TYPE_COSIGNATURE), peers, clock,
                  rng=random.Random(0))  # fmt: skip


def _push(sender: Ledger, receiver: Ledger) -> None:
    body = sender.push_request(receiver.party)
    assert body is not None
    sender.accept_response(receiver.party, receiver.receive_push(body))


def build_hotline(jcg_dir: Path, ccg_dir: Path) -> None:
    """jcg sends 3 messages on 4 May: receipted after 2 s (acked at +62 s, deadline +10 min),
    receipted after 4 s (acked at +124 s, deadline +60 s: late), and a note never pushed."""
    clock = ManualClock(position_ms(4, 0))
    jcg, ccg = _ledger(jcg_dir, "jcg", clock), _ledger(ccg_dir, "ccg", clock)
    body = {"text": "Vessel sighted", "text_en": "Vessel sighted", "marker": "INFORMATION"}
    try:
        first = jcg.send("ccg", "notification", body, deadline_ms=clock.now_ms() + 600_000)
        clock.advance(2)
        _push(jcg, ccg)
        clock.advance(60)
        ccg.send(
            "jcg", "ack", {"text": "received"}, refs=(Ref(first.log, first.seq, first.leaf_hash()),)
        )
        _push(ccg, jcg)
        clock.advance(60)
        second = jcg.send("ccg", "notification", body, deadline_ms=clock.now_ms() + 60_000)
        clock.advance(4)
        _push(jcg, ccg)
        clock.advance(120)
        ccg.send(
            "jcg", "ack", {"text": "late"}, refs=(Ref(second.log, second.seq, second.leaf_hash()),)
        )
        _push(ccg, jcg)
        clock.advance(60)
        jcg.send(
            "ccg", "note", {"text": "log note", "text_en": "log note", "marker": "INFORMATION"}
        )
    finally:
        jcg.close()
        ccg.close()


def build_node(root: Path) -> Path:
    """A jcg node directory with all of the above; returns it."""
    from seabridge.node.directory import init_node

    node = root / "jcg"
    init_node(node, "jcg", "Japan Coast Guard", "127.0.0.1:18443", "127.0.0.1:18080",
              ManualClock(MAY))  # fmt: skip
    build_store(node / "tracks.duckdb")
    write_events(node / "events.jsonl")
    build_hotline(node, root / "ccg-peer")
    build_incidents(node / "state.sqlite")
    return node
