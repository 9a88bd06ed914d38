"""The contract between the engine and one rule kind; the registry of kinds.

A rule kind is a subclass of :class:`Rule` in its own module under ``seabridge.detect.rules``,
registered with :func:`register`. It declares its parameter table (``PARAMS``), the metrics
it reports (``METRICS``, names with units) and whether it watches single vessels or pairs.
The engine:

1. builds the rule once per rulebook entry with the entry's parameters already converted to
   the table's units (``self.params["threshold"]`` in the table's unit) and the engine's
   :class:`RuleContext` (zones, parties, the rulebook entry's applicability filters);
2. calls :meth:`Rule.observe` with every new batch of fixes, in data-time order, before the
   tick that follows them (rules that need every fix, not just the latest: gaps, data
   quality, speed between fixes). Screening rules (``SCREENS = True``, the data-quality
   kind) get :meth:`Rule.screen` instead: they see every fix first and say which ones are
   usable; the other rules observe only those, and the frame is built from them;
3. calls :meth:`Rule.evaluate` at every tick with the frame and the mask of vessels the
   entry applies to, and turns the findings into events (lifecycle, grading, ids). An event
   reports the metrics and position of its most severe finding so far: the highest level,
   then the worst value of ``KEY_METRIC`` (``KEY_WORSE``: "lower", "higher", or "latest"
   to report the latest finding); an update is emitted when the level rises or the key
   metric moves materially;
4. for late data, restores the state saved by :meth:`Rule.snapshot` before the late fix and
   replays; rules keep all their memory in ``self.state`` (plain dicts, lists, numbers and
   numpy arrays), so the default deep copy is a correct snapshot.

Rules are pure functions of data time: they never read a clock or do I/O.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa

from seabridge.detect.model import Finding, ParamSpec, VesselFrame
from seabridge.geo import ZoneSet
from seabridge.packs.parties import Party

__all__ = ["KINDS", "Applicability", "PairRule", "Rule", "RuleContext", "register", "rule_class"]


@dataclass(frozen=True, slots=True)
class Applicability:
    """Which vessels a rulebook entry applies to; None means no filter on that attribute.

    ``fleets`` lists party ids: a vessel applies when it belongs to one of their fleets. For
    pair rules a pair applies when both vessels pass the other filters and, if ``fleets`` is
    set, at least one of the two is in a listed fleet.
    """

    ship_types: tuple[tuple[int, int], ...] | None = None  # inclusive code ranges
    flags: tuple[str, ...] | None = None
    zones: tuple[str, ...] | None = None
    fleets: tuple[str, ...] | None = None
    underway_only: bool = False  # SOG >= 0.5 kn and not moored/anchored (status 1, 5)


@dataclass(frozen=True, slots=True)
class RuleContext:
    """What every rule may consult besides the frame."""

    zones: ZoneSet
    parties: tuple[Party, ...]
    applies: Applicability


class Rule(ABC):
    """Base class of every rule kind."""

    kind: ClassVar[str]
    PARAMS: ClassVar[tuple[ParamSpec, ...]]
    METRICS: ClassVar[tuple[str, ...]]
    PAIR: ClassVar[bool] = False
    SUMMARY: ClassVar[str] = ""
    #: The metric that says how severe a finding is (None: the first of ``METRICS``).
    KEY_METRIC: ClassVar[str | None] = None
    #: Which values of the key metric are worse: "lower" (cpa_m), "higher" (speed_kn,
    #: duration_s), or "latest" (no order: an event reports its latest finding).
    KEY_WORSE: ClassVar[str] = "latest"
    #: A screening rule (data quality) gets :meth:`screen` instead of :meth:`observe`.
    SCREENS: ClassVar[bool] = False
    #: The rule reads zone membership itself (zone_entry): the engine does not narrow
    #: ``applies`` to vessels inside the entry's ``zones`` (the rule watches those zones).
    ZONE_AWARE: ClassVar[bool] = False

    def __init__(self, rule_id: str, params: Mapping[str, float], context: RuleContext) -> None:
        self.rule_id = rule_id
        self.params = dict(params)
        self.context = context
        self.state: dict[str, Any] = {}

    @classmethod
    def key_metric(cls) -> str | None:
        """``KEY_METRIC``, or the first of ``METRICS`` (None when there are none)."""
        return cls.KEY_METRIC or (cls.METRICS[0] if cls.METRICS else None)

    def observe(self, fixes: pa.Table) -> None:  # noqa: B027 - optional hook
        """New fixes (POSITION_SCHEMA rows, sorted by ts) before the next tick.

        Only fixes every screening rule accepted; never called with an empty table.
        """

    def screen(self, fixes: pa.Table) -> np.ndarray[Any, np.dtype[np.bool_]]:
        """For ``SCREENS`` rules, instead of :meth:`observe`: every new fix (sorted by ts),
        and which of them are usable (True). Rejected fixes are kept out of the other rules'
        :meth:`observe` and out of the frame's positions."""
        return np.ones(fixes.num_rows, dtype=np.bool_)

    @abstractmethod
    def evaluate(self, frame: VesselFrame, applies: np.ndarray[Any, Any]) -> Sequence[Finding]:
        """The situations present at ``frame.time_ms`` among the rows where ``applies``."""

    def usable(self, frame: VesselFrame) -> np.ndarray[Any, np.dtype[np.bool_]]:
        """For ``SCREENS`` rules: rows of the frame other rules may use at this tick (e.g.
        not an MMSI two transmitters share). The engine ANDs it into ``frame.usable``
        before any rule evaluates. Default: every row."""
        return np.ones(len(frame), dtype=np.bool_)

    def snapshot(self) -> Any:
        """A copy of everything the rule remembers (restored to replay late data)."""
        return copy.deepcopy(self.state)

    def restore(self, saved: Any) -> None:
        """Go back to a state returned by :meth:`snapshot`."""
        self.state = copy.deepcopy(saved)


