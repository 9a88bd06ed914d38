"""Phrasebook params for incident messages, filled from an incident's first event.

Templates name their params with units (``cpa_m``, ``tcpa_min``, ``speed_kn``); the values
here are text in exactly those units, converted once. A param the incident cannot fill (a
rule parameter such as ``limit_kn``, which events do not carry) is ``n/a``, so a message can
always be sent and says plainly what it does not know.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from seabridge.units import M_PER_NM, ms_to_datetime

__all__ = ["UNKNOWN", "event_values", "fill", "position_text", "time_text"]

UNKNOWN: Final = "n/a"


def time_text(ms: int) -> str:
    """A UTC time as the templates write it before "UTC": ``2026-05-01 09:30``."""
    return ms_to_datetime(ms).strftime("%Y-%m-%d %H:%M")


def position_text(lat: float, lon: float) -> str:
    """``25.7433°N 123.4733°E``."""
    return f"{abs(lat):.4f}°{'N' if lat >= 0 else 'S'} {abs(lon):.4f}°{'E' if lon >= 0 else 'W'}"


def _number(value: object, digits: int = 0) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return None
    return f"{value:.{digits}f}"


def _minutes(seconds: object) -> str | None:
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds != seconds:
        return None
    return f"{seconds / 60:.0f}"


def event_values(event: Mapping[str, Any], start_ms: int) -> dict[str, str]:
    """Every param an event (its JSON form, see :meth:`Event.as_json`) can fill."""
    vessels = [str(v) for v in event.get("vessels", [])]
    metrics: Mapping[str, Any] = event.get("metrics", {})
    rulebook = event.get("rulebook", {})
    values: dict[str, str | None] = {
        "vessel": vessels[0] if vessels else None,
        "vessel_a": vessels[0] if vessels else None,
        "vessel_b": vessels[1] if len(vessels) > 1 else None,
        "other": vessels[1] if len(vessels) > 1 else None,
        "zone": event.get("zone"),
        "time": time_text(start_ms),
        "last_time": time_text(start_ms),
        "position": position_text(float(event["lat"]), float(event["lon"]))
        if "lat" in event and "lon" in event
        else None,
        "rule": event.get("rule_id"),
        "rulebook": f"{rulebook.get('id')} v{rulebook.get('version')} "
        f"({str(rulebook.get('sha256', ''))[:12]})"
        if rulebook
        else None,
        "cpa_m": _number(metrics.get("cpa_m")),
        "tcpa_min": _minutes(metrics.get("tcpa_s")),
        "duration_min": _minutes(metrics.get("duration_s")),
        "distance_m": _number(metrics.get("distance_m")),
        "speed_kn": _number(metrics.get("mean_speed_kn", metrics.get("speed_kn")), 1),
        "sog_kn": _number(metrics.get("speed_kn"), 1),
    }
    range_m = metrics.get("range_m")
    if isinstance(range_m, int | float) and range_m == range_m:
        values["min_range_nm"] = values["max_range_nm"] = f"{range_m / M_PER_NM:.1f}"
    return {name: value for name, value in values.items() if value is not None}


def fill(params: Sequence[str], values: Mapping[str, str]) -> dict[str, str]:
    """Exactly the template's ``params``, from ``values`` or :data:`UNKNOWN`."""
    return {name: values.get(name, UNKNOWN) for name in params}
