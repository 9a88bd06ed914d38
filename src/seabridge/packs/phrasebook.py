"""The hotline phrasebook: message templates in every language of a pack.

A pack's ``[files] phrasebook`` is a YAML file (the built-in one is
``data/packs/ecs/phrasebook.yaml``)::

    phrasebook: {id: ecs-phrasebook, version: 1}
    markers:                  # the eight IMO SMCP message markers, named in each language
      INFORMATION: {en: INFORMATION, ja: 情報, zh: 信息}
      ...
    templates:
      - id: incident.zone_entry         # lower-case words joined by dots, unique
        marker: INFORMATION             # one of MARKERS
        kind: zone_entry                # optional: the detection rule kind it reports
        params: [vessel, zone, time]    # every {placeholder}, each used in every language
        text: {en: "INFORMATION. Vessel {vessel} ...", ja: "...", zh: "..."}

A hotline message carries the English text and the text in the sender's language, and the
receiver sees both: :meth:`Phrasebook.render` returns that pair. Placeholders are plain
``{name}`` (no format specs): callers format numbers in the unit the name carries, and fill
places (a disputed feature) with all their names. This module only reads and validates the
file; it imports nothing from Seabridge but the ground floor.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

from seabridge.errors import InputError
from seabridge.packs._pack import Pack
from seabridge.packs.schema import SLUG_PATTERN, Fields, Where
from seabridge.packs.yamlfile import load_yaml

__all__ = ["MARKERS", "Phrasebook", "Template", "load_phrasebook", "parse_phrasebook"]

MARKERS: Final = (
    "INFORMATION",
    "WARNING",
    "ADVICE",
    "REQUEST",
    "QUESTION",
    "ANSWER",
    "INSTRUCTION",
    "INTENTION",
)
"""The message markers of the IMO Standard Marine Communication Phrases (A.918(22), A1/1.4)."""

_TEMPLATE_ID: Final = re.compile(r"[a-z0-9_]+(\.[a-z0-9_]+)*")
_PARAM: Final = re.compile(r"[a-z][a-z0-9_]*")
_FORMATTER: Final = string.Formatter()


@dataclass(frozen=True, slots=True)
class Template:
    """One message template: its marker, the rule kind it reports (if any), its params and
    its text per language."""

    id: str
    marker: str
    kind: str | None
    params: tuple[str, ...]
    text: Mapping[str, str] = field(hash=False)


@dataclass(frozen=True, slots=True)
class Phrasebook:
    """The templates of one pack, by id, in the pack's languages."""

    id: str
    version: int
    languages: tuple[str, ...]
    markers: Mapping[str, Mapping[str, str]] = field(hash=False)
    """Marker -> language -> the marker's word in that language."""
    templates: Mapping[str, Template] = field(hash=False)

    def template(self, template_id: str) -> Template:
        """The template ``template_id``.

        Raises:
            InputError: no such template.
        """
        try:
            return self.templates[template_id]
        except KeyError:
            raise InputError(
                f"phrasebook {self.id}: no template {template_id!r} "
                f"({len(self.templates)} templates, e.g. {', '.join(list(self.templates)[:3])})"
            ) from None

    def for_kind(self, kind: str) -> tuple[Template, ...]:
        """The templates that report the detection rule kind ``kind``."""
        return tuple(t for t in self.templates.values() if t.kind == kind)

    def for_marker(self, marker: str) -> tuple[Template, ...]:
        """The templates of the message marker ``marker``."""
        return tuple(t for t in self.templates.values() if t.marker == marker)

    def render(
        self, template_id: str, lang: str, params: Mapping[str, str | int]
    ) -> tuple[str, str]:
        """The message in ``lang`` and in English: ``(text in lang, English text)``.

        Raises:
            InputError: unknown template or language, a param missing or not one of the
                template's, or a value that is not text or an integer.
        """
        template = self.template(template_id)
        if lang not in self.languages:
            raise InputError(
                f"phrasebook {self.id}: no language {lang!r} (languages: "
                f"{', '.join(self.languages)})"
            )
        missing = [name for name in template.params if name not in params]
        extra = sorted(set(params) - set(template.params))
        if missing or extra:
            problems = []
            if missing:
                problems.append(f"missing {', '.join(missing)}")
            if extra:
                problems.append(f"unknown {', '.join(extra)}")
            raise InputError(
                f"phrasebook {self.id}: template {template_id}: {'; '.join(problems)} "
                f"(params: {', '.join(template.params)})"
            )
        values: dict[str, str] = {}
        for name, value in params.items():
            if isinstance(value, bool) or not isinstance(value, str | int):
                raise InputError(
                    f"phrasebook {self.id}: template {template_id}: param {name} is "
                    f"{type(value).__name__}; give text (format numbers in their unit first)"
                )
            values[name] = str(value)
        return template.text[lang].format_map(values), template.text["en"].format_map(values)


