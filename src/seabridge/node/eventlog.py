"""The live engine's events of a node: appended to ``DIR/events.jsonl``, recent ones in memory.

Each line is :meth:`Event.as_json <seabridge.detect.model.Event.as_json>` (the format of
``seabridge detect --format jsonl``, read back by :mod:`seabridge.node.events`), so the file
doubles as input to ``seabridge incidents from-events``. Every status change is a line (open,
update, closed, retracted). On open the last ``recent`` lines are loaded; a line a crash cut
short is skipped. :meth:`EventLog.query` answers from memory. Thread-safe.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from seabridge.detect.model import Event
from seabridge.units import iso_to_ms

__all__ = ["EventLog"]


def _time_ms(text: Any) -> int | None:
    return None if text is None else iso_to_ms(str(text))


class EventLog:
    """Events persisted as JSONL plus the newest ``recent`` of them in memory.

    Args:
        path: The JSONL file (created on the first append).
        recent: How many records :meth:`query` can see.
    """

    def __init__(self, path: Path, *, recent: int = 10_000) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._recent: deque[dict[str, Any]] = deque(maxlen=recent)
        self._file: IO[str] | None = None
        if path.exists():
            with path.open(encoding="utf-8") as handle:
                for line in handle:
                    try:
                        record = json.loads(line)
                    except ValueError:  # a line cut short by a crash
                        continue
                    if isinstance(record, dict):
                        self._recent.append(record)

    def append(self, events: Iterable[Event]) -> list[dict[str, Any]]:
        """Write the events (flushed) and remember them; returns their JSON records."""
        records = [event.as_json() for event in events]
        if not records:
            return records
        text = "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)
        with self._lock:
            if self._file is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._file = self.path.open("a", encoding="utf-8")
            self._file.write(text)
            self._file.flush()
            self._recent.extend(records)
        return records

    def query(
        self,
        since_ms: int | None = None,
        until_ms: int | None = None,
        kind: str | None = None,
        min_level: int | None = None,
        limit: int = 1000,
    ) -> list[dict[str, Any]]:
        """Recent event records, oldest first (at most the newest ``limit`` that match).

        ``since_ms`` keeps records whose end (or start, while open) is at or after it;
        ``until_ms`` keeps those that started before it.
        """
        with self._lock:
            records = list(self._recent)
        found = []
        for record in records:
            if kind is not None and record.get("kind") != kind:
                continue
            if min_level is not None and int(record.get("level", 0)) < min_level:
                continue
            start_ms = _time_ms(record.get("start"))
            if until_ms is not None and start_ms is not None and start_ms >= until_ms:
                continue
            if since_ms is not None:
                last_ms = _time_ms(record.get("end")) or start_ms
                if last_ms is not None and last_ms < since_ms:
                    continue
            found.append(record)
        return found[-limit:] if limit > 0 else []

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
