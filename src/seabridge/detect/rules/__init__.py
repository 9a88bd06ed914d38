"""One module per rule kind; importing this package registers every kind."""

from __future__ import annotations

from seabridge.detect.rules import close_quarters, data_quality, loitering, zone_entry

__all__ = ["close_quarters", "data_quality", "loitering", "zone_entry"]
