"""``seabridge zones list|export|check``: the zones and features of a pack.

Thin commands: :mod:`seabridge.packs` finds the pack, :mod:`seabridge.geo` builds the zones
and answers containment and distances; this module parses options and presents. A broken
pack is bad input (exit 2), like a bad coordinate.

Neutrality (DESIGN.md): features always show every name, whatever ``--lang`` says; a zone's
name in one language already carries every usage of the names it mentions.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from seabridge.cli._app import app, err, out, user_errors
from seabridge.errors import InputError

if TYPE_CHECKING:  # imported when a command runs: geo pulls in shapely and pyproj
    from seabridge import geo
    from seabridge.packs import Pack

__all__ = ["zones_app"]

zones_app = typer.Typer(
    help="Zones and features of a pack: list them, export them, check a position.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(zones_app, name="zones")

PACK_HELP = "A built-in pack by name (ecs) or a user pack directory by path (./mysea)."
LANGUAGES = ("en", "ja", "zh")
FORMATS = ("geojson", "kml")


def _load(pack_name: str) -> tuple[Pack, list[geo.Feature], geo.ZoneSet]:
    from seabridge import geo
    from seabridge.packs import load_pack

    pack = load_pack(pack_name)
    features = geo.load_features(pack)
    return pack, features, geo.load_zones(pack, features)


def _name(zone: geo.Zone, lang: str | None) -> str:
    if lang is None:
        return zone.all_names()
    return zone.names.get(lang, zone.names["en"])


def _check_lang(lang: str | None) -> None:
    if lang is not None and lang not in LANGUAGES:
        raise InputError(f"--lang {lang}: choose one of {', '.join(LANGUAGES)}")


@zones_app.command("list")
def list_command(
    pack_name: str = typer.Option("ecs", "--pack", help=PACK_HELP),
    lang: str | None = typer.Option(
        None, "--lang", help="Zone names in this language only (en, ja or zh); default: all."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of text."),
) -> None:
    """List the zones and features of a pack.

    Zones show id, kind, declared_by, verified, names and note. Features always show every
    name, whatever --lang says: their names are disputed and none is privileged."""
    with user_errors():
        _check_lang(lang)
        pack, features, zones = _load(pack_name)
    if as_json:
        print(json.dumps(_list_json(pack, features, zones, lang), ensure_ascii=False, indent=2))
        return
    for line in [*_zone_lines(pack, zones, lang), *_feature_lines(features)]:
        out.print(line, markup=False, soft_wrap=True)


def _list_json(
    pack: Pack, features: Sequence[geo.Feature], zones: geo.ZoneSet, lang: str | None
) -> dict[str, Any]:
    return {
        "pack": {"id": pack.id, "title": pack.title, "version": pack.version},
        "zones": [
            {
                "id": zone.id,
                "kind": zone.kind,
                "name": _name(zone, lang),
                "names": dict(zone.names),
                "declared_by": zone.declared_by,
                "verified": zone.verified,
                "note": zone.note,
            }
            for zone in zones.zones
        ],
        "features": [
            {
                "id": feature.id,
                "kind": feature.kind,
                "names": dict(feature.names),
                "lat": feature.lat,
                "lon": feature.lon,
                "verified": feature.verified,
                "note": feature.note,
            }
            for feature in features
        ],
    }


def _zone_lines(pack: Pack, zones: geo.ZoneSet, lang: str | None) -> list[str]:
    lines = [f"{pack.title} ({pack.id} v{pack.version}): {len(zones.zones)} zones", ""]
    for zone in zones.zones:
        verified = "verified" if zone.verified else "NOT VERIFIED"
        lines.append(f"{zone.id}  {zone.kind}  declared_by {zone.declared_by}  {verified}")
        shown = zone.names if lang is None else {lang: zone.names.get(lang, zone.names["en"])}
        lines += [f"  {code}: {name}" for code, name in shown.items()]
        if zone.note:
            lines.append(f"  note: {zone.note}")
        lines.append("")
    return lines


def _feature_lines(features: Sequence[geo.Feature]) -> list[str]:
    lines = [f"{len(features)} features (every name shown)", ""]
    for feature in features:
        verified = "verified" if feature.verified else "NOT VERIFIED"
        lines.append(
            f"{feature.id}  {feature.kind}  {feature.lat:.5f}, {feature.lon:.5f}  {verified}"
        )
        lines += [f"  {code}: {name}" for code, name in feature.names.items()]
        if feature.note:
            lines.append(f"  note: {feature.note}")
        lines.append("")
    return lines


@zones_app.command("export")
def export_command(
    pack_name: str = typer.Option("ecs", "--pack", help=PACK_HELP),
    fmt: str = typer.Option(..., "--format", help="geojson or kml."),
    out_path: Path | None = typer.Option(None, "--out", help="Write here instead of stdout."),
) -> None:
    """Export the zones of a pack as GeoJSON or KML.

    Every zone, declared and derived, with its claim metadata: names, declared_by, source,
    verified and note."""
    with user_errors():
        if fmt not in FORMATS:
            raise InputError(f"--format {fmt}: choose geojson or kml")
        pack, _, zones = _load(pack_name)
        if fmt == "geojson":
            text = json.dumps(zones.to_geojson(), ensure_ascii=False, indent=2) + "\n"
        else:
            text = zones.to_kml(document_name=f"{pack.title} ({pack.id} v{pack.version})")
        if out_path is None:
            sys.stdout.write(text)
            return
        try:
            out_path.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise InputError(f"--out {out_path}: cannot write ({exc.strerror})") from None
    err.print(f"wrote {len(zones.zones)} zones to {out_path}", markup=False)


@zones_app.command("check")
def check_command(
    lat: float = typer.Argument(..., help="Latitude in degrees, -90 to 90 (north positive)."),
    lon: float = typer.Argument(..., help="Longitude in degrees, -180 to 180 (east positive)."),
    pack_name: str = typer.Option("ecs", "--pack", help=PACK_HELP),
    as_json: bool = typer.Option(
        False, "--json", help='Print {"zones": [ids], "features": {id: distance_nm}}.'
    ),
) -> None:
    """Find the zones containing a position and its distance to each feature.

    Distances are geodesic (WGS-84) in nautical miles. For a negative latitude or
    longitude, put the options first and -- before the position:
    zones check --json -- -33.9 151.2"""
    import numpy as np

    from seabridge import geo

    with user_errors():
        if not -90.0 <= lat <= 90.0:
            raise InputError(f"LAT {lat}: a latitude is between -90 and 90 degrees")
        if not -180.0 <= lon <= 180.0:
            raise InputError(f"LON {lon}: a longitude is between -180 and 180 degrees")
        _, features, zones = _load(pack_name)
        inside = zones.zones_containing(np.array([lat]), np.array([lon]))[0]
        distances_nm = geo.distances_nm(features, lat, lon)
    if as_json:
        rounded = {key: round(value, 4) for key, value in distances_nm.items()}
        print(json.dumps({"zones": list(inside), "features": rounded}))
        return
    out.print(_check_table(zones, inside, lat, lon))
    out.print(_distance_table(features, distances_nm))


def _check_table(zones: geo.ZoneSet, inside: Sequence[str], lat: float, lon: float) -> Table:
    by_id = {zone.id: zone for zone in zones.zones}
    table = Table(title=f"{lat:.5f}, {lon:.5f} is in {len(inside)} zones", title_justify="left")
    for column in ("id", "kind", "declared_by", "verified"):
        table.add_column(column)
    for zone_id in inside:
        zone = by_id[zone_id]
        table.add_row(zone.id, zone.kind, zone.declared_by, "yes" if zone.verified else "NO")
    return table


def _distance_table(features: Sequence[geo.Feature], distances_nm: Mapping[str, float]) -> Table:
    table = Table(title="distance to each feature (geodesic)", title_justify="left")
    table.add_column("id")
    table.add_column("names", overflow="fold")
    table.add_column("distance_nm", justify="right")
    for feature in sorted(features, key=lambda item: distances_nm[item.id]):
        table.add_row(feature.id, feature.all_names(), f"{distances_nm[feature.id]:.2f}")
    return table