def load_phrasebook(pack: Pack) -> Phrasebook:
    """The phrasebook of ``pack`` (its ``[files] phrasebook`` file), validated.

    Raises:
        PackError: the file is missing or invalid; the message names the file and the field
            (e.g. ``phrasebook.yaml: templates[3].text.ja: ...``).
    """
    source = str(pack.file("phrasebook"))
    return parse_phrasebook(
        load_yaml(pack.read_text("phrasebook"), source), Where(source), pack.languages
    )


def parse_phrasebook(data: Any, where: Where, languages: Sequence[str]) -> Phrasebook:
    """Validate a parsed phrasebook; every template must be given in every ``languages``."""
    top = Fields(data, where)
    head = top.table("phrasebook")
    book_id = head.text("id", pattern=SLUG_PATTERN, what="an id (a-z, 0-9, -, _)")
    version = head.integer("version", minimum=1)
    head.finish()
    markers = _markers(top.table("markers"), languages)
    templates: dict[str, Template] = {}
    for table in top.tables("templates"):
        template = _template(table, languages)
        if template.id in templates:
            raise table.at("id").error(f"template {template.id!r} is given twice")
        templates[template.id] = template
    top.finish()
    unused = [
        marker for marker in MARKERS if not any(t.marker == marker for t in templates.values())
    ]
    if unused:
        raise where.key("templates").error(f"no template for the marker {unused[0]}")
    return Phrasebook(
        id=book_id,
        version=version,
        languages=tuple(languages),
        markers=MappingProxyType(markers),
        templates=MappingProxyType(templates),
    )


def _markers(table: Fields, languages: Sequence[str]) -> dict[str, Mapping[str, str]]:
    markers: dict[str, Mapping[str, str]] = {}
    for marker in MARKERS:
        markers[marker] = MappingProxyType(table.names(marker, required=languages))
    table.finish()
    return markers


def _template(table: Fields, languages: Sequence[str]) -> Template:
    template_id = table.text("id", pattern=_TEMPLATE_ID, what="lower-case words joined by dots")
    marker = table.text("marker", choices=MARKERS)
    kind = table.optional_text("kind")
    if kind is not None and not SLUG_PATTERN.fullmatch(kind):
        raise table.at("kind").error(f"{kind!r} is not a rule kind (e.g. close_quarters)")
    params_where = table.at("params")
    params = table.array("params")
    for i, name in enumerate(params):
        if not isinstance(name, str) or not _PARAM.fullmatch(name):
            raise params_where.index(i).error(f"{name!r} is not a param name (a-z, 0-9, _)")
    if len(set(params)) != len(params):
        raise params_where.error("lists a param twice")
    text = table.names("text", required=languages)
    unknown = sorted(set(text) - set(languages))
    if unknown:
        raise table.at("text").error(f"language {unknown[0]!r} is not one of the pack's")
    for language, phrase in text.items():
        used = _placeholders(phrase, table.at("text").key(language))
        if used != set(params):
            differs = sorted(used ^ set(params))
            raise (
                table.at("text")
                .key(language)
                .error(
                    f"placeholders differ from params at {{{differs[0]}}}; every language uses "
                    f"exactly the params {params}"
                )
            )
    table.finish()
    return Template(template_id, marker, kind, tuple(params), MappingProxyType(text))


def _placeholders(phrase: str, where: Where) -> set[str]:
    try:
        parsed = list(_FORMATTER.parse(phrase))
    except ValueError as exc:
        raise where.error(f"unbalanced braces ({exc})") from None
    names: set[str] = set()
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if not _PARAM.fullmatch(name) or spec or conversion:
            raise where.error(f"placeholder {{{name}}} must be a plain {{param}}")
        names.add(name)
    return names
