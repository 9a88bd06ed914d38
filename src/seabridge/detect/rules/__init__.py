"""One module per rule kind; importing this package registers every kind."""

from __future__ import annotations

from seabridge.detect.rules import (
    ais_gap,
    close_quarters,
    data_quality,
    encounter,
    loitering,
    shadowing,
    speed_in_zone,
    zone_entry,
)

__all__ = [
    "ais_gap",
    "close_quarters",
    "data_quality",
    "encounter",
    "loitering",
    "shadowing",
    "speed_in_zone",
    "zone_entry",
]
