"""Hotline message bodies as operators compose them: from a phrasebook template, or free text
with its English, and acknowledgements of the peer's entries.

One code path for every front end: ``seabridge hotline send|reply|ack`` and the console API
(``POST /api/hotline/send|ack``) build bodies here. Errors name the input the way the caller
spells it (``--template`` on the command line, ``template`` in JSON): pass a
:data:`Spelling`. This module renders and checks; it never signs, stores or sends (the
ledger does) and never imports the web layer or the CLI.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from seabridge.errors import InputError
from seabridge.hotline.entries import MARKERS, Entry, Ref, format_timestamp
from seabridge.hotline.ledger import Ledger
from seabridge.node.directory import NodeConfig
from seabridge.packs import load_pack
from seabridge.packs.phrasebook import Phrasebook, load_phrasebook
from seabridge.units import iso_to_ms

__all__ = [
    "CLI_SPELLING",
    "JSON_SPELLING",
    "SEND_KINDS",
    "Spelling",
    "ack_body",
    "message_body",
    "parse_deadline_iso",
    "peer_ref",
    "phrasebook_of",
    "templates_json",
]

Spelling = Callable[[str], str]
"""How the caller names an input field (``text_en`` -> ``--text-en`` or ``text_en``)."""


def CLI_SPELLING(name: str) -> str:  # noqa: N802  # a constant-like spelling function
    """Command-line options: ``text_en`` -> ``--text-en``."""
    return "--" + name.replace("_", "-")


def JSON_SPELLING(name: str) -> str:  # noqa: N802
    """JSON fields, as they are."""
    return name


SEND_KINDS: Final = ("notification", "note", "escalation")
"""What an operator may send on its own (replies and acks refer to a peer entry)."""


def phrasebook_of(node: NodeConfig, *, spell: Spelling = JSON_SPELLING) -> Phrasebook:
    """The phrasebook of the first pack in use that has one.

    Raises:
        InputError: no pack in use has a phrasebook.
    """
    for name in node.packs:
        pack = load_pack(name)
        if "phrasebook" in pack.files:
            return load_phrasebook(pack)
    raise InputError(f"{node.dir.toml}: no pack in use has a phrasebook; use {spell('text')}")


def templates_json(book: Phrasebook) -> list[dict[str, Any]]:
    """Every template: ``{id, marker, kind, params, text: {lang: text}}`` (the composer's)."""
    return [
        {
            "id": template.id,
            "marker": template.marker,
            "kind": template.kind,
            "params": list(template.params),
            "text": dict(template.text),
        }
        for template in book.templates.values()
    ]


def message_body(
    book: Callable[[], Phrasebook],
    *,
    template: str | None,
    params: Mapping[str, str | int],
    text: str | None,
    text_en: str | None,
    lang: str,
    marker: str | None,
    spell: Spelling = JSON_SPELLING,
    template_marker_ok: bool = False,
) -> dict[str, object]:
    """The body of a message: rendered from ``template`` with ``params``, or free ``text``
    (in ``lang``; ``text_en`` its English when ``lang`` is not ``en``) with ``marker``
    (default INFORMATION). ``book`` is called only for a template.

    With ``template_marker_ok`` a ``marker`` equal to the template's own is accepted (the
    console sends it along); the command line refuses any marker with a template.

    Raises:
        InputError: neither or both of template and text, a bad marker, params without a
            template, no English for a text in another language, or the phrasebook refuses
            (unknown template or language, a missing or unknown param).
    """
    if (template is None) == (text is None):
        raise InputError(
            f"give either {spell('template')} ID (with {spell('param')} NAME=VALUE) or "
            f"{spell('text')} TEXT"
            if spell is CLI_SPELLING
            else "give either template (with params) or text"
        )
    if template is not None:
        phrasebook = book()
        own = phrasebook.template(template).marker
        if marker is not None and not (template_marker_ok and marker == own):
            raise InputError(
                f"{spell('marker')} goes with {spell('text')}; a template has its own marker"
                + (f" ({own})" if template_marker_ok else "")
            )
        rendered, english = phrasebook.render(template, lang, params)
        return {
            "text": rendered,
            "text_en": english,
            "marker": own,
            "template": template,
            "params": {k: str(v) for k, v in params.items()},
        }
    if params:
        raise InputError(f"{spell('param')} goes with {spell('template')}")
    marker = marker or "INFORMATION"
    if marker not in MARKERS:
        raise InputError(f"{spell('marker')} {marker!r}: one of {', '.join(MARKERS)}")
    assert text is not None
    return {"text": text, "text_en": _english(text, text_en, lang, spell), "marker": marker}


def _english(text: str, text_en: str | None, lang: str, spell: Spelling) -> str:
    if lang == "en":
        return text
    if text_en is None:
        raise InputError(
            f"{spell('lang')} {lang}: give the English text too with {spell('text_en')}"
        )
    return text_en


def ack_body(
    text: str | None, text_en: str | None, lang: str, *, spell: Spelling = JSON_SPELLING
) -> dict[str, object]:
    """The body of an acknowledgement: empty, or a remark with its English."""
    if text is None:
        return {}
    return {"text": text, "text_en": _english(text, text_en, lang, spell)}


def peer_ref(ledger: Ledger, peer: str, seq: int, *, spell: Spelling = JSON_SPELLING) -> Ref:
    """A reference to entry ``seq`` of ``peer``'s log as mirrored here.

    Raises:
        UnknownPeerError: no configured channel to ``peer``.
        InputError: no such entry is stored here.
    """
    origin = ledger.mirror_origin(peer)
    found = ledger.entries(origin, seq, seq + 1) if seq >= 0 else []
    if not found:
        raise InputError(
            f"{spell('seq')} {seq}: {origin} has no such entry here "
            f"({ledger.size(origin)} received)"
        )
    return Ref(origin, seq, Entry.from_bytes(found[0][0]).leaf_hash())


def parse_deadline_iso(
    text: str | None, now_ms: int, *, spell: Spelling = JSON_SPELLING
) -> int | None:
    """A deadline given as an ISO 8601 time (UTC when no offset), after ``now_ms``.

    Raises:
        InputError: not ISO 8601, or not in the future.
    """
    if text is None:
        return None
    try:
        deadline_ms = iso_to_ms(text)
    except ValueError:
        raise InputError(
            f"{spell('deadline')} {text!r}: give an ISO 8601 UTC time (2026-05-01T12:00:00Z)"
        ) from None
    if deadline_ms <= now_ms:
        raise InputError(
            f"{spell('deadline')} {text!r} is not in the future ({format_timestamp(now_ms)})"
        )
    return deadline_ms
