"""The data of the joint incident report, read from a node's files; each number from one query.

What is read (never written: ``state.sqlite`` is opened read-only, so a served node is safe):

- ``state.sqlite``, incident tables (:mod:`seabridge.incidents.store`): the incident row, its
  events (latest version of each), its timeline and its hotline thread;
- ``state.sqlite``, ledger tables, through the hotline's own read functions
  (:func:`~seabridge.hotline.views.export_evidence`, :func:`~seabridge.hotline.views.log_view`):
  the entries of the thread and of the acks, replies and missed deadlines that refer to them,
  each with an inclusion proof built by :func:`~seabridge.hotline.proofs.build_proof` (what
  ``seabridge ledger prove`` writes) and checked with
  :func:`~seabridge.hotline.proofs.verify_proof` (what ``ledger verify-proof`` runs);
- ``events.jsonl``: every status change of the incident's events (their metrics over time);
- the track store, through a :data:`PositionsFn` the caller hands in (a served node's store
  is read through its API; this module never opens DuckDB itself).

Every metric carries ``source``: the name of the one function (and its SQL, in
:data:`QUERIES`) it comes from, so a reader of the JSON data file can trace each number.
Timeline notes are shared only when recorded as shared (``internal: false``): a note without
the marker, or marked internal, never leaves the node. This module must not import the node,
web or CLI layers.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import pyarrow as pa

from seabridge.errors import IncidentError, InputError, LedgerError
from seabridge.geo import distance_m
from seabridge.hotline.entries import Entry, parse_timestamp
from seabridge.hotline.evidence import parse_evidence
from seabridge.hotline.proofs import build_proof_from_evidence, verify_proof
from seabridge.hotline.views import export_evidence, log_view
from seabridge.units import ms_to_iso

__all__ = [
    "QUERIES",
    "WINDOW_MS",
    "HotlineItem",
    "IncidentData",
    "PositionsFn",
    "closest_approach",
    "connect_readonly",
    "gather",
    "proof_text",
    "track_window",
]

PositionsFn = Callable[[Sequence[int], int, int], pa.Table]
"""``(mmsis, start_ms, end_ms) -> positions`` (``POSITION_SCHEMA``, sorted by mmsi, ts)."""

WINDOW_MS: Final = 15 * 60_000
"""Tracks are shown from this long before the first event to this long after the last."""
MAX_WINDOW_MS: Final = 6 * 3600_000
"""The window ends at most this long after the first event (a long incident: its start)."""
MAX_BRACKET_MS: Final = 10 * 60_000
"""A position is interpolated only between fixes at most this far apart (no guess over a gap)."""
ACK_KINDS: Final = frozenset({"ack", "reply"})
REQUEST_KINDS: Final = frozenset({"notification", "escalation", "note", "reply"})

QUERIES: Final[Mapping[str, str]] = {
    "incident": "SELECT * FROM incidents WHERE id = :id",
    "events": "SELECT event FROM incident_events WHERE incident_id = :id "
    "ORDER BY start_ms, event_id",
    "timeline": "SELECT n, at_ms, action, from_status, to_status, cause, actor, detail "
    "FROM incident_transitions WHERE incident_id = :id ORDER BY n",
    "thread": "SELECT origin, seq, msg_id, direction, kind, peer, level, template, created_ms "
    "FROM incident_messages WHERE incident_id = :id ORDER BY created_ms, origin, seq",
    "time_to_resolution_s": "SELECT (SELECT min(at_ms) FROM incident_transitions "
    "WHERE incident_id = :id AND action IN ('resolve', 'close')) - (SELECT min(at_ms) "
    "FROM incident_transitions WHERE incident_id = :id)",
    "levels_reached": "SELECT DISTINCT level FROM incident_messages WHERE incident_id = :id "
    "AND direction = 'out' AND level IS NOT NULL UNION SELECT level FROM incidents "
    "WHERE id = :id AND level > 0 ORDER BY 1",
    "escalations": "SELECT count(*) FROM incident_transitions WHERE incident_id = :id "
    "AND action = 'escalate'",
    "cpa": "events.jsonl and incident_events: the record of the incident's events with the "
    "least metrics.cpa_m (the close-quarters rule's predicted CPA, seabridge.detect.cpa, at "
    "detection); its metrics.tcpa_s",
    "closest_approach": "track store: both vessels' fixes in the window, each linearly "
    "interpolated at the other's fix times (fixes at most 10 min apart), WGS-84 geodesic "
    "distance (seabridge.geo.distance_m); the least",
    "time_to_first_ack_s": "signed hotline entries: created of the first ack or reply minus "
    "created of the entry it refers to",
}
"""Where every number comes from: the SQL (incident tables of ``state.sqlite``) or the rule."""


def connect_readonly(path: Path) -> sqlite3.Connection:
    """``state.sqlite`` opened read-only (``mode=ro``): a report never writes a node's state.

    Raises:
        InputError: the file is missing or not a node's state database.
    """
    if not path.is_file():
        raise InputError(f"{path}: no state database here; is this a node directory?")
    try:
        conn = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)
        conn.execute("SELECT 1 FROM incidents LIMIT 1")
    except sqlite3.DatabaseError as exc:
        raise InputError(f"{path}: not a node state database with incidents ({exc})") from None
    return conn


def _query(conn: sqlite3.Connection, name: str, incident_id: str) -> list[tuple[Any, ...]]:
    return conn.execute(QUERIES[name], {"id": incident_id}).fetchall()


def _metric(
    value: float | list[int] | None, unit: str, source: str, **extra: Any
) -> dict[str, Any]:
    return {"value": value, "unit": unit, "source": source, **extra}


# --- the incident tables ---------------------------------------------------------------------


def _incident(conn: sqlite3.Connection, incident_id: str) -> dict[str, Any]:
    cursor = conn.execute(QUERIES["incident"], {"id": incident_id})
    row = cursor.fetchone()
    if row is None:
        known = [r[0] for r in conn.execute("SELECT id FROM incidents ORDER BY id LIMIT 5")]
        raise IncidentError(
            f"no incident {incident_id!r} on this node (some ids: {', '.join(known) or 'none'}; "
            "see seabridge incidents list)"
        )
    record = dict(zip([d[0] for d in cursor.description], row, strict=True))
    for key in ("peers", "vessels", "rulebook"):
        record[key] = None if record[key] is None else json.loads(record[key])
    return record


def _timeline(conn: sqlite3.Connection, incident_id: str) -> tuple[list[dict[str, Any]], int]:
    """The shared steps of the timeline and how many notes were left out (internal)."""
    shared: list[dict[str, Any]] = []
    withheld = 0
    for n, at_ms, action, from_status, to_status, cause, actor, detail in _query(
        conn, "timeline", incident_id
    ):
        info = json.loads(detail)
        if action == "note" and info.get("internal") is not False:
            withheld += 1
            continue
        shared.append(
            {
                "n": n,
                "at_ms": at_ms,
                "at": ms_to_iso(at_ms),
                "action": action,
                "from": from_status,
                "to": to_status,
                "cause": cause,
                "actor": actor,
                "detail": info,
            }
        )
    return shared, withheld


def _thread(conn: sqlite3.Connection, incident_id: str) -> list[dict[str, Any]]:
    keys = ("origin", "seq", "msg_id", "direction", "kind", "peer", "level", "template")
    return [
        {**dict(zip(keys, row[:-1], strict=True)), "created_ms": row[-1]}
        for row in _query(conn, "thread", incident_id)
    ]


# --- events ----------------------------------------------------------------------------------


def event_history(
    events_path: Path | None, latest: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Every record of the incident's events in ``events.jsonl`` (each status change, in file
    order), plus the stored latest version of any event the file lacks."""
    ids = {str(event["id"]) for event in latest}
    found: list[dict[str, Any]] = []
    if events_path is not None and events_path.is_file():
        with events_path.open(encoding="utf-8") as handle:
            for line in handle:
                try:
                    record = json.loads(line)
                except ValueError:  # a line a crash cut short (node.eventlog skips it too)
                    continue
                if isinstance(record, dict) and record.get("id") in ids:
                    found.append(record)
    seen = {(r["id"], r.get("status"), json.dumps(r.get("metrics"), sort_keys=True)) for r in found}
    for event in latest:
        key = (event["id"], event.get("status"), json.dumps(event.get("metrics"), sort_keys=True))
        if key not in seen:
            found.append(dict(event))
    return found


