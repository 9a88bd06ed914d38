"""Rulebooks: the shared safety standard, a versioned YAML document both parties sign.

A rulebook names its parties and references and lists rule entries. Each entry picks a rule
kind (:data:`seabridge.detect.rule.KINDS`), gives parameters with units (checked against
the kind's parameter table: known name, same dimension, within range), says which vessels
it applies to, and which level it raises, optionally graded by metric thresholds and by
whether a party's fleet is involved. The format is in ``docs/detection.md``::

    id: ecs-standard
    version: 1
    title: East China Sea shared safety standard
    parties: [jcg, ccg]
    effective: 2025-01-01
    references:
      - {id: opencpn, title: "OpenCPN CPA alarm defaults", url: "https://..."}
    rules:
      - id: close-quarters
        kind: close_quarters
        params: {threshold: 0.5 nm, horizon: 12 min}
        sources: {threshold: [opencpn], horizon: [opencpn]}
        applies: {underway_only: true}
        level: 1
        grades:
          - {level: 2, when: {cpa_m: {below: 0.5 nm}}, fleets: any}

The **canonical form** is JSON with sorted keys, rules sorted by id, every parameter present
(defaults filled in) as a number in its table unit, every grade threshold as a number in its
metric's unit, filters sorted, and no comments. Its SHA-256 identifies the exact standard,
so "0.5 nm" and "926 m" give the same hash and a changed threshold gives another. Every
error names the file and the field path (``rules[0].params.threshold: ...``).

This module parses and validates; it must not evaluate rules or read anything but the
rulebook file and the pack's manifest.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import seabridge.detect.rules  # noqa: F401  (registers every rule kind)
from seabridge.detect.model import RulebookRef, metric_unit, parse_quantity, to_unit
from seabridge.detect.rule import KINDS, Applicability, Rule, RuleContext
from seabridge.errors import PackError
from seabridge.geo import ZoneSet
from seabridge.packs import ISO2_PATTERN, SLUG_PATTERN, Fields, Pack, Party, Where
from seabridge.packs.yamlfile import load_yaml

__all__ = [
    "Condition",
    "Grade",
    "Reference",
    "RuleEntry",
    "Rulebook",
    "build_rules",
    "load_rulebook",
    "pack_rulebooks",
    "parse_rulebook",
]

_RULEBOOK_KEY = "rulebook"  # [files] rulebook = "rulebooks/NAME.yaml": the pack's default


@dataclass(frozen=True, slots=True)
class Condition:
    """``metric`` below and/or above a threshold (strictly), in the metric's unit."""

    metric: str
    below: float | None = None
    above: float | None = None

    def holds(self, metrics: Mapping[str, float]) -> bool:
        value = metrics.get(self.metric)
        if value is None or value != value:
            return False
        if self.below is not None and not value < self.below:
            return False
        return self.above is None or value > self.above


@dataclass(frozen=True, slots=True)
class Grade:
    """A higher level when every condition holds and the fleet condition is met.

    ``fleets``: None (no condition), ``"any"`` (at least one vessel belongs to a party's
    fleet) or party ids (at least one vessel belongs to one of their fleets).
    """

    level: int
    when: tuple[Condition, ...]
    fleets: str | tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class Reference:
    """A source that thresholds cite."""

    id: str
    title: str
    url: str = ""
    note: str = ""


@dataclass(frozen=True, slots=True)
class RuleEntry:
    """One rule of a rulebook: a kind with its parameters, filters and levels."""

    id: str
    kind: str
    title: str
    params: Mapping[str, float]
    applies: Applicability
    level: int
    grades: tuple[Grade, ...] = ()
    sources: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    note: str = ""
    where: str = field(default="", compare=False)
    """Where the entry is in its file (``rules[2]``), for errors; not part of the standard."""


