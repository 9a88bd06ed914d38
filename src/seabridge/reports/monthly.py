"""The monthly transparency report: compute its numbers, then write HTML, PDF and data files.

:func:`compute_monthly` runs every query of :mod:`seabridge.reports.monthly_data` once and
keeps the tables; :func:`numbers_json` and :func:`tables_csv` write them (byte-identical for
the same inputs: no clock, sorted rows, sorted keys); :func:`monthly_html` presents the same
tables, so the page cannot show a number the numbers file lacks. Files are named
``monthly-YYYY-MM.{html,pdf,json}`` and ``monthly-YYYY-MM.<table>.csv``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from seabridge.reports import figures, i18n, monthly_data
from seabridge.reports.monthly_data import Period, Table, TrackSource
from seabridge.reports.render import ReportFiles, render_html, write_report
from seabridge.units import ms_to_iso

if TYPE_CHECKING:
    from seabridge.detect.model import Event
    from seabridge.geo import Feature, ZoneSet

__all__ = [
    "FORMAT",
    "MonthlyReport",
    "compute_monthly",
    "monthly_html",
    "numbers_json",
    "tables_csv",
    "write_monthly",
]

FORMAT: Final = "seabridge-report-monthly/v1"
_MAP_POINTS: Final = 20_000


@dataclass(frozen=True, slots=True)
class MonthlyReport:
    """Every number of one month's report, as the tables of the queries that computed them."""

    period: Period
    party: str
    source: str
    pack: str
    belts: tuple[dict[str, Any], ...]
    tables: Mapping[str, Table]
    events: Any = field(repr=False, default=None)
    """The period's final events (``pa.Table``) for the map; no number is read from it."""

    def table(self, name: str) -> Table:
        return self.tables[name]

    def headline(self) -> dict[str, dict[str, Any]]:
        """The report's headline numbers, each naming the table, row and column it is from."""
        heads: dict[str, dict[str, Any]] = {}
        for belt in self.belts:
            for row in self.tables["belt_days_jcg"].dicts():
                if row["belt"] == belt["id"] and row["flag"] == "*":
                    break
            else:
                row = {"days": 0, "vessel_days": 0}
            for column in ("days", "vessel_days"):
                heads[f"{belt['kind']}.{column}"] = {
                    "value": row[column],
                    "table": "belt_days_jcg",
                    "where": {"belt": belt["id"], "flag": "*"},
                    "column": column,
                }
        entries = sum(row["events"] for row in self.tables["zone_entries"].dicts())
        heads["entries_12nm"] = {"value": entries, "table": "zone_entries", "column": "sum(events)"}
        close = [
            row for row in self.tables["event_counts"].dicts() if row["kind"] == "close_quarters"
        ]
        heads["close_quarters"] = {
            "value": sum(row["events"] for row in close),
            "table": "event_counts",
            "where": {"kind": "close_quarters"},
            "column": "sum(events)",
        }
        summary = self.tables["incident_summary"].dicts()[0]
        heads["incidents_opened"] = {
            "value": summary["opened"],
            "table": "incident_summary",
            "column": "opened",
        }
        delivery = self.tables["hotline_delivery"].dicts()
        for column in ("sent", "receipted"):
            heads[f"hotline_{column}"] = {
                "value": sum(row[column] for row in delivery),
                "table": "hotline_delivery",
                "column": f"sum({column})",
            }
        return heads