class PairRule(Rule):
    """A rule whose findings are pairs of vessels (key and vessels: the two MMSIs).

    An entry's fleet filter holds for a pair when at least one of the two is in a listed
    fleet, so the engine does not narrow ``applies`` by fleet (``PAIR``); it passes the rows
    in the listed fleets as ``anchors`` instead, and the rule leaves out every pair without
    one: such a pair's situations could never be reported, so it need not be tracked. The
    engine still filters the findings by fleet, so a rule may ignore ``anchors``.
    """

    PAIR: ClassVar[bool] = True

    @abstractmethod
    def evaluate(
        self,
        frame: VesselFrame,
        applies: np.ndarray[Any, Any],
        anchors: np.ndarray[Any, np.dtype[np.bool_]] | None = None,
    ) -> Sequence[Finding]:
        """The situations present at ``frame.time_ms`` among the rows where ``applies``,
        of pairs holding at least one row where ``anchors`` (any pair when None)."""


KINDS: dict[str, type[Rule]] = {}


def register(cls: type[Rule]) -> type[Rule]:
    """Class decorator: make a rule kind known to rulebooks, the engine and the docs."""
    if cls.kind in KINDS:
        raise ValueError(f"rule kind {cls.kind!r} registered twice")
    names = [p.name for p in cls.PARAMS]
    if len(names) != len(set(names)):
        raise ValueError(f"rule kind {cls.kind!r}: duplicate parameter names")
    if cls.KEY_WORSE not in ("lower", "higher", "latest"):
        raise ValueError(f"rule kind {cls.kind!r}: KEY_WORSE must be lower, higher or latest")
    key = cls.KEY_METRIC
    if key is not None and key not in cls.METRICS:
        raise ValueError(f"rule kind {cls.kind!r}: KEY_METRIC {key!r} is not one of METRICS")
    KINDS[cls.kind] = cls
    return cls


def rule_class(kind: str) -> type[Rule]:
    """The class of a registered kind.

    Raises:
        KeyError: unknown kind (the message lists the known ones).
    """
    try:
        return KINDS[kind]
    except KeyError:
        raise KeyError(f"unknown rule kind {kind!r}; known: {', '.join(sorted(KINDS))}") from None
