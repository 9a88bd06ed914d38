"""How far ahead of the clock a report's data time may lie before it is rejected.

Data time drives detection: the live engine runs every tick from the last one up to the
newest data time it has seen. One report stamped a year ahead (a receiver whose clock is
wrong, a CSV row with a wrong year) would make it run every 10 s tick of that year at once,
millions of them, and every true report after it would be hours "late". AIS receivers'
clocks drift by seconds, not hours, so a report more than ``ingest.future_horizon_min``
after the clock's now is rejected as ``future_time`` instead (setting 0: no bound, for
replays of data stamped in the future on purpose).

Static reports are bounded too, although they drive no ticks: the track store keeps each
vessel's newest static fields, and its last-seen time, by data time, so one static report
stamped ahead would hide every true update of the vessel until that time.

The bound is optional where it is applied (None: no bound). The ingest entry points pass
one: ``seabridge ingest`` on the system clock, a node's pipeline and uploads on the node's
clock. This module reads the clock; it never rejects anything itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from seabridge.clock import Clock
from seabridge.config import Settings

__all__ = ["Horizon"]


@dataclass(frozen=True, slots=True)
class Horizon:
    """Data times after ``clock``'s now plus ``ahead_ms`` are in the future."""

    clock: Clock
    ahead_ms: int

    @classmethod
    def from_settings(cls, settings: Settings, clock: Clock) -> Horizon | None:
        """The bound of ``ingest.future_horizon_min`` on ``clock``; None when it is 0 (off)."""
        minutes = settings["ingest.future_horizon_min"]
        return None if minutes == 0 else cls(clock, round(minutes * 60_000))

    def ceiling_ms(self) -> int:
        """The latest data time accepted now (milliseconds since the epoch, UTC)."""
        return self.clock.now_ms() + self.ahead_ms
