"""The communication mechanism: counterparts directory, escalation ladder, notify policy.

A pack's ``[files] mechanism`` is a YAML document both parties agree on (the built-in one is
``data/packs/ecs/mechanism.yaml``)::

    mechanism: {id: ecs-mechanism, version: 1, title: "..."}
    references: [{id: cues-2014, title: "...", url: "..."}]
    incidents: {open_level: 2, correlation_window: 30 min}
    notify: {involving: [fleet, flag]}
    notices: {close_quarters: incident.close_quarters, ...}   # rule kind -> template
    closing: information.incident_closed
    counterparts:
      jcg:
        - level: 1
          title: {en: On-scene, ja: ..., zh: ...}
          unit: {en: "...", ja: "...", zh: "..."}
          channel: hotline            # the node channel this level's messages travel on
          means: "VHF channel 16; CUES signals"
          duty_roles: ["commanding officer of the unit on scene"]
          languages: [en]
          ack_deadline: 15 min
      ccg: [...]
    ladder:
      - {level: 1, notify: 1, template: by-kind}
      - {level: 2, notify: 2, template: request.acknowledge, ack_deadline: 30 min}

``counterparts`` names, for every party of the pack, the same contiguous levels from 1:
who answers at that level (duty roles, never persons or phone numbers), in which languages,
and the agreed acknowledgement deadline. The ``ladder`` says, per level, which counterpart
level is notified and with which phrasebook template; ``by-kind`` is the template of
``notices`` for the incident's rule kind. A step's ``ack_deadline`` defaults to that of the
counterpart notified. Level 1 messages are hotline ``notification`` entries, higher levels
``escalation`` entries.

The **canonical form** is JSON with sorted keys, every deadline in whole seconds
(``*_s``), defaults filled in, counterparts sorted by party and level, the ladder by level,
and no comments; its SHA-256 names the exact mechanism, as the rulebook's does
(:mod:`seabridge.detect.rulebook`). Every error names the file and the field.

This module parses and validates; it must not send, store or read anything but the pack.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

from seabridge.detect.model import to_unit
from seabridge.packs import SLUG_PATTERN, Fields, Pack, Where, load_parties
from seabridge.packs.phrasebook import Phrasebook, load_phrasebook
from seabridge.packs.yamlfile import load_yaml

__all__ = [
    "BY_KIND",
    "INVOLVING",
    "Counterpart",
    "LadderStep",
    "Mechanism",
    "load_mechanism",
    "parse_mechanism",
]

BY_KIND: Final = "by-kind"
"""Ladder template meaning: the notice template of the incident's rule kind."""
INVOLVING: Final = ("fleet", "flag")
"""What makes an event involve a party: a vessel of its fleet, or a vessel of its state's flag."""
_MAX_DEADLINE_S: Final = 7 * 24 * 3600
_CHANNEL: Final = re.compile(r"[a-z0-9][a-z0-9_-]*(/[a-z0-9][a-z0-9_-]*)*")
_LANGUAGE: Final = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]+)*")
# A duty role names a function ("duty officer, operations centre"). Long digit runs, "+81",
# "@" or "tel:" mean a phone number or an address slipped in: refused.
_CONTACT: Final = re.compile(r"\d[\d\s().-]{4,}\d|\+\s*\d|@|tel:|mailto:", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Counterpart:
    """Who one party answers with at one level of contact."""

    party: str
    level: int
    title: Mapping[str, str] = field(hash=False)
    """The level's name by language (``On-scene``, ``Regional headquarters``)."""
    unit: Mapping[str, str] = field(hash=False)
    """The answering office or unit by language."""
    channel: str
    """The node channel messages at this level travel on."""
    means: str
    """How the level is reached outside the node (radio, telephone), for the operator."""
    duty_roles: tuple[str, ...]
    languages: tuple[str, ...]
    ack_deadline_ms: int

    def as_json(self) -> dict[str, Any]:
        return {
            "party": self.party,
            "level": self.level,
            "title": dict(self.title),
            "unit": dict(self.unit),
            "channel": self.channel,
            "means": self.means,
            "duty_roles": list(self.duty_roles),
            "languages": list(self.languages),
            "ack_deadline_s": self.ack_deadline_ms // 1000,
        }


@dataclass(frozen=True, slots=True)
class LadderStep:
    """One rung of the escalation ladder."""

    level: int
    notify_level: int
    """The counterpart level notified at this rung."""
    template: str
    """A phrasebook template id, or :data:`BY_KIND`."""
    ack_deadline_ms: int | None
    """The deadline given; ``None`` takes the notified counterpart's."""

    @property
    def message_kind(self) -> str:
        """The hotline entry kind of this rung's message."""
        return "notification" if self.level == 1 else "escalation"


@dataclass(frozen=True, slots=True)
class Mechanism:
    """A validated mechanism file, its canonical JSON text and that text's SHA-256."""

    id: str
    version: int
    title: str
    open_level: int
    """Events at or above this level open or join incidents."""
    correlation_window_ms: int
    involving: tuple[str, ...]
    """Of :data:`INVOLVING`: what makes an event notifiable to a party."""
    notices: Mapping[str, str] = field(hash=False)
    closing_template: str
    counterparts: Mapping[str, tuple[Counterpart, ...]] = field(hash=False)
    ladder: tuple[LadderStep, ...]
    template_params: Mapping[str, tuple[str, ...]] = field(hash=False)
    """The params of every template the mechanism uses (from the phrasebook)."""
    source: str
    canonical: str
    sha256: str

    @property
    def top_level(self) -> int:
        return self.ladder[-1].level

    @property
    def document(self) -> str:
        """The name agreements use for this document: ``mechanism/ID/vVERSION``."""
        return f"mechanism/{self.id}/v{self.version}"

    @property
    def parties(self) -> tuple[str, ...]:
        return tuple(self.counterparts)

    def step(self, level: int) -> LadderStep:
        """The ladder rung ``level`` (1 = first notification)."""
        for step in self.ladder:
            if step.level == level:
                return step
        raise KeyError(f"mechanism {self.id}: no ladder level {level} (1..{self.top_level})")

    def counterpart(self, party: str, level: int) -> Counterpart:
        """``party``'s counterpart at contact level ``level``."""
        for counterpart in self.counterparts[party]:
            if counterpart.level == level:
                return counterpart
        raise KeyError(f"mechanism {self.id}: {party} has no counterpart level {level}")

    def deadline_ms(self, level: int, party: str) -> int:
        """The acknowledgement deadline of ladder rung ``level`` for messages to ``party``."""
        step = self.step(level)
        if step.ack_deadline_ms is not None:
            return step.ack_deadline_ms
        return self.counterpart(party, step.notify_level).ack_deadline_ms

    def template_for(self, level: int, kind: str) -> str | None:
        """The template id of rung ``level`` for an incident of rule kind ``kind``, or
        ``None`` when the kind has no notice template (such incidents are not notified)."""
        template = self.step(level).template
        return self.notices.get(kind) if template == BY_KIND else template

    def as_json(self) -> dict[str, Any]:
        """The canonical form as a JSON object."""
        result: dict[str, Any] = json.loads(self.canonical)
        return result


# --- loading ------------------------------------------------------------------------------


def load_mechanism(pack: Pack) -> Mechanism:
    """The mechanism of ``pack`` (its ``[files] mechanism``), validated against the pack's
    parties, languages and phrasebook.

    Raises:
        PackError: a missing file or an invalid field, named as ``FILE: FIELD: problem``.
    """
    source = str(pack.file("mechanism"))
    return parse_mechanism(
        pack.read_text("mechanism"),
        source,
        party_ids=[party.id for party in load_parties(pack)],
        phrasebook=load_phrasebook(pack),
        languages=pack.languages,
    )


def parse_mechanism(
    text: str,
    source: str,
    *,
    party_ids: Sequence[str],
    phrasebook: Phrasebook,
    languages: Sequence[str] = ("en",),
) -> Mechanism:
    """Validate a mechanism's YAML text.

    Args:
        text: The YAML document.
        source: Its file name, for error messages.
        party_ids: The pack's parties: ``counterparts`` must name each, and only them.
        phrasebook: Every template id must be one of its templates.
        languages: The pack's languages (names are given in each).

    Raises:
        PackError: ``SOURCE: FIELD: problem`` for the first problem found.
    """
    top = Fields(load_yaml(text, source), Where(source))
    head = top.table("mechanism")
    mechanism_id = head.text("id", pattern=SLUG_PATTERN, what="an id (a-z, 0-9, -, _)")
    version = head.integer("version", minimum=1)
    title = head.text("title")
    head.finish()
    references = _references(top)
    settings = top.table("incidents", {})
    open_level = settings.integer("open_level", 2, minimum=1, maximum=4)
    window_s = _seconds(settings, "correlation_window", "30 min")
    settings.finish()
    notify = top.table("notify", {})
    involving = _involving(notify)
    notify.finish()
    used: dict[str, tuple[str, ...]] = {}
    notices = _notices(top.table("notices"), phrasebook, used)
    closing = _template(top, "closing", phrasebook, used)
    counterparts = _counterparts(top.table("counterparts"), party_ids, languages)
    ladder = _ladder(top, counterparts, phrasebook, used, bool(notices))
    top.finish()
    canonical_object = {
        "id": mechanism_id,
        "version": version,
        "title": title,
        "references": references,
        "incidents": {"open_level": open_level, "correlation_window_s": window_s},
        "notify": {"involving": list(involving)},
        "notices": dict(sorted(notices.items())),
        "closing": closing,
        "counterparts": {
            party: [c.as_json() for c in levels] for party, levels in sorted(counterparts.items())
        },
        "ladder": [_canonical_step(step) for step in ladder],
    }
    canonical = json.dumps(
        canonical_object, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return Mechanism(
        id=mechanism_id,
        version=version,
        title=title,
        open_level=open_level,
        correlation_window_ms=window_s * 1000,
        involving=involving,
        notices=MappingProxyType(notices),
        closing_template=closing,
        counterparts=MappingProxyType(counterparts),
        ladder=ladder,
        template_params=MappingProxyType(used),
        source=source,
        canonical=canonical,
        sha256=hashlib.sha256(canonical.encode("utf-8")).hexdigest(),
    )


def _canonical_step(step: LadderStep) -> dict[str, Any]:
    result: dict[str, Any] = {
        "level": step.level,
        "notify": step.notify_level,
        "template": step.template,
    }
    if step.ack_deadline_ms is not None:
        result["ack_deadline_s"] = step.ack_deadline_ms // 1000
    return result


def _seconds(table: Fields, key: str, default: object = None) -> int:
    """A duration such as ``15 min`` as whole seconds, within 1 s .. 7 days."""
    where = table.at(key)
    raw = table.raw(key) if default is None else table.raw(key, default)
    try:
        seconds = to_unit(raw, "s")
    except ValueError as exc:
        raise where.error(str(exc)) from None
    if not 1 <= seconds <= _MAX_DEADLINE_S:
        raise where.error(f"{raw!r} is outside 1 s .. 7 days")
    if seconds != int(seconds):
        raise where.error(f"{raw!r} is not a whole number of seconds")
    return int(seconds)


def _references(top: Fields) -> list[dict[str, str]]:
    references: list[dict[str, str]] = []
    for table in top.tables("references") if top.has("references") else []:
        item = {
            "id": table.text("id", pattern=SLUG_PATTERN, what="an id (a-z, 0-9, -, _)"),
            "title": table.text("title"),
            "url": table.text("url", ""),
            "note": table.text("note", ""),
        }
        table.finish()
        references.append(item)
    top.raw("references", [])
    return sorted(references, key=lambda r: r["id"])


def _involving(notify: Fields) -> tuple[str, ...]:
    where = notify.at("involving")
    items = notify.array("involving", list(INVOLVING))
    for i, item in enumerate(items):
        if item not in INVOLVING:
            raise where.index(i).error(f"{item!r} is not one of {', '.join(INVOLVING)}")
    if len(set(items)) != len(items):
        raise where.error("lists an item twice")
    return tuple(x for x in INVOLVING if x in items)


def _template_id(
    value: object, where: Where, phrasebook: Phrasebook, used: dict[str, tuple[str, ...]]
) -> str:
    if not isinstance(value, str) or value not in phrasebook.templates:
        some = ", ".join(list(phrasebook.templates)[:4])
        raise where.error(
            f"{value!r} is not a template of the phrasebook {phrasebook.id} (e.g. {some})"
        )
    used[value] = phrasebook.templates[value].params
    return value


def _template(
    table: Fields, key: str, phrasebook: Phrasebook, used: dict[str, tuple[str, ...]]
) -> str:
    return _template_id(table.raw(key), table.at(key), phrasebook, used)


def _notices(
    table: Fields, phrasebook: Phrasebook, used: dict[str, tuple[str, ...]]
) -> dict[str, str]:
    notices: dict[str, str] = {}
    for kind in list(table.data):
        if not isinstance(kind, str) or not SLUG_PATTERN.fullmatch(kind):
            raise table.where.error(f"{kind!r} is not a rule kind (e.g. close_quarters)")
        template_id = _template(table, kind, phrasebook, used)
        reports = phrasebook.templates[template_id].kind
        if reports is not None and reports != kind:
            raise table.at(kind).error(f"template {template_id!r} reports {reports}, not {kind}")
        notices[kind] = template_id
    table.finish()
    return notices


def _counterparts(
    table: Fields, party_ids: Sequence[str], languages: Sequence[str]
) -> dict[str, tuple[Counterpart, ...]]:
    result: dict[str, tuple[Counterpart, ...]] = {}
    for party in party_ids:
        where = table.at(party)
        levels = [_counterpart(item, party, languages) for item in table.tables(party)]
        if not levels:
            raise where.error("no levels: list levels 1, 2, ... of this party's counterparts")
        numbers = [c.level for c in levels]
        if numbers != list(range(1, len(levels) + 1)):
            missing = min(set(range(1, max(numbers) + 2)) - set(numbers))
            raise where.error(
                f"levels must run 1, 2, ... in order without gaps; level {missing} is missing "
                f"or out of place (found {numbers})"
            )
        result[party] = tuple(levels)
    table.finish()  # a party the pack does not have is an unknown key
    counts = {party: len(levels) for party, levels in result.items()}
    if len(set(counts.values())) > 1:
        raise table.where.error(f"every party must have the same levels (found {counts})")
    return result


def _counterpart(table: Fields, party: str, languages: Sequence[str]) -> Counterpart:
    level = table.integer("level", minimum=1, maximum=9)
    title = table.names("title", required=languages)
    unit = table.names("unit", required=languages)
    channel = table.text("channel", pattern=_CHANNEL, what="a node channel (e.g. hotline)")
    means = table.text("means", "")
    roles_where = table.at("duty_roles")
    roles = table.array("duty_roles")
    if not roles:
        raise roles_where.error("name at least one duty role")
    for i, role in enumerate(roles):
        if not isinstance(role, str) or not role.strip():
            raise roles_where.index(i).error("expected a duty role such as 'duty officer'")
        if _CONTACT.search(role):
            raise roles_where.index(i).error(
                f"{role!r} looks like a phone number or an address: give duty roles only"
            )
    spoken_where = table.at("languages")
    spoken = table.array("languages")
    for i, language in enumerate(spoken):
        if not isinstance(language, str) or not _LANGUAGE.fullmatch(language):
            raise spoken_where.index(i).error(f"{language!r} is not a language tag (e.g. ja)")
    if not spoken:
        raise spoken_where.error("name at least one working language")
    deadline_s = _seconds(table, "ack_deadline")
    table.finish()
    return Counterpart(
        party=party,
        level=level,
        title=MappingProxyType(title),
        unit=MappingProxyType(unit),
        channel=channel,
        means=means,
        duty_roles=tuple(roles),
        languages=tuple(spoken),
        ack_deadline_ms=deadline_s * 1000,
    )


def _ladder(
    top: Fields,
    counterparts: Mapping[str, tuple[Counterpart, ...]],
    phrasebook: Phrasebook,
    used: dict[str, tuple[str, ...]],
    has_notices: bool,
) -> tuple[LadderStep, ...]:
    where = top.at("ladder")
    tables = top.tables("ladder")
    if not tables:
        raise where.error("no levels: list the ladder's levels from 1")
    available = min(len(levels) for levels in counterparts.values())
    steps: list[LadderStep] = []
    for i, table in enumerate(tables):
        level = table.integer("level", minimum=1, maximum=9)
        if level != i + 1:
            raise table.at("level").error(
                f"level {i + 1} is missing: the ladder runs 1, 2, ... in order (found {level})"
            )
        notify = table.integer("notify", minimum=1, maximum=available)
        raw = table.raw("template")
        if raw == BY_KIND:
            if not has_notices:
                raise table.at("template").error(f"{BY_KIND} needs a non-empty notices table")
            template = BY_KIND
        else:
            template = _template_id(raw, table.at("template"), phrasebook, used)
        deadline = _seconds(table, "ack_deadline") * 1000 if table.has("ack_deadline") else None
        table.raw("ack_deadline", None)
        table.finish()
        steps.append(LadderStep(level, notify, template, deadline))
    return tuple(steps)