def compute_monthly(
    source: TrackSource,
    zones: ZoneSet,
    events: Iterable[Event],
    state: Path | None,
    *,
    party: str,
    period: Period,
    pack: str,
) -> MonthlyReport:
    """Run every query of the report over the period.

    Args:
        source: positions and static reports (track store or archive).
        zones: the pack's zones; belts are those of :data:`BELT_KINDS`.
        events: the live engine's events (every status change; the last of an id wins).
        state: the node's ``state.sqlite`` (incidents and hotline), or None for none.
        party: this node's party (its hotline logs are ``{party}/hotline/{peer}``).
        period: the month.
        pack: ``id vVERSION`` of the pack, shown and recorded.

    Raises:
        StoreError: a query failed or ``state`` cannot be read.
    """
    rows = monthly_data.belt_presence_rows(source, zones, period)
    final = monthly_data.final_events(events, period)
    vessels = set(rows.column("mmsi").to_pylist())
    vessels |= {v for v in final.column("vessel").to_pylist() if v is not None}
    groups = monthly_data.vessel_groups(source, vessels)
    tables: dict[str, Table] = {}
    presence = monthly_data.Presence(rows, groups, period)
    try:
        for query in (
            monthly_data.belt_presence,
            monthly_data.belt_days_jcg,
            monthly_data.daily_presence,
        ):
            table = query(presence)
            tables[table.query] = table
    finally:
        presence.close()
    belts = monthly_data.belt_order(zones)
    territorial = [zone.id for zone in belts if zone.kind == "territorial_sea_belt"]
    counts = monthly_data.EventCounts(final, groups)
    try:
        tables["zone_entries"] = monthly_data.zone_entries(counts, territorial)
        tables["event_counts"] = monthly_data.event_counts(counts)
    finally:
        counts.close()
    tables.update(_state_tables(state, party, period))
    return MonthlyReport(
        period=period,
        party=party,
        source=source.description,
        pack=pack,
        belts=tuple(
            {
                "id": zone.id,
                "kind": zone.kind,
                "names": dict(zone.names),
                "declared_by": zone.declared_by,
            }
            for zone in belts
        ),
        tables=tables,
        events=final,
    )


def _state_tables(state: Path | None, party: str, period: Period) -> dict[str, Table]:
    if state is None:
        times = Table("incident_times", ("id",), ())
        empty = monthly_data.incident_summary(
            Table("incident_times", ("ack_min", "resolve_min", "escalated"), ())
        )
        delivery = Table("hotline_delivery", ("peer", "sent", "receipted"), ())
        return {"incident_times": times, "incident_summary": empty, "hotline_delivery": delivery}
    conn = monthly_data.open_state(state)
    try:
        times = monthly_data.incident_times(conn, period)
        return {
            "incident_times": times,
            "incident_summary": monthly_data.incident_summary(times),
            "hotline_delivery": monthly_data.hotline_delivery(conn, party, period),
        }
    finally:
        conn.close()


def numbers_json(report: MonthlyReport) -> str:
    """Every number of the report as JSON, each table keyed by its query (deterministic)."""
    period = report.period
    document = {
        "format": FORMAT,
        "period": {
            "month": period.label,
            "start": ms_to_iso(period.start_ms),
            "end": ms_to_iso(period.end_ms),
            "days": period.days,
        },
        "party": report.party,
        "source": report.source,
        "pack": report.pack,
        "belts": list(report.belts),
        "definitions": {
            "vessel_day": i18n.text("belt_presence_def", "en"),
            "events": i18n.text("events_def", "en"),
            "incidents": i18n.text("incidents_def", "en"),
            "hotline": i18n.text("hotline_def", "en"),
        },
        "headline": report.headline(),
        "tables": {
            name: {**table.as_json(), "query": monthly_data.QUERIES[name]}
            for name, table in report.tables.items()
        },
    }
    return json.dumps(document, ensure_ascii=False, indent=1, sort_keys=True) + "\n"


def tables_csv(report: MonthlyReport) -> dict[str, str]:
    """One CSV per table: ``monthly-YYYY-MM.<table>.csv`` -> its text (header row first)."""
    files = {}
    for name, table in report.tables.items():
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(table.columns)
        writer.writerows(table.rows)
        files[f"monthly-{report.period.label}.{name}.csv"] = buffer.getvalue()
    return files


