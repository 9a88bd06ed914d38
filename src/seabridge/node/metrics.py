"""Counters and gauges of a running node, rendered as Prometheus text (exposition format 0.0.4).

One table, :data:`METRICS`, declares every metric (name, type, help, label names): the text
renders from it, and an undeclared name or label is a programming error. Thread-safe: the
pipeline, the delivery loop and the web route touch it from different threads. This module
only counts; the ``/metrics`` route is the web layer's.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Final, Literal

__all__ = ["LATENCY_BUCKETS_S", "METRICS", "MetricSpec", "Metrics"]


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """One metric: its Prometheus type, help text and label names."""

    kind: Literal["counter", "gauge", "histogram"]
    help: str
    labels: tuple[str, ...] = ()


METRICS: Final[dict[str, MetricSpec]] = {
    "seabridge_messages_total": MetricSpec("counter", "AIS messages decoded from all sources."),
    "seabridge_lines_total": MetricSpec("counter", "Raw input lines read, by source.", ("source",)),
    "seabridge_positions_total": MetricSpec("counter", "Position reports decoded."),
    "seabridge_duplicates_total": MetricSpec("counter", "Reports the track store already held."),
    "seabridge_rejected_total": MetricSpec(
        "counter", "Input lines quarantined, by reason.", ("reason",)
    ),
    "seabridge_events_total": MetricSpec(
        "counter", "Detection events emitted (all statuses), by kind.", ("kind",)
    ),
    "seabridge_incident_changes_total": MetricSpec(
        "counter", "Incident changes (opened, escalated, ...), by kind.", ("kind",)
    ),
    "seabridge_hotline_queue_depth": MetricSpec(
        "gauge", "Entries of our log not yet receipted by the peer.", ("peer",)
    ),
    "seabridge_hotline_receipt_latency_seconds": MetricSpec(
        "histogram", "Time from signing an entry to storing the peer's receipt for it."
    ),
    "seabridge_source_up": MetricSpec(
        "gauge", "1 while a source delivers within its silent_after, else 0.", ("source",)
    ),
    "seabridge_data_time_seconds": MetricSpec("gauge", "Newest data time ingested (Unix seconds)."),
}

LATENCY_BUCKETS_S: Final = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

_Key = tuple[str, tuple[tuple[str, str], ...]]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(int(value)) if float(value).is_integer() else repr(float(value))


class Metrics:
    """The node's metrics; see the module docstring."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[_Key, float] = {}
        self._buckets: dict[str, list[int]] = {}
        self._sums: dict[str, float] = {}
        self._counts: dict[str, int] = {}

    def _key(self, name: str, labels: dict[str, str], kind: str) -> _Key:
        spec = METRICS.get(name)
        if spec is None or spec.kind != kind:
            raise KeyError(f"{name} is not a declared {kind}")
        if set(labels) != set(spec.labels):
            raise KeyError(f"{name} takes labels {spec.labels}, got {tuple(labels)}")
        return name, tuple(sorted((k, str(v)) for k, v in labels.items()))

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        """Add ``amount`` to a counter."""
        if amount < 0:
            raise ValueError(f"{name}: a counter never goes down ({amount})")
        key = self._key(name, labels, "counter")
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def set(self, name: str, value: float, **labels: str) -> None:
        """Set a gauge."""
        key = self._key(name, labels, "gauge")
        with self._lock:
            self._values[key] = float(value)

    def observe(self, name: str, value: float) -> None:
        """Record one observation of a histogram."""
        self._key(name, {}, "histogram")
        with self._lock:
            buckets = self._buckets.setdefault(name, [0] * len(LATENCY_BUCKETS_S))
            for i, bound in enumerate(LATENCY_BUCKETS_S):
                if value <= bound:
                    buckets[i] += 1
            self._sums[name] = self._sums.get(name, 0.0) + value
            self._counts[name] = self._counts.get(name, 0) + 1

    def value(self, name: str, **labels: str) -> float:
        """The current value of a counter or gauge (0 when never set)."""
        key = (name, tuple(sorted((k, str(v)) for k, v in labels.items())))
        with self._lock:
            return self._values.get(key, 0.0)

    def prometheus_text(self) -> str:
        """Every metric in the Prometheus text format (``# HELP``, ``# TYPE``, samples)."""
        with self._lock:
            values = dict(self._values)
            buckets = {k: list(v) for k, v in self._buckets.items()}
            sums, counts = dict(self._sums), dict(self._counts)
        lines: list[str] = []
        for name, spec in METRICS.items():
            lines.append(f"# HELP {name} {spec.help}")
            lines.append(f"# TYPE {name} {spec.kind}")
            if spec.kind == "histogram":
                lines.extend(_histogram(name, buckets.get(name), sums, counts))
                continue
            samples = sorted((k[1], v) for k, v in values.items() if k[0] == name)
            if not samples and not spec.labels:
                samples = [((), 0.0)]
            for labels, value in samples:
                lines.append(f"{name}{_labels(labels)} {_number(value)}")
        return "\n".join(lines) + "\n"


def _labels(labels: tuple[tuple[str, str], ...]) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels) + "}"


def _histogram(
    name: str, buckets: list[int] | None, sums: dict[str, float], counts: dict[str, int]
) -> list[str]:
    counts_by_bound = buckets or [0] * len(LATENCY_BUCKETS_S)
    lines = [
        f'{name}_bucket{{le="{_number(bound)}"}} {count}'
        for bound, count in zip(LATENCY_BUCKETS_S, counts_by_bound, strict=True)
    ]
    lines.append(f'{name}_bucket{{le="+Inf"}} {counts.get(name, 0)}')
    lines.append(f"{name}_sum {_number(sums.get(name, 0.0))}")
    lines.append(f"{name}_count {counts.get(name, 0)}")
    return lines
