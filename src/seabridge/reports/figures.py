"""Figures of reports: a map (land, the pack's zones and features, points, tracks) and charts.

Figures are matplotlib SVG (object API, no pyplot state), returned as ``data:`` URIs for an
``<img>``, so the HTML stays one self-contained file. Text inside figures is drawn as paths
and kept to ASCII (numbers, dates, ISO codes): localized words belong in the HTML caption,
where the page's web fonts render them. Output is deterministic (fixed hash salt, no date).

Land comes from the console's vendored Natural Earth layer
(``seabridge/web/console/vendor/land/land.geojson``, located as a file, never imported) when
present; without it the map shows sea, zones and features only.
"""

from __future__ import annotations

import base64
import io
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from seabridge.geo import Feature, ZoneSet

__all__ = ["MapLayer", "bar_chart", "land_path", "map_figure", "svg_data_uri"]

_RC: Final[Any] = {"svg.hashsalt": "seabridge", "svg.fonttype": "path", "font.size": 8.0}
#: Zone outline colours by kind; other kinds are drawn grey.
ZONE_STYLE: Final = {
    "territorial_sea_belt": ("#c0392b", "-"),
    "contiguous_zone_belt": ("#e67e22", "--"),
    "baseline": ("#7f8c8d", ":"),
    "safety_zone": ("#8e44ad", "-"),
    "joint_development_zone": ("#16a085", "-."),
}
_SERIES_COLOURS: Final = (
    "#1f5f8b", "#c0392b", "#27ae60", "#e67e22", "#8e44ad", "#7f8c8d", "#16a085", "#d35400",
)  # fmt: skip


def land_path() -> Path | None:
    """The vendored Natural Earth land GeoJSON, or None when ``make setup`` has not run."""
    path = Path(str(resources.files("seabridge"))) / "web/console/vendor/land/land.geojson"
    return path if path.is_file() else None


@cache
def _land(path: Path) -> Any:
    import shapely

    data = json.loads(path.read_text(encoding="utf-8"))
    return tuple(shapely.geometry.shape(item["geometry"]) for item in data["features"])


def svg_data_uri(figure: Figure) -> str:
    """The figure as an SVG ``data:`` URI (deterministic: fixed salt, no date)."""
    import matplotlib

    buffer = io.BytesIO()
    with matplotlib.rc_context(_RC):
        figure.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _new_figure(width_in: float, height_in: float) -> Figure:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    with matplotlib.rc_context(_RC):
        return Figure(figsize=(width_in, height_in), dpi=100)


@dataclass(frozen=True, slots=True)
class MapLayer:
    """Points or tracks to draw: ``lat``/``lon`` arrays, split into lines by ``track_ids``."""

    lat: npt.NDArray[np.float64]
    lon: npt.NDArray[np.float64]
    label: str = ""
    colour: str = "#1f5f8b"
    track_ids: npt.NDArray[np.int64] | None = None
    size: float = 2.0


def _extent(
    zones: ZoneSet, layers: Sequence[MapLayer], kinds: Sequence[str]
) -> tuple[float, float, float, float]:
    bounds = [zone.geometry.bounds for zone in zones.zones if zone.kind in kinds]
    for layer in layers:
        if layer.lat.size:
            bounds.append((layer.lon.min(), layer.lat.min(), layer.lon.max(), layer.lat.max()))
    if not bounds:
        bounds = [zone.geometry.bounds for zone in zones.zones]
    west = min(b[0] for b in bounds)
    south = min(b[1] for b in bounds)
    east = max(b[2] for b in bounds)
    north = max(b[3] for b in bounds)
    pad = max(east - west, north - south, 0.1) * 0.08
    return west - pad, south - pad, east + pad, north + pad


def _draw_land(ax: Axes, extent: tuple[float, float, float, float]) -> None:
    path = land_path()
    if path is None:
        return
    import shapely

    parts = shapely.get_parts(np.array(_land(path), dtype=object))
    near = parts[shapely.intersects(parts, shapely.box(*extent))]
    for polygon in shapely.get_parts(shapely.clip_by_rect(near, *extent)):
        if polygon.geom_type != "Polygon" or polygon.is_empty:
            continue
        x, y = polygon.exterior.xy
        ax.fill(x, y, facecolor="#e8e2d0", edgecolor="#b8ad8e", linewidth=0.4, zorder=1)