@dataclass(frozen=True, slots=True)
class Rulebook:
    """A validated rulebook, its canonical JSON text and that text's SHA-256."""

    id: str
    version: int
    title: str
    parties: tuple[str, ...]
    effective: str
    references: tuple[Reference, ...]
    rules: tuple[RuleEntry, ...]
    source: str
    canonical: str
    sha256: str

    @property
    def ref(self) -> RulebookRef:
        """What every event raised under this rulebook names."""
        return RulebookRef(self.id, self.version, self.sha256)

    def as_json(self) -> dict[str, Any]:
        """The canonical form as a JSON object."""
        result: dict[str, Any] = json.loads(self.canonical)
        return result

    def rule(self, rule_id: str) -> RuleEntry:
        """The entry with ``rule_id``."""
        for entry in self.rules:
            if entry.id == rule_id:
                return entry
        raise KeyError(f"no rule {rule_id!r} in rulebook {self.id}")


# -- YAML ----------------------------------------------------------------------------------


# -- parsing -------------------------------------------------------------------------------


def _number(value: float) -> float | int:
    """A number as the canonical form writes it: 12 significant digits, integral as int."""
    rounded = float(f"{value:.12g}")
    if rounded.is_integer() and abs(rounded) < 2**53:
        return int(rounded)
    return rounded


def _show(value: float, unit: str) -> str:
    return f"{_number(value)} {unit}"


