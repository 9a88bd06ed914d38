"""Detection: the rulebook, one module per rule kind, and the engine (live and batch).

The public API is below; everything else in this package is private except the rule
contract (:mod:`seabridge.detect.rule`, :mod:`seabridge.detect.model`) that rule modules
implement. ``detect`` imports only the track store, geometry, AIS record types and the
ground floor; never the simulator, incidents, the node, the CLI or the web layer. Times are
data time in integer milliseconds (UTC); nothing here reads a clock.

Example::

    pack = load_pack("ecs")
    zones, parties = load_zones(pack), load_parties(pack)
    rulebook = load_rulebook(None, pack, zone_ids=zones.ids, parties=parties)
    engine = Engine(rulebook, zones, parties)
    with TrackStore.open(path, read_only=True) as store:
        for event in run_store(store, engine):
            print(event.as_json())
"""

from __future__ import annotations

from seabridge.detect.batch import final_events, run_store
from seabridge.detect.engine import Engine, EngineSettings, EngineStats
from seabridge.detect.frames import FrameBuilder, applies_mask
from seabridge.detect.model import (
    LEVELS,
    Event,
    EventStatus,
    Finding,
    ParamSpec,
    RulebookRef,
    VesselFrame,
    event_id,
)
from seabridge.detect.reference import rules_markdown
from seabridge.detect.rule import KINDS, Applicability, Rule, RuleContext, register
from seabridge.detect.rulebook import (
    Condition,
    Grade,
    Reference,
    Rulebook,
    RuleEntry,
    build_rules,
    load_rulebook,
    pack_rulebooks,
    parse_rulebook,
)

__all__ = [
    "KINDS",
    "LEVELS",
    "Applicability",
    "Condition",
    "Engine",
    "EngineSettings",
    "EngineStats",
    "Event",
    "EventStatus",
    "Finding",
    "FrameBuilder",
    "Grade",
    "ParamSpec",
    "Reference",
    "Rule",
    "RuleContext",
    "RuleEntry",
    "Rulebook",
    "RulebookRef",
    "VesselFrame",
    "applies_mask",
    "build_rules",
    "event_id",
    "final_events",
    "load_rulebook",
    "pack_rulebooks",
    "parse_rulebook",
    "register",
    "rules_markdown",
    "run_store",
]
