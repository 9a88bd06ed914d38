"""Detection events as ``seabridge detect --format jsonl`` writes them, read back.

The reader of the batch path (``seabridge incidents from-events``): one
:meth:`~seabridge.detect.model.Event.as_json` object per line, parsed back into an
:class:`~seabridge.detect.model.Event`. Bad input names the file and the line.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Final

from seabridge.detect.model import Event, RulebookRef
from seabridge.errors import InputError
from seabridge.units import iso_to_ms

__all__ = ["event_from_json", "read_events"]

_EVENT_STATUSES: Final = ("open", "update", "closed", "retracted")


def event_from_json(data: Mapping[str, Any]) -> Event:
    """An :class:`~seabridge.detect.model.Event` from its JSON form (``Event.as_json``).

    Raises:
        ValueError: a field is missing or has the wrong type (the message names it).
    """
    missing = [key for key in Event.JSON_KEYS if key not in data]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
    status = data["status"]
    if status not in _EVENT_STATUSES:
        raise ValueError(f"status {status!r} is not one of {', '.join(_EVENT_STATUSES)}")
    rulebook = data["rulebook"]
    if not isinstance(rulebook, Mapping):
        raise ValueError("rulebook must be an object {id, version, sha256}")
    metrics = data["metrics"] or {}
    if not isinstance(metrics, Mapping):
        raise ValueError("metrics must be an object")
    vessels = data["vessels"]
    if not isinstance(vessels, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in vessels
    ):
        raise ValueError("vessels must be a list of MMSIs")
    return Event(
        id=str(data["id"]),
        rule_id=str(data["rule_id"]),
        kind=str(data["kind"]),
        rulebook=RulebookRef(
            str(rulebook["id"]), int(rulebook["version"]), str(rulebook["sha256"])
        ),
        level=int(data["level"]),
        status=status,
        vessels=tuple(vessels),
        start_ms=iso_to_ms(str(data["start"])),
        end_ms=None if data["end"] is None else iso_to_ms(str(data["end"])),
        lat=float(data["lat"]),
        lon=float(data["lon"]),
        zone=None if data["zone"] is None else str(data["zone"]),
        metrics={str(k): math.nan if v is None else float(v) for k, v in metrics.items()},
        reason=None if data.get("reason") is None else str(data["reason"]),
    )


def read_events(path: Path) -> Iterator[Event]:
    """The events of a JSONL file written by ``seabridge detect`` (blank lines skipped).

    Raises:
        InputError: the file cannot be read, or a line is not an event (``FILE:LINE: why``).
    """
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot read the events file ({exc.strerror})") from None
    with handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                if not isinstance(data, dict):
                    raise ValueError("not a JSON object")
                yield event_from_json(data)
            except (ValueError, KeyError, TypeError) as exc:
                raise InputError(
                    f"{path}:{number}: not an event of `seabridge detect --format jsonl` ({exc})"
                ) from None
