"""Packs: directories of data files that configure Seabridge for one sea.

A pack holds the parties, features, zones and (in later issues) the rulebook, the
communication mechanism, the phrasebook and the scenarios of one deployment. The built-in
packs live in ``seabridge/data/packs/``; a user pack is any directory with a ``pack.toml``.
The format is described in ``docs/packs.md``.

This package is on the ground floor: it locates and reads pack files and validates the
party model, and imports nothing from Seabridge but :mod:`seabridge.errors`. Each domain
parses its own files (:mod:`seabridge.geo` reads features and zones).
"""

from __future__ import annotations

from seabridge.packs._pack import MANIFEST, Pack, builtin_packs, load_pack
from seabridge.packs.parties import (
    Fleet,
    Party,
    load_parties,
    parse_parties,
    party_for_mmsi,
    party_index,
    require_party,
)
from seabridge.packs.schema import ISO2_PATTERN, SLUG_PATTERN, Fields, Where, check_integer

__all__ = [
    "ISO2_PATTERN",
    "MANIFEST",
    "SLUG_PATTERN",
    "Fields",
    "Fleet",
    "Pack",
    "Party",
    "Where",
    "builtin_packs",
    "check_integer",
    "load_pack",
    "load_parties",
    "parse_parties",
    "party_for_mmsi",
    "party_index",
    "require_party",
]
