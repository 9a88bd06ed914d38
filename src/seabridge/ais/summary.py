"""What an ingest run did: the counters behind ``seabridge ingest``'s summary and ``--json``."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

__all__ = ["IngestSummary", "LineChunk"]

LineChunk = tuple[list[bytes], int | None]
"""A run of raw input lines and the receive time in ms (live sources) or None (files)."""


@dataclass
class IngestSummary:
    """Counters of one ingest run. ``rejected`` is shared with the run's Quarantine."""

    lines: int = 0
    messages: int = 0
    positions: int = 0
    statics: int = 0
    duplicates: int = 0
    seconds: float = 0.0
    rejected: Counter[str] = field(default_factory=Counter)
    types: Counter[int] = field(default_factory=Counter)
    skipped_files: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The JSON object printed by ``seabridge ingest --json`` (keys are a contract)."""
        return {
            "lines": self.lines,
            "messages": self.messages,
            "positions": self.positions,
            "statics": self.statics,
            "rejected": dict(sorted(self.rejected.items())),
            "duplicates": self.duplicates,
            "seconds": round(self.seconds, 3),
            "messages_per_s": round(self.messages / self.seconds) if self.seconds > 0 else 0,
            "types": {str(k): v for k, v in sorted(self.types.items())},
            "skipped_files": list(self.skipped_files),
        }