def _draw_zones(ax: Axes, zones: ZoneSet, kinds: Sequence[str]) -> None:
    import shapely

    for zone in zones.zones:
        if zone.kind not in kinds:
            continue
        colour, style = ZONE_STYLE.get(zone.kind, ("#95a5a6", "-"))
        for part in shapely.get_parts(zone.geometry):
            for ring in [part.exterior, *part.interiors]:
                x, y = ring.xy
                ax.plot(x, y, color=colour, linestyle=style, linewidth=0.9, zorder=2)


def map_figure(
    zones: ZoneSet,
    features: Sequence[Feature],
    layers: Sequence[MapLayer] = (),
    *,
    zone_kinds: Sequence[str] = ("territorial_sea_belt", "contiguous_zone_belt"),
    extent: tuple[float, float, float, float] | None = None,
    width_in: float = 6.5,
) -> str:
    """A map as an SVG ``data:`` URI: land, the zones of ``zone_kinds``, features, layers.

    ``extent`` is ``(west, south, east, north)`` in degrees; by default the zones drawn and
    the layers' points, padded. Layers with ``track_ids`` are drawn as lines, one per id.
    """
    west, south, east, north = extent or _extent(zones, layers, zone_kinds)
    mid_lat = math.radians((south + north) / 2)
    aspect = 1.0 / max(math.cos(mid_lat), 0.1)
    height_in = min(max(width_in * (north - south) * aspect / max(east - west, 1e-6), 2.5), 8.5)
    figure = _new_figure(width_in, height_in)
    ax = figure.add_subplot(1, 1, 1)
    ax.set_facecolor("#f4f8fb")
    _draw_land(ax, (west, south, east, north))
    _draw_zones(ax, zones, zone_kinds)
    if features:
        ax.scatter(
            [f.lon for f in features], [f.lat for f in features],
            marker="^", s=14, color="#2c3e50", zorder=4,
        )  # fmt: skip
    for layer in layers:
        if layer.track_ids is None:
            ax.scatter(layer.lon, layer.lat, s=layer.size, color=layer.colour, zorder=3,
                       label=layer.label or None, linewidths=0)  # fmt: skip
            continue
        for number, track in enumerate(np.unique(layer.track_ids)):
            rows = layer.track_ids == track
            ax.plot(layer.lon[rows], layer.lat[rows], color=layer.colour, linewidth=0.8,
                    zorder=3, label=(layer.label or None) if number == 0 else None)  # fmt: skip
    ax.set_xlim(west, east)
    ax.set_ylim(south, north)
    ax.set_aspect(aspect)
    ax.tick_params(labelsize=7)
    ax.set_xlabel("lon (deg E)", fontsize=7)
    ax.set_ylabel("lat (deg N)", fontsize=7)
    if any(layer.label for layer in layers):
        ax.legend(loc="upper right", fontsize=7, markerscale=3)
    return svg_data_uri(figure)


def bar_chart(
    categories: Sequence[str],
    series: Mapping[str, Sequence[float]],
    *,
    ylabel: str = "",
    stacked: bool = True,
    width_in: float = 6.5,
    height_in: float = 2.4,
) -> str:
    """A bar chart (stacked by default) as an SVG ``data:`` URI; keep labels ASCII."""
    figure = _new_figure(width_in, height_in)
    ax = figure.add_subplot(1, 1, 1)
    x = np.arange(len(categories), dtype=np.float64)
    bottom = np.zeros(len(categories))
    width = 0.8 if stacked else 0.8 / max(len(series), 1)
    for number, (name, values) in enumerate(series.items()):
        heights = np.asarray(values, dtype=np.float64)
        colour = _SERIES_COLOURS[number % len(_SERIES_COLOURS)]
        if stacked:
            ax.bar(x, heights, width, bottom=bottom, label=name, color=colour)
            bottom += heights
        else:
            offset = (number - (len(series) - 1) / 2) * width
            ax.bar(x + offset, heights, width, label=name, color=colour)
    ax.set_xticks(x, list(categories), fontsize=6, rotation=90 if len(categories) > 12 else 0)
    ax.tick_params(axis="y", labelsize=7)
    from matplotlib.ticker import MaxNLocator

    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    if ylabel:
        ax.set_ylabel(ylabel, fontsize=7)
    if len(series) > 1 or any(series):
        ax.legend(fontsize=7, ncols=min(len(series), 6), loc="upper left", frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return svg_data_uri(figure)