def _cpa(history: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The record with the least ``cpa_m`` (ties: the first); None without one."""
    best: Mapping[str, Any] | None = None
    for record in history:
        cpa = (record.get("metrics") or {}).get("cpa_m")
        if cpa is None:
            continue
        if best is None or float(cpa) < float(best["metrics"]["cpa_m"]):
            best = record
    if best is None:
        return None
    metrics = best["metrics"]
    tcpa = metrics.get("tcpa_s")
    return {
        "cpa_m": _metric(float(metrics["cpa_m"]), "m", "cpa"),
        "tcpa_s": _metric(None if tcpa is None else float(tcpa), "s", "cpa"),
        "event": best["id"],
        "status": best.get("status"),
        "rule_id": best.get("rule_id"),
        "lat": best.get("lat"),
        "lon": best.get("lon"),
        "vessels": list(best.get("vessels", [])),
    }


# --- tracks ----------------------------------------------------------------------------------


def _window(events: Sequence[Mapping[str, Any]], incident: Mapping[str, Any]) -> tuple[int, int]:
    starts = [parse_timestamp(str(e["start"])) for e in events if e.get("start")]
    ends = [parse_timestamp(str(e["end"])) for e in events if e.get("end")]
    start_ms = min(starts, default=int(incident["start_ms"]))
    # An event still open has no end: the incident's creation (data time live) bounds it.
    end_ms = max([*ends, *starts, start_ms, int(incident["created_ms"])])
    end_ms = min(end_ms, start_ms + MAX_WINDOW_MS)
    return start_ms - WINDOW_MS, end_ms + WINDOW_MS


def track_window(conn: sqlite3.Connection, incident_id: str) -> tuple[list[int], int, int]:
    """The incident's vessels and the time window its map shows: ``(mmsis, start_ms, end_ms)``
    (what a caller reading a served node's tracks through its API asks for first).

    Raises:
        IncidentError: no such incident.
    """
    incident = _incident(conn, incident_id)
    events = [json.loads(row[0]) for row in _query(conn, "events", incident_id)]
    return [int(v) for v in incident["vessels"]], *_window(events, incident)


def _tracks(table: pa.Table, vessels: Sequence[int]) -> dict[int, dict[str, np.ndarray[Any, Any]]]:
    """Per vessel: ``ts_ms``, ``lat``, ``lon`` arrays sorted by time."""
    if table.num_rows == 0:
        return {}
    mmsi = np.asarray(table.column("mmsi").to_numpy(zero_copy_only=False), dtype=np.int64)
    ts = table.column("ts").cast(pa.int64()).to_numpy(zero_copy_only=False)
    lat = np.asarray(table.column("lat").to_numpy(zero_copy_only=False), dtype=np.float64)
    lon = np.asarray(table.column("lon").to_numpy(zero_copy_only=False), dtype=np.float64)
    tracks = {}
    for vessel in vessels:
        rows = np.flatnonzero(mmsi == vessel)
        if rows.size:
            order = rows[np.argsort(ts[rows], kind="stable")]
            tracks[int(vessel)] = {"ts_ms": ts[order], "lat": lat[order], "lon": lon[order]}
    return tracks


def _at(track: Mapping[str, np.ndarray[Any, Any]], times: np.ndarray[Any, Any]) -> Any:
    """Linear interpolation at ``times``; NaN outside the track or across a gap."""
    ts = track["ts_ms"]
    lat = np.interp(times, ts, track["lat"], left=np.nan, right=np.nan)
    lon = np.interp(times, ts, track["lon"], left=np.nan, right=np.nan)
    after = np.clip(np.searchsorted(ts, times, side="left"), 0, ts.size - 1)
    before = np.clip(after - 1, 0, ts.size - 1)
    exact = ts[after] == times
    gap = (ts[after] - ts[before] > MAX_BRACKET_MS) & ~exact
    lat[gap] = np.nan
    lon[gap] = np.nan
    return lat, lon


def closest_approach(
    a: Mapping[str, np.ndarray[Any, Any]], b: Mapping[str, np.ndarray[Any, Any]]
) -> dict[str, Any] | None:
    """The least separation of two tracks (see ``QUERIES["closest_approach"]``), or None when
    they never overlap in time: ``{distance_m, ts_ms, a: (lat, lon), b: (lat, lon)}``."""
    times = np.union1d(a["ts_ms"], b["ts_ms"])
    lat_a, lon_a = _at(a, times)
    lat_b, lon_b = _at(b, times)
    both = np.isfinite(lat_a) & np.isfinite(lat_b)
    if not both.any():
        return None
    rows = np.flatnonzero(both)
    dist = distance_m(lat_a[rows], lon_a[rows], lat_b[rows], lon_b[rows])
    k = int(np.argmin(dist))  # the first of equal minima: deterministic
    row = rows[k]
    return {
        "distance_m": float(dist[k]),
        "ts_ms": int(times[row]),
        "a": (float(lat_a[row]), float(lon_a[row])),
        "b": (float(lat_b[row]), float(lon_b[row])),
    }


# --- the hotline -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HotlineItem:
    """One signed entry of the incident: what it says, its record, its proof (or why none)."""

    entry: Entry
    receipt_time: str | None
    acknowledged: bool
    proof: dict[str, Any] | None
    signer: str | None
    signer_key_id: str | None
    receipts: tuple[tuple[str, int], ...] = ()
    proof_error: str | None = None

    @property
    def origin(self) -> str:
        return self.entry.log

    @property
    def seq(self) -> int:
        return self.entry.seq

    @property
    def proof_name(self) -> str:
        """The proof's file name: ``proof-<origin with / as _>-<seq>.json``."""
        return f"proof-{self.origin.replace('/', '_')}-{self.seq}.json"

    def as_json(self) -> dict[str, Any]:
        body = self.entry.body
        return {
            "origin": self.origin,
            "seq": self.seq,
            "msg_id": self.entry.msg_id,
            "kind": self.entry.kind,
            "author": self.origin.split("/", 1)[0],
            "created": self.entry.created,
            "deadline": self.entry.deadline,
            "lang": self.entry.lang,
            "marker": body.get("marker"),
            "template": body.get("template"),
            "level": body.get("level"),
            "text": body.get("text"),
            "text_en": body.get("text_en"),
            "refs": [{"origin": r.log, "seq": r.seq} for r in self.entry.refs],
            "signer": self.signer,
            "signer_key_id": self.signer_key_id,
            "receipted": self.receipt_time,
            "receipts": [{"cosigner": n, "time": t} for n, t in self.receipts],
            "acknowledged": self.acknowledged,
            "proof": None if self.proof is None else self.proof_name,
            "proof_error": self.proof_error,
        }


def proof_text(proof: Mapping[str, Any]) -> str:
    """A proof as ``seabridge ledger prove`` writes it (the same bytes)."""
    return json.dumps(proof, ensure_ascii=False, sort_keys=True, indent=2) + "\n"


def _selected(
    entries: Mapping[tuple[str, int], Entry],
    thread: Iterable[tuple[str, int]],
    names: set[str],
) -> list[tuple[str, int]]:
    """The thread's entries, those about the incident by name, and every entry referring to
    one of them (acks, replies, missed deadlines), to a fixed point; in created order."""
    chosen = {ref for ref in thread if ref in entries}
    chosen |= {ref for ref, e in entries.items() if str(e.body.get("incident", "")) in names}
    while True:
        more = {
            ref
            for ref, e in entries.items()
            if ref not in chosen and any((r.log, r.seq) in chosen for r in e.refs)
        }
        if not more:
            break
        chosen |= more
    return sorted(chosen, key=lambda ref: (parse_timestamp(entries[ref].created), *ref))


def _hotline(
    conn: sqlite3.Connection,
    party: str,
    incident: Mapping[str, Any],
    thread: Sequence[Mapping[str, Any]],
) -> list[HotlineItem]:
    evidence = parse_evidence(export_evidence(conn, party, ms_to_iso(incident["updated_ms"])))
    entries = {
        (log.origin, record.seq): Entry.from_bytes(record.entry)
        for log in evidence.logs
        for record in log.entries
    }
    refs = [(str(m["origin"]), int(m["seq"])) for m in thread]
    chosen = _selected(entries, refs, {str(incident["id"]), str(incident["corr_key"])})
    views: dict[tuple[str, int], Mapping[str, Any]] = {}
    peers = sorted({origin.split("/")[2] for origin, _ in chosen if origin.startswith(party)})
    peers += sorted({origin.split("/")[0] for origin, _ in chosen} - {party, *peers})
    for peer in peers:
        own, mirror = f"{party}/hotline/{peer}", f"{peer}/hotline/{party}"
        for row in log_view(conn, own, mirror, f"{party}/hotline/cosigner"):
            views[(row["origin"], row["seq"])] = row
    items = []
    for origin, seq in chosen:
        view = views.get((origin, seq), {})
        proof: dict[str, Any] | None = None
        error = signer = key_id = None
        receipts: tuple[tuple[str, int], ...] = ()
        try:
            proof = build_proof_from_evidence(evidence, origin, seq)
            result = verify_proof(proof)
            signer, key_id, receipts = (
                result.sent_by.name,
                result.sent_by.key_id.hex(),
                result.receipts,
            )
        except LedgerError as exc:  # no checkpoint covers it yet, or it does not verify
            proof, error = None, str(exc)
        items.append(
            HotlineItem(
                entries[(origin, seq)],
                view.get("receipt_time"),
                bool(view.get("acknowledged", False)),
                proof,
                signer,
                key_id,
                receipts,
                error,
            )
        )
    return items


def _first_ack(items: Sequence[HotlineItem]) -> dict[str, Any]:
    """The first ack or reply (items are in created order) that refers to a request."""
    by_ref = {(i.origin, i.seq): i for i in items}
    for item in items:
        if item.entry.kind not in ACK_KINDS:
            continue
        for ref in item.entry.refs:
            target = by_ref.get((ref.log, ref.seq))
            if target is None or target.entry.kind not in REQUEST_KINDS:
                continue
            delay_ms = parse_timestamp(item.entry.created) - parse_timestamp(target.entry.created)
            return _metric(
                delay_ms / 1000.0,
                "s",
                "time_to_first_ack_s",
                ack={"origin": item.origin, "seq": item.seq},
                of={"origin": target.origin, "seq": target.seq},
            )
    return _metric(None, "s", "time_to_first_ack_s")


# --- all of it -------------------------------------------------------------------------------


@dataclass(frozen=True)
class IncidentData:
    """Everything the report shows; :meth:`as_json` is the data file."""

    incident: dict[str, Any]
    events: list[dict[str, Any]]
    history: list[dict[str, Any]]
    timeline: list[dict[str, Any]]
    withheld_notes: int
    thread: list[dict[str, Any]]
    hotline: list[HotlineItem]
    window_ms: tuple[int, int]
    tracks: dict[int, dict[str, np.ndarray[Any, Any]]]
    metrics: dict[str, Any]
    vessel_names: dict[int, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        incident = self.incident
        return {
            "format": "seabridge-incident-report/v1",
            "incident": {
                "id": incident["id"],
                "origin": incident["origin"],
                "kind": incident["kind"],
                "status": incident["status"],
                "level": incident["level"],
                "correlation_key": incident["corr_key"],
                "vessels": incident["vessels"],
                "peers": incident["peers"],
                "zone": incident["zone"],
                "rulebook": incident["rulebook"],
                "start": ms_to_iso(incident["start_ms"]),
                "created": ms_to_iso(incident["created_ms"]),
                "updated": ms_to_iso(incident["updated_ms"]),
            },
            "window": {"start": ms_to_iso(self.window_ms[0]), "end": ms_to_iso(self.window_ms[1])},
            "metrics": self.metrics,
            "events": self.history,
            "timeline": [{k: v for k, v in s.items() if k != "at_ms"} for s in self.timeline],
            "internal_notes_withheld": self.withheld_notes,
            "hotline": [item.as_json() for item in self.hotline],
            "tracks": {
                str(mmsi): {"positions": int(track["ts_ms"].size)}
                for mmsi, track in sorted(self.tracks.items())
            },
            "queries": dict(QUERIES),
        }


def _metrics(
    conn: sqlite3.Connection,
    incident_id: str,
    history: Sequence[Mapping[str, Any]],
    tracks: Mapping[int, Mapping[str, np.ndarray[Any, Any]]],
    vessels: Sequence[int],
    hotline: Sequence[HotlineItem],
) -> dict[str, Any]:
    metrics: dict[str, Any] = {"cpa": _cpa(history)}
    pairs = []
    for i, a in enumerate(vessels):
        for b in vessels[i + 1 :]:
            if a in tracks and b in tracks:
                found = closest_approach(tracks[a], tracks[b])
                if found is not None:
                    pairs.append(
                        {
                            "vessels": [a, b],
                            "distance_m": _metric(found["distance_m"], "m", "closest_approach"),
                            "at": ms_to_iso(found["ts_ms"]),
                            "positions": [list(found["a"]), list(found["b"])],
                        }
                    )
    metrics["closest_approach"] = pairs
    metrics["time_to_first_ack_s"] = _first_ack(hotline)
    ((resolution_ms,),) = _query(conn, "time_to_resolution_s", incident_id)
    metrics["time_to_resolution_s"] = _metric(
        None if resolution_ms is None else resolution_ms / 1000.0, "s", "time_to_resolution_s"
    )
    levels = [int(level) for (level,) in _query(conn, "levels_reached", incident_id)]
    metrics["levels_reached"] = _metric(levels, "level", "levels_reached")
    ((escalations,),) = _query(conn, "escalations", incident_id)
    metrics["escalations"] = _metric(int(escalations), "count", "escalations")
    return metrics


def gather(
    conn: sqlite3.Connection,
    incident_id: str,
    party: str,
    *,
    events_path: Path | None = None,
    positions: PositionsFn | None = None,
    vessel_names: Mapping[int, str] | None = None,
) -> IncidentData:
    """Read everything the report of ``incident_id`` shows from a node of ``party``.

    Args:
        conn: ``state.sqlite``, read-only (:func:`connect_readonly`).
        incident_id: The incident (``jcg-000002``).
        party: The node's party (its logs are ``{party}/hotline/{peer}``).
        events_path: The node's ``events.jsonl`` (None: only the stored latest versions).
        positions: Reads the track store; None: no tracks (the map shows the events only).
        vessel_names: Names of vessels by MMSI, for labels.

    Raises:
        IncidentError: no such incident.
    """
    incident = _incident(conn, incident_id)
    events = [json.loads(row[0]) for row in _query(conn, "events", incident_id)]
    history = event_history(events_path, events)
    timeline, withheld = _timeline(conn, incident_id)
    thread = _thread(conn, incident_id)
    hotline = _hotline(conn, party, incident, thread)
    window = _window(events, incident)
    vessels = [int(v) for v in incident["vessels"]]
    tracks = {} if positions is None else _tracks(positions(vessels, *window), vessels)
    return IncidentData(
        incident=incident,
        events=events,
        history=history,
        timeline=timeline,
        withheld_notes=withheld,
        thread=thread,
        hotline=hotline,
        window_ms=window,
        tracks=tracks,
        metrics=_metrics(conn, incident_id, history, tracks, vessels, hotline),
        vessel_names=dict(vessel_names or {}),
    )
