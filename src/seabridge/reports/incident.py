"""The joint incident report: map, timeline, hotline entries with their proofs, metrics.

:func:`write_incident_report` renders what :func:`~seabridge.reports.incident_data.gather`
read from a node into ``--out``::

    incident-<id>.html   the report (fonts embedded; one self-contained file)
    incident-<id>.pdf    the same, printed by Chromium (unless pdf=False)
    incident-<id>.json   every number with the query it comes from, every entry shown
    proof-<origin>-<seq>.json   one per hotline entry: exactly what ``seabridge ledger prove``
                         writes, for ``seabridge ledger verify-proof``

Same inputs give the same files: nothing depends on the wall clock (the header gives the
time of the data, the incident's last update). The map's CPA geometry: the star is where the
close-quarters rule predicted the CPA at detection (the event's position and ``cpa_m``, from
:mod:`seabridge.detect.cpa`); the line joins both vessels' positions at their closest approach
in the recorded tracks (interpolated fixes, WGS-84 geodesic distance). Zones are geometry
labelled with who declares them, and features show every name. This module never imports
the node, web or CLI layers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from seabridge.geo import all_names, distances_nm
from seabridge.hotline.entries import parse_timestamp
from seabridge.reports import i18n
from seabridge.reports.incident_data import (
    QUERIES,
    IncidentData,
    PositionsFn,
    connect_readonly,
    gather,
    proof_text,
    track_window,
)
from seabridge.reports.incident_text import strings
from seabridge.units import M_PER_NM, ms_to_iso

if TYPE_CHECKING:
    from seabridge.geo import Feature, ZoneSet
    from seabridge.reports.render import ReportFiles

__all__ = [
    "FEATURE_RADIUS_NM",
    "incident_report",
    "incident_window",
    "report_stem",
    "write_incident_report",
]

FEATURE_RADIUS_NM = 60.0
"""Features this close to the incident are listed with all their names."""
_COLOURS = ("#1f5f8b", "#c0392b", "#27ae60", "#8e44ad", "#e67e22", "#16a085")


def report_stem(incident_id: str) -> str:
    """The report's file name without suffix: ``incident-<id>``."""
    return f"incident-{incident_id}"


def _metres(value: float | None, text: Mapping[str, str]) -> str:
    if value is None:
        return text["not_applicable"]
    return f"{value:,.0f} m ({value / M_PER_NM:.2f} nm)"