def _map(
    report: MonthlyReport, source: TrackSource, zones: ZoneSet, features: Sequence[Feature]
) -> str:
    belts = monthly_data.belt_order(zones)
    bounds = [zone.geometry.bounds for zone in belts] or [
        zone.geometry.bounds for zone in zones.zones
    ]
    west, south = min(b[0] for b in bounds), min(b[1] for b in bounds)
    east, north = max(b[2] for b in bounds), max(b[3] for b in bounds)
    pad = max(east - west, north - south) * 0.08
    extent = (west - pad, south - pad, east + pad, north + pad)
    points = monthly_data.map_points(source, report.period, extent, _MAP_POINTS)
    layers = [
        figures.MapLayer(
            np.asarray(points.column("lat").to_numpy(), dtype=np.float64),
            np.asarray(points.column("lon").to_numpy(), dtype=np.float64),
            label="positions",
            colour="#7f9fb8",
            size=1.0,
        )
    ]
    events = report.events
    if events is not None and events.num_rows:
        for kind, colour in (("zone_entry", "#c0392b"), ("close_quarters", "#8e44ad")):
            rows = np.asarray(events.column("kind").to_pylist()) == kind
            if rows.any():
                layers.append(
                    figures.MapLayer(
                        np.asarray(events.column("lat").to_numpy())[rows],
                        np.asarray(events.column("lon").to_numpy())[rows],
                        label=kind,
                        colour=colour,
                        size=9.0,
                    )
                )
    return figures.map_figure(zones, features, layers, extent=extent)


def _charts(report: MonthlyReport) -> dict[str, str]:
    daily = report.table("daily_presence").dicts()
    days = [monthly_data.iso_day(report.period.first_day() + n) for n in range(report.period.days)]
    charts = {}
    for belt in report.belts:
        rows = [row for row in daily if row["belt"] == belt["id"]]
        flags = sorted({row["flag"] or "??" for row in rows})
        series = {flag: [0] * len(days) for flag in flags}
        for row in rows:
            series[row["flag"] or "??"][days.index(row["day"])] += row["vessels"]
        charts[belt["id"]] = figures.bar_chart([day[8:] for day in days], series, ylabel="vessels")
    return charts


def monthly_html(
    report: MonthlyReport,
    lang: str,
    *,
    source: TrackSource,
    zones: ZoneSet,
    features: Sequence[Feature],
    generated: str | None = None,
    node_name: str = "",
) -> str:
    """The report page in ``lang`` (figures and fonts embedded)."""
    title = i18n.text("monthly_title", lang)
    meta = [
        (i18n.text("period", lang), f"{report.period.label} (UTC)"),
        (i18n.text("node", lang), f"{node_name} ({report.party})" if node_name else report.party),
        (i18n.text("data_source", lang), report.source),
        (i18n.text("pack", lang), report.pack),
    ]
    if generated:
        meta.append((i18n.text("generated", lang), generated))
    belt_names = {b["id"]: b["names"].get(lang, b["names"]["en"]) for b in report.belts}
    return render_html(
        "monthly.html.j2",
        lang,
        title=title,
        subtitle=f"{report.period.label}",
        meta=meta,
        report=report,
        tables={name: table.dicts() for name, table in report.tables.items()},
        headline=report.headline(),
        belt_names=belt_names,
        features=features,
        map_uri=_map(report, source, zones, features),
        charts=_charts(report),
        numbers_file=f"monthly-{report.period.label}.json",
    )


def write_monthly(
    report: MonthlyReport,
    out_dir: Path,
    lang: str,
    *,
    source: TrackSource,
    zones: ZoneSet,
    features: Sequence[Feature],
    generated: str | None = None,
    node_name: str = "",
    pdf_output: bool = True,
) -> ReportFiles:
    """Write ``monthly-YYYY-MM.html``, the numbers (JSON and CSVs), then the PDF."""
    html = monthly_html(
        report, lang, source=source, zones=zones, features=features,
        generated=generated, node_name=node_name,
    )  # fmt: skip
    stem = f"monthly-{report.period.label}"
    data: dict[str, str | bytes] = {f"{stem}.json": numbers_json(report), **tables_csv(report)}
    return write_report(out_dir, stem, html, data_files=data, pdf_output=pdf_output)