def _quantity(value: object, unit: str, where: Where) -> float:
    """A quantity (``"0.5 nm"``, or a bare number in ``unit``) converted to ``unit``."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise where.error(f"expected a quantity such as '0.5 nm' or a number in {unit}")
    try:
        number = to_unit(value, unit)
    except ValueError as exc:
        raise where.error(str(exc)) from None
    if not math.isfinite(number):
        raise where.error(f"{value!r} is not a finite number")
    return number


def _given(value: object, converted: float, unit: str) -> str:
    """How a value was written, with its conversion when the unit differs."""
    number, given_unit = parse_quantity(value)
    if given_unit is None or given_unit == unit:
        return _show(number, unit)
    return f"{_number(number)} {given_unit} ({converted:.4g} {unit})"


def _params(kind: str, table: Fields) -> dict[str, float]:
    specs = {spec.name: spec for spec in KINDS[kind].PARAMS}
    params: dict[str, float] = {}
    for name in table.data:
        where = table.at(name)
        spec = specs.get(name)
        if spec is None:
            known = ", ".join(specs) or "none"
            raise where.error(f"unknown parameter of {kind} (its parameters: {known})")
        raw = table.raw(name)
        value = _quantity(raw, spec.unit, where)
        given = _given(raw, value, spec.unit)
        if value < spec.minimum:
            raise where.error(f"{given} is below the minimum {_show(spec.minimum, spec.unit)}")
        if value > spec.maximum:
            raise where.error(f"{given} is above the maximum {_show(spec.maximum, spec.unit)}")
        params[name] = float(_number(value))
    table.finish()
    for spec in KINDS[kind].PARAMS:
        params.setdefault(spec.name, float(_number(spec.default)))
    return params


def _slugs(items: list[Any], where: Where, what: str, allowed: Collection[str]) -> tuple[str, ...]:
    found: list[str] = []
    for i, item in enumerate(items):
        place = where.index(i)
        if not isinstance(item, str):
            raise place.error(f"expected {what}, found {item!r}")
        if item not in allowed:
            raise place.error(f"unknown {what} {item!r} (known: {', '.join(allowed) or 'none'})")
        found.append(item)
    if len(set(found)) != len(found):
        raise where.error(f"lists a {what} twice")
    return tuple(sorted(found))


def _ship_types(items: list[Any], where: Where) -> tuple[tuple[int, int], ...]:
    ranges: list[tuple[int, int]] = []
    for i, item in enumerate(items):
        place = where.index(i)
        bounds: list[object]
        if isinstance(item, str) and "-" in item:
            bounds = [part.strip() for part in item.split("-", 1)]
        elif isinstance(item, list):
            bounds = list(item)
        else:
            bounds = [item, item]
        try:
            if len(bounds) != 2:
                raise ValueError
            first, last = (int(str(b)) if isinstance(b, str) else b for b in bounds)
            if isinstance(first, bool) or isinstance(last, bool):
                raise ValueError
            if not (isinstance(first, int) and isinstance(last, int)):
                raise ValueError
        except ValueError:
            raise place.error(
                f"{item!r} is not a ship type: give a code (30), a range '60-69' or [60, 69]"
            ) from None
        if not 0 <= first <= last <= 255:
            raise place.error(f"{item!r}: ship type codes run from 0 to 255, first <= last")
        ranges.append((first, last))
    return tuple(sorted(set(ranges)))


def _flags(items: list[Any], where: Where) -> tuple[str, ...]:
    flags: list[str] = []
    for i, item in enumerate(items):
        place = where.index(i)
        if isinstance(item, bool):
            raise place.error(f"{item!r} is a YAML boolean: quote flag codes such as 'NO'")
        if not isinstance(item, str) or not ISO2_PATTERN.fullmatch(item):
            raise place.error(f"{item!r} is not an ISO 3166 alpha-2 code (e.g. JP)")
        flags.append(item)
    return tuple(sorted(set(flags)))


def _applies(table: Fields, zone_ids: Collection[str], party_ids: Collection[str]) -> Applicability:
    ship_types = flags = zones = fleets = None
    if table.has("ship_types"):
        ship_types = _ship_types(table.array("ship_types"), table.at("ship_types"))
    if table.has("flags"):
        flags = _flags(table.array("flags"), table.at("flags"))
    if table.has("zones"):
        zones = _slugs(table.array("zones"), table.at("zones"), "zone", zone_ids)
    if table.has("fleets"):
        fleets = _slugs(table.array("fleets"), table.at("fleets"), "party", party_ids)
    underway_only = table.flag("underway_only", False)
    table.finish()
    return Applicability(ship_types, flags, zones, fleets, underway_only)


def _grades(items: list[Any], where: Where, kind: str, party_ids: Collection[str]) -> list[Grade]:
    metrics = KINDS[kind].METRICS
    grades: list[Grade] = []
    for i, item in enumerate(items):
        table = Fields(item, where.index(i))
        level = table.integer("level", minimum=1, maximum=4)
        when = table.table("when", {})
        conditions: list[Condition] = []
        for metric in when.data:
            place = when.at(metric)
            if metric not in metrics:
                raise place.error(f"unknown metric of {kind} (its metrics: {', '.join(metrics)})")
            bounds = when.table(metric)
            unit = metric_unit(metric)
            below = above = None
            if bounds.has("below"):
                below = float(_number(_quantity(bounds.raw("below"), unit, bounds.at("below"))))
            if bounds.has("above"):
                above = float(_number(_quantity(bounds.raw("above"), unit, bounds.at("above"))))
            bounds.finish()
            if below is None and above is None:
                raise place.error("give below: and/or above: a threshold")
            conditions.append(Condition(metric, below, above))
        when.finish()
        fleets: str | tuple[str, ...] | None = None
        if table.has("fleets"):
            raw = table.raw("fleets")
            if raw == "any":
                fleets = "any"
            elif isinstance(raw, list):
                fleets = _slugs(raw, table.at("fleets"), "party", party_ids)
            else:
                raise table.at("fleets").error("expected 'any' or a list of party ids")
        table.finish()
        if not conditions and fleets is None:
            raise table.where.error("a grade needs a when: condition or a fleets: condition")
        grades.append(Grade(level, tuple(sorted(conditions, key=lambda c: c.metric)), fleets))
    return grades


def _sources(
    table: Fields, entry_keys: Collection[str], reference_ids: Collection[str]
) -> dict[str, tuple[str, ...]]:
    sources: dict[str, tuple[str, ...]] = {}
    for key in table.data:
        place = table.at(key)
        if key not in entry_keys:
            raise place.error(
                f"cites a source for {key!r}, which is not a parameter, level or grades"
            )
        items = table.raw(key)
        if isinstance(items, str):
            items = [items]
        if not isinstance(items, list) or not items:
            raise place.error("expected a list of reference ids")
        sources[key] = tuple(_slugs(items, place, "reference", reference_ids))
    table.finish()
    return sources


def _rule(
    table: Fields,
    zone_ids: Collection[str],
    party_ids: Collection[str],
    reference_ids: Collection[str],
) -> RuleEntry:
    rule_id = table.text("id", pattern=SLUG_PATTERN, what="an id (a-z, 0-9, -, _)")
    kind_place = table.at("kind")
    kind = table.text("kind")
    if kind not in KINDS:
        raise kind_place.error(f"unknown rule kind {kind!r} (known: {', '.join(sorted(KINDS))})")
    params = _params(kind, table.table("params", {}))
    applies = _applies(table.table("applies", {}), zone_ids, party_ids)
    level = table.integer("level", minimum=1, maximum=4)
    grades = _grades(table.array("grades", []), table.at("grades"), kind, party_ids)
    entry_keys = (*params, "level", "grades", "applies")
    sources = _sources(table.table("sources", {}), entry_keys, reference_ids)
    entry = RuleEntry(
        id=rule_id,
        kind=kind,
        title=table.text("title", ""),
        params=params,
        applies=applies,
        level=level,
        grades=tuple(grades),
        sources=sources,
        note=table.text("note", ""),
        where=table.where.field,
    )
    table.finish()
    return entry


def _references(top: Fields) -> tuple[Reference, ...]:
    references: list[Reference] = []
    for table in top.tables("references") if top.has("references") else []:
        references.append(
            Reference(
                id=table.text("id", pattern=SLUG_PATTERN, what="an id (a-z, 0-9, -, _)"),
                title=table.text("title"),
                url=table.text("url", ""),
                note=table.text("note", ""),
            )
        )
        table.finish()
    top.raw("references", None)
    ids = [reference.id for reference in references]
    if len(set(ids)) != len(ids):
        raise top.at("references").error("two references share an id")
    return tuple(references)


def _effective(top: Fields) -> str:
    raw = top.raw("effective")
    if isinstance(raw, dt.datetime):
        raise top.at("effective").error("give a date (YYYY-MM-DD), not a time")
    if isinstance(raw, dt.date):
        return raw.isoformat()
    if isinstance(raw, str):
        try:
            return dt.date.fromisoformat(raw).isoformat()
        except ValueError:
            pass
    raise top.at("effective").error(f"{raw!r} is not a date (YYYY-MM-DD)")


def parse_rulebook(
    text: str,
    source: str,
    *,
    zone_ids: Collection[str],
    parties: Sequence[Party],
) -> Rulebook:
    """Validate a rulebook's YAML text against the registered kinds, zones and parties.

    Args:
        text: The YAML document.
        source: Its file name, for error messages.
        zone_ids: The zones filters may name (the pack's zones).
        parties: The parties the rulebook and its fleet filters may name (the pack's).

    Raises:
        PackError: ``SOURCE: FIELD: problem`` for the first problem found.
    """
    top = Fields(load_yaml(text, source), Where(source))
    rulebook_id = top.text("id", pattern=SLUG_PATTERN, what="an id (a-z, 0-9, -, _)")
    version = top.integer("version", minimum=1)
    title = top.text("title")
    party_ids = [party.id for party in parties]
    named = _slugs(top.array("parties"), top.at("parties"), "party", party_ids)
    effective = _effective(top)
    references = _references(top)
    reference_ids = [reference.id for reference in references]
    tables = top.tables("rules")
    if not tables:
        raise top.at("rules").error("no rules: list at least one")
    rules = [_rule(table, zone_ids, party_ids, reference_ids) for table in tables]
    seen: dict[str, int] = {}
    for i, rule in enumerate(rules):
        if rule.id in seen:
            raise tables[i].at("id").error(f"{rule.id!r} is also rules[{seen[rule.id]}]'s id")
        seen[rule.id] = i
    top.finish()
    rules.sort(key=lambda rule: rule.id)
    canonical_object = _canonical(rulebook_id, version, title, named, effective, references, rules)
    canonical = json.dumps(
        canonical_object, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return Rulebook(
        id=rulebook_id,
        version=version,
        title=title,
        parties=named,
        effective=effective,
        references=references,
        rules=tuple(rules),
        source=source,
        canonical=canonical,
        sha256=hashlib.sha256(canonical.encode("utf-8")).hexdigest(),
    )


def _canonical_applies(applies: Applicability) -> dict[str, Any]:
    result: dict[str, Any] = {"underway_only": applies.underway_only}
    if applies.ship_types is not None:
        result["ship_types"] = [list(pair) for pair in applies.ship_types]
    for name in ("flags", "zones", "fleets"):
        value = getattr(applies, name)
        if value is not None:
            result[name] = list(value)
    return result


def _canonical_grade(grade: Grade) -> dict[str, Any]:
    when: dict[str, Any] = {}
    for condition in grade.when:
        bounds: dict[str, Any] = {}
        if condition.below is not None:
            bounds["below"] = _number(condition.below)
        if condition.above is not None:
            bounds["above"] = _number(condition.above)
        when[condition.metric] = bounds
    result: dict[str, Any] = {"level": grade.level, "when": when}
    if grade.fleets is not None:
        result["fleets"] = grade.fleets if isinstance(grade.fleets, str) else list(grade.fleets)
    return result


def _canonical(
    rulebook_id: str,
    version: int,
    title: str,
    parties: tuple[str, ...],
    effective: str,
    references: tuple[Reference, ...],
    rules: list[RuleEntry],
) -> dict[str, Any]:
    rule_objects = []
    for rule in rules:
        grades = [_canonical_grade(grade) for grade in rule.grades]
        grades.sort(key=lambda g: (g["level"], json.dumps(g, sort_keys=True)))
        rule_objects.append(
            {
                "id": rule.id,
                "kind": rule.kind,
                "title": rule.title,
                "params": {name: _number(value) for name, value in rule.params.items()},
                "applies": _canonical_applies(rule.applies),
                "level": rule.level,
                "grades": grades,
                "sources": {key: list(ids) for key, ids in rule.sources.items()},
                "note": rule.note,
            }
        )
    return {
        "id": rulebook_id,
        "version": version,
        "title": title,
        "parties": list(parties),
        "effective": effective,
        "references": [
            {"id": r.id, "title": r.title, "url": r.url, "note": r.note} for r in references
        ],
        "rules": rule_objects,
    }


# -- locating ------------------------------------------------------------------------------


def pack_rulebooks(pack: Pack) -> dict[str, Path]:
    """The rulebooks of a pack by name (file stem): its ``[files] rulebook`` and the other
    ``.yaml`` files beside it. Empty when the pack lists no rulebook."""
    if _RULEBOOK_KEY not in pack.files:
        return {}
    default = pack.file(_RULEBOOK_KEY)
    found = {path.stem: path for path in sorted(default.parent.glob("*.yaml"))}
    found[default.stem] = default
    return found


def load_rulebook(
    name_or_path: str | Path | None,
    pack: Pack,
    *,
    zone_ids: Collection[str],
    parties: Sequence[Party],
) -> Rulebook:
    """A rulebook of ``pack`` by name (``ecs-standard``), a YAML file by path, or (None) the
    pack's default rulebook, validated against the pack's zones and parties.

    Raises:
        PackError: no such rulebook or file, or an invalid field (file and field named).
    """
    if name_or_path is None:
        path = pack.file(_RULEBOOK_KEY)
    else:
        text = str(name_or_path)
        looks_like_path = (
            isinstance(name_or_path, Path)
            or "/" in text
            or "\\" in text
            or text.endswith((".yaml", ".yml"))
        )
        if looks_like_path:
            path = Path(text)
            if not path.is_file():
                raise PackError(f"{path}: no such rulebook file")
        else:
            known = pack_rulebooks(pack)
            if text not in known:
                listed = ", ".join(known) or "none"
                raise PackError(
                    f"no rulebook {text!r} in pack {pack.id} (its rulebooks: {listed}); "
                    "give a path (e.g. ./mine.yaml) for a rulebook file"
                )
            path = known[text]
    try:
        text_content = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PackError(f"{path}: cannot be read ({exc})") from None
    return parse_rulebook(text_content, str(path), zone_ids=zone_ids, parties=parties)


def build_rules(rulebook: Rulebook, zones: ZoneSet, parties: Sequence[Party]) -> list[Rule]:
    """One rule instance per entry, in the rulebook's order (what the engine evaluates).

    A kind may check more when it is built (zone_entry needs zones to watch); such an error
    is raised as ``FILE: rules[i]: problem``.

    Raises:
        PackError: an entry its kind cannot be built from.
    """
    rules = []
    for entry in rulebook.rules:
        context = RuleContext(zones, tuple(parties), entry.applies)
        try:
            rules.append(KINDS[entry.kind](entry.id, entry.params, context))
        except (PackError, ValueError) as exc:
            raise Where(rulebook.source, entry.where).error(str(exc)) from None
    return rules
