"""A real incident for report tests, made through the real code on two paired nodes.

JCG and CCG nodes (``init_node``, bundles exchanged) share one ManualClock; push bodies go
from one ledger to the other directly (what ``seabridge serve`` does over mutual TLS). The
story, with the numbers the report must give (hand-computed in ``Expected``):

- T0: a close-quarters event (cpa 250 m, tcpa 300 s) opens incident jcg-000001 at JCG, which
  notifies CCG (jcg/hotline/ccg#0); an update worsens it to cpa 180 m, tcpa 240 s.
- T0 + 90 s: CCG acknowledges (ccg/hotline/jcg#0): time to first acknowledgement 90 s.
- an operator's internal note (never in the report), then at T0 + 1890 s the operator
  resolves: time to resolution 1890 s; levels reached [1]; no escalation.
- JCG's track store: vessel A sails north along 123.47 E at 10 kn-ish fixes each 60 s,
  vessel B lies still at 25.74 N 123.48 E; A passes 25.74 N at a fix time, so the closest
  approach is the geodesic between (25.74, 123.47) and (25.74, 123.48).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from seabridge.ais.records import POSITION_SCHEMA
from seabridge.clock import ManualClock
from seabridge.detect.model import Event, EventStatus, RulebookRef
from seabridge.hotline.ledger import Ledger
from seabridge.node import NodeConfig, export_bundle, import_bundle, init_node
from seabridge.node.incidents import IncidentsService
from seabridge.node.runtime import open_ledger
from seabridge.tracks import TrackStore

__all__ = ["SECRET", "SHIP_A", "SHIP_B", "Expected", "Story", "make_story"]

T0_MS = 1_777_593_600_000  # 2026-05-01T00:00:00Z
SHIP_A, SHIP_B = 431999101, 413999101  # fleets of the ecs pack's parties (jcg, ccg)
SECRET = "INTERNAL-ONLY-REMARK"
_A, _E2 = 6_378_137.0, 6.694_379_990_14e-3  # WGS-84


def _parallel_m(lat_deg: float, dlon_deg: float) -> float:
    """Length of dlon along the parallel at lat: N(lat) cos(lat) dlon (the geodesic between two
    points 1 km apart on a parallel is shorter by well under a millimetre)."""
    phi = math.radians(lat_deg)
    return _A / math.sqrt(1 - _E2 * math.sin(phi) ** 2) * math.cos(phi) * math.radians(dlon_deg)


@dataclass(frozen=True)
class Expected:
    cpa_m: float = 180.0
    tcpa_s: float = 240.0
    closest_m: float = _parallel_m(25.74, 0.01)
    closest_at_ms: int = T0_MS - 120_000 + 4 * 60_000  # A's fix number 4 is at 25.74 N
    first_ack_s: float = 90.0
    resolution_s: float = 1890.0
    levels: tuple[int, ...] = (1,)


@dataclass
class Story:
    jcg: NodeConfig
    ccg: NodeConfig
    incident_id: str
    expected: Expected


def _node(root: Path, party: str, port: int, clock: ManualClock) -> NodeConfig:
    return init_node(
        root / party, party, f"{party.upper()} test node", f"127.0.0.1:{port}",
        f"127.0.0.1:{port + 1}", clock,
    )  # fmt: skip


def _deliver(sender: Ledger, receiver: Ledger, to: str) -> None:
    while (body := sender.push_request(to)) is not None:
        sender.accept_response(to, receiver.receive_push(body))


def _event(rulebook: RulebookRef, status: EventStatus, cpa_m: float, tcpa_s: float) -> Event:
    return Event(
        id="ev-cq-1", rule_id="close-quarters", kind="close_quarters", rulebook=rulebook,
        level=2, status=status, vessels=(SHIP_B, SHIP_A), start_ms=T0_MS - 60_000, end_ms=None,
        lat=25.74, lon=123.475, zone=None, metrics={"cpa_m": cpa_m, "tcpa_s": tcpa_s},
    )  # fmt: skip


def _tracks(path: Path) -> None:
    times = T0_MS - 120_000 + np.arange(9, dtype=np.int64) * 60_000
    lat_a = 25.74 + (np.arange(9) - 4) * 0.005  # about 9.7 kn north
    rows = {
        "mmsi": [SHIP_A] * 9 + [SHIP_B] * 9,
        "ts": np.concatenate([times, times]),
        "lat": np.concatenate([lat_a, np.full(9, 25.74)]),
        "lon": np.concatenate([np.full(9, 123.47), np.full(9, 123.48)]),
        "sog_kn": [9.7] * 9 + [0.0] * 9,
        "cog_deg": [0.0] * 18,
        "heading_deg": [0.0] * 18,
        "nav_status": [0] * 18,
        "msg_type": [1] * 18,
        "source": ["test"] * 18,
    }
    table = pa.table({k: pa.array(v, POSITION_SCHEMA.field(k).type) for k, v in rows.items()})
    with TrackStore.open(path) as store:
        store.append_positions(table)


def make_story(root: Path) -> Story:
    """Build the story in ``root`` (jcg/ and ccg/ node directories); see the module docstring."""
    clock = ManualClock(T0_MS)
    jcg, ccg = _node(root, "jcg", 18643, clock), _node(root, "ccg", 19643, clock)
    jcg_bundle, ccg_bundle = export_bundle(jcg, clock), export_bundle(ccg, clock)
    jcg, ccg = import_bundle(jcg, ccg_bundle, clock), import_bundle(ccg, jcg_bundle, clock)
    _tracks(jcg.dir.tracks)
    with (
        open_ledger(jcg, clock) as jcg_ledger,
        open_ledger(ccg, clock) as ccg_ledger,
        IncidentsService(jcg, jcg_ledger, clock) as jcg_side,
        IncidentsService(ccg, ccg_ledger, clock) as ccg_side,
    ):
        jcg_side.start()
        ccg_side.start()
        rulebook = jcg_side.rulebooks[0].ref
        events = [_event(rulebook, "open", 250.0, 300.0), _event(rulebook, "update", 180.0, 240.0)]
        (jcg.dir.root / "events.jsonl").write_text(
            "".join(json.dumps(e.as_json()) + "\n" for e in events), encoding="utf-8"
        )
        jcg_side.apply_events(events[:1])
        jcg_side.apply_events(events[1:])
        (incident,) = jcg_side.manager.list()
        _deliver(jcg_ledger, ccg_ledger, "ccg")
        ccg_side.consume()
        clock.advance(90)
        notification = ccg_side.ref("jcg/hotline/ccg", 0)
        ccg_ledger.send("jcg", "ack", {}, refs=(notification,), msg_id="ack.jcg.0")
        _deliver(ccg_ledger, jcg_ledger, "jcg")
        _deliver(jcg_ledger, ccg_ledger, "ccg")  # checkpoints and cosignatures both ways
        jcg_side.consume()
        jcg_side.manager.operator_note(incident["id"], "duty officer", SECRET, internal=True)
        clock.advance(1800)
        jcg_side.manager.operator_resolve(incident["id"], "duty officer", "vessels apart")
        _deliver(jcg_ledger, ccg_ledger, "ccg")
        _deliver(ccg_ledger, jcg_ledger, "jcg")
    return Story(jcg, ccg, incident["id"], Expected())