def _duration(value: float | None, missing: str) -> str:
    if value is None:
        return missing
    seconds = round(value)
    hours, rest = divmod(abs(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    sign = "-" if seconds < 0 else ""
    if hours:
        return f"{sign}{hours} h {minutes:02d} min {secs:02d} s"
    return f"{sign}{minutes} min {secs:02d} s" if minutes else f"{sign}{secs} s"


def _headline(data: IncidentData, text: Mapping[str, str]) -> list[dict[str, str]]:
    """The headline numbers: label, value and the query each comes from."""
    metrics = data.metrics
    cpa = metrics["cpa"]
    closest = metrics["closest_approach"]
    levels = metrics["levels_reached"]["value"]
    # The predicted CPA only where a close-quarters rule predicted one: other incidents
    # (zone entries, gaps, shadowing) have their own metrics in the events table.
    predicted = (
        []
        if cpa is None
        else [
            {
                "label": text["cpa"],
                "value": _metres(cpa["cpa_m"]["value"], text),
                "source": "cpa",
            },
            {
                "label": text["tcpa"],
                "value": _duration(cpa["tcpa_s"]["value"], text["not_applicable"]),
                "source": "cpa",
            },
        ]
    )
    return [
        *predicted,
        {
            "label": text["closest"],
            "value": _metres(closest[0]["distance_m"]["value"], text)
            if closest
            else text["not_applicable"],
            "source": "closest_approach",
        },
        {
            "label": text["first_ack"],
            "value": _duration(metrics["time_to_first_ack_s"]["value"], text["not_yet"]),
            "source": "time_to_first_ack_s",
        },
        {
            "label": text["resolution"],
            "value": _duration(metrics["time_to_resolution_s"]["value"], text["not_yet"]),
            "source": "time_to_resolution_s",
        },
        {
            "label": text["levels"],
            "value": ", ".join(str(level) for level in levels) or "0",
            "source": "levels_reached",
        },
        {
            "label": text["escalations"],
            "value": str(metrics["escalations"]["value"]),
            "source": "escalations",
        },
    ]


def _timeline(data: IncidentData, text: Mapping[str, str]) -> list[dict[str, Any]]:
    """Incident steps and hotline entries merged in time order."""
    rows: list[tuple[int, int, dict[str, Any]]] = []
    for step in data.timeline:
        detail = step["detail"]
        what = f"{step['action']}: {step['from'] or '-'} -> {step['to']}"
        if step["action"] == "note" and detail.get("text"):
            what += f" - {detail['text']}"
        elif detail.get("text"):
            what += f" ({detail['text']})"
        rows.append(
            (
                step["at_ms"],
                0,
                {"at": step["at"], "what": what, "who": f"{step['cause']}: {step['actor']}"},
            )
        )
    for item in data.hotline:
        entry = item.entry
        what = f"{entry.kind} {item.origin}#{item.seq}"
        if entry.body.get("template"):
            what += f" ({entry.body['template']})"
        rows.append(
            (
                parse_timestamp(entry.created),
                1,
                {"at": entry.created, "what": what, "who": item.signer or item.origin},
            )
        )
    rows.sort(key=lambda row: (row[0], row[1]))
    return [row for _, _, row in rows]


def _hotline_rows(data: IncidentData) -> list[dict[str, Any]]:
    rows = []
    for item in data.hotline:
        view = item.as_json()
        text = view["text"]
        rows.append(
            {
                **view,
                "text": text,
                "text_en": view["text_en"] if view["text_en"] != text else None,
                "signer": None
                if item.signer is None
                else f"{item.signer} (key {item.signer_key_id})",
                "proof_text": None if item.proof is None else proof_text(item.proof),
                "anchor": item.proof_name.removesuffix(".json"),
            }
        )
    return rows


def _event_rows(data: IncidentData) -> list[dict[str, Any]]:
    rows = []
    for record in data.history:
        metrics = record.get("metrics") or {}
        rows.append(
            {
                "id": record["id"],
                "rule": record.get("rule_id"),
                "status": record.get("status"),
                "level": record.get("level"),
                "start": record.get("start"),
                "end": record.get("end") or "",
                "position": f"{record['lat']:.4f}N {record['lon']:.4f}E",
                "metrics": ", ".join(
                    f"{k} {v:g}" if isinstance(v, int | float) else f"{k} -"
                    for k, v in sorted(metrics.items())
                ),
            }
        )
    return rows


def _extent(data: IncidentData) -> tuple[float, float, float, float]:
    lats = [float(e["lat"]) for e in data.history]
    lons = [float(e["lon"]) for e in data.history]
    for track in data.tracks.values():
        lats += [float(track["lat"].min()), float(track["lat"].max())]
        lons += [float(track["lon"].min()), float(track["lon"].max())]
    south, north, west, east = min(lats), max(lats), min(lons), max(lons)
    pad = max(north - south, east - west, 0.05) * 0.15
    return west - pad, south - pad, east + pad, north + pad


def _centre(data: IncidentData) -> tuple[float, float]:
    cpa = data.metrics["cpa"]
    if cpa is not None and cpa["lat"] is not None:
        return float(cpa["lat"]), float(cpa["lon"])
    first = data.history[0] if data.history else None
    return (float(first["lat"]), float(first["lon"])) if first else (0.0, 0.0)


def _map(
    data: IncidentData, zones: ZoneSet | None, features: Sequence[Feature]
) -> tuple[str | None, tuple[float, float, float, float] | None]:
    """The map as an SVG data URI (E's :func:`seabridge.reports.figures.map_figure`), or None
    when there is nothing to place."""
    if not data.history and not data.tracks:
        return None, None
    from seabridge.geo import ZoneSet
    from seabridge.reports.figures import MapLayer, map_figure

    extent = _extent(data)
    layers = []
    for number, (mmsi, track) in enumerate(sorted(data.tracks.items())):
        layers.append(
            MapLayer(
                track["lat"],
                track["lon"],
                label=str(mmsi),
                colour=_COLOURS[number % len(_COLOURS)],
                track_ids=np.zeros(track["lat"].size, dtype=np.int64),
            )
        )
    for pair in data.metrics["closest_approach"][:1]:
        (lat_a, lon_a), (lat_b, lon_b) = pair["positions"]
        metres = pair["distance_m"]["value"]
        layers.append(
            MapLayer(
                np.array([lat_a, lat_b]),
                np.array([lon_a, lon_b]),
                label=f"closest {metres:,.0f} m {pair['at'][11:19]}Z",
                colour="#000000",
                track_ids=np.zeros(2, dtype=np.int64),
            )
        )
        layers.append(MapLayer(np.array([lat_a, lat_b]), np.array([lon_a, lon_b]),
                               colour="#000000", size=12.0))  # fmt: skip
    cpa = data.metrics["cpa"]
    if cpa is not None:
        label = f"predicted CPA {cpa['cpa_m']['value']:,.0f} m"
        layers.append(MapLayer(np.array([cpa["lat"]]), np.array([cpa["lon"]]), label=label,
                               colour="#e67e22", size=40.0))  # fmt: skip
    elif data.history:
        layers.append(
            MapLayer(
                np.array([float(e["lat"]) for e in data.history]),
                np.array([float(e["lon"]) for e in data.history]),
                label="events",
                colour="#e67e22",
                size=12.0,
            )
        )
    kinds = sorted({zone.kind for zone in zones.zones}) if zones is not None else []
    figure = map_figure(
        zones if zones is not None else ZoneSet([]),
        list(features),
        layers,
        zone_kinds=kinds,
        extent=extent,
    )
    return figure, extent


def _zones_near(
    zones: ZoneSet | None, extent: tuple[float, float, float, float] | None
) -> list[dict[str, str]]:
    if zones is None or extent is None:
        return []
    import shapely

    box = shapely.box(*extent)
    return [
        {"names": zone.all_names(), "kind": zone.kind, "declared_by": zone.declared_by}
        for zone in zones.zones
        if zone.geometry.intersects(box)
    ]


def _features_near(
    features: Sequence[Feature], centre: tuple[float, float]
) -> list[dict[str, str]]:
    distances = distances_nm(features, *centre)
    near = sorted(
        (distance, feature.id, feature)
        for feature in features
        if (distance := distances[feature.id]) <= FEATURE_RADIUS_NM
    )
    return [
        {"names": all_names(feature.names), "kind": feature.kind, "distance": f"{distance:.1f}"}
        for distance, _, feature in near
    ]


def _vessels(data: IncidentData) -> str:
    return ", ".join(
        f"{mmsi} {data.vessel_names[mmsi]}" if data.vessel_names.get(mmsi) else str(mmsi)
        for mmsi in data.incident["vessels"]
    )


def write_incident_report(
    data: IncidentData,
    out_dir: Path,
    lang: str = "en",
    *,
    zones: ZoneSet | None = None,
    features: Sequence[Feature] = (),
    node: str = "",
    pdf: bool = True,
    embed_fonts: bool = True,
) -> ReportFiles:
    """Write the report of ``data`` into ``out_dir`` (see the module docstring).

    Raises:
        InputError: ``lang`` is not a report language, or ``out_dir`` cannot be written.
        ConfigError, SeabridgeError: printing the PDF failed (no Chromium: the HTML, data and
            proof files are written first).
    """
    from seabridge.reports.render import render_html, write_report

    text = strings(lang)
    incident = data.incident
    figure, extent = _map(data, zones, features)
    rulebook = incident["rulebook"] or {}
    meta = [
        (text["kind"], incident["kind"]),
        (text["status"], f"{incident['status']} (level {incident['level']})"),
        (text["origin"], incident["origin"]),
        (text["vessels"], _vessels(data)),
        (
            text["rulebook"],
            f"{rulebook.get('id', '-')} v{rulebook.get('version', '-')} "
            f"({str(rulebook.get('sha256', ''))[:12]})",
        ),
        (text["data_as_of"], ms_to_iso(incident["updated_ms"])),
    ]
    if node:
        meta.append(("Node", node))
    stem = report_stem(incident["id"])
    html = render_html(
        "incident.html.j2",
        lang,
        title=f"{i18n.text('incident_title', lang)} {incident['id']}",
        subtitle=f"{text['subtitle']} {incident['id']}",
        meta=meta,
        embed_fonts=embed_fonts,
        s=text,
        headline=_headline(data, text),
        figure=figure,
        window=f"{ms_to_iso(data.window_ms[0])} - {ms_to_iso(data.window_ms[1])}",
        has_tracks=bool(data.tracks),
        zones_near=_zones_near(zones, extent),
        features_near=_features_near(features, _centre(data)),
        timeline=_timeline(data, text),
        withheld=data.withheld_notes,
        events=_event_rows(data),
        hotline=_hotline_rows(data),
        queries=sorted(QUERIES.items()),
        data_file=f"{stem}.json",
    )
    files: dict[str, str] = {
        f"{stem}.json": json.dumps(data.as_json(), ensure_ascii=False, indent=2) + "\n"
    }
    for item in data.hotline:
        if item.proof is not None:
            files[item.proof_name] = proof_text(item.proof)
    return write_report(out_dir, stem, html, data_files=files, pdf_output=pdf)


def incident_window(state_path: Path, incident_id: str) -> tuple[list[int], int, int]:
    """:func:`~seabridge.reports.incident_data.track_window` of a node's ``state.sqlite``."""
    conn = connect_readonly(state_path)
    try:
        return track_window(conn, incident_id)
    finally:
        conn.close()


def incident_report(
    state_path: Path,
    incident_id: str,
    party: str,
    out_dir: Path,
    lang: str = "en",
    *,
    events_path: Path | None = None,
    positions: PositionsFn | None = None,
    vessel_names: Mapping[int, str] | None = None,
    packs: Sequence[str] = (),
    node: str = "",
    pdf: bool = True,
) -> ReportFiles:
    """Gather the incident from a node's files and write its report (what the CLI runs).

    Args:
        state_path: The node's ``state.sqlite`` (opened read-only).
        incident_id: The incident.
        party: The node's party.
        out_dir: Where the files go.
        lang: ``en``, ``ja`` or ``zh``.
        events_path: The node's ``events.jsonl``.
        positions: Reads the node's track store (None: no tracks on the map).
        vessel_names: Vessel names by MMSI.
        packs: The node's packs (built-in names or directories): zones and features.
        node: The node's display name, for the header.
        pdf: Print the PDF too.

    Raises:
        InputError, IncidentError, PackError, ConfigError: as their messages say.
    """
    from seabridge.geo import ZoneSet, load_features, load_zones
    from seabridge.packs import load_pack

    strings(lang)  # refuse a bad language before reading anything
    features: list[Feature] = []
    zone_list = []
    for name in packs:
        pack = load_pack(name)
        pack_features = load_features(pack) if "features" in pack.files else []
        features += pack_features
        if "zones" in pack.files:
            zone_list += list(load_zones(pack, pack_features).zones)
    conn = connect_readonly(state_path)
    try:
        data = gather(
            conn,
            incident_id,
            party,
            events_path=events_path,
            positions=positions,
            vessel_names=vessel_names,
        )
    finally:
        conn.close()
    return write_incident_report(
        data,
        out_dir,
        lang,
        zones=ZoneSet(zone_list) if zone_list else None,
        features=features,
        node=node,
        pdf=pdf,
    )
