"""Checks for the fields zones and features share: ids, names by language, declarers.

Each check returns the value or raises :class:`~seabridge.errors.PackError` whose message
starts with ``what`` (the file, entry and id being read) and names the field. Private to
:mod:`seabridge.geo`; it must not import the zone or feature models.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from seabridge.errors import PackError

__all__ = [
    "ID_PATTERN",
    "all_names",
    "check_bool",
    "check_declared_by",
    "check_id",
    "check_names",
    "check_text",
]

ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
# ISO 3166-1 alpha-2 codes, several joined by "+" for a joint declaration (e.g. "CN+JP").
_DECLARED_BY = re.compile(r"geometric|[A-Z]{2}(\+[A-Z]{2})*")
# A language tag: "en", "ja", "zh", "zh-Hant", "zh_hant_tw", ...
_LANG = re.compile(r"[a-z]{2,3}([-_][A-Za-z0-9]{2,8})*")


def check_id(value: object, what: str) -> str:
    """An id (letters, digits, '.', '_', '-'; at most 100), or PackError naming ``what``."""
    if not isinstance(value, str) or not ID_PATTERN.fullmatch(value):
        raise PackError(
            f"{what}: field 'id': {value!r} is not an id (letters, digits, '.', '_', '-', "
            "starting with a letter or digit, at most 100 characters)"
        )
    return value


def check_names(value: object, what: str) -> dict[str, str]:
    """Names by language tag with at least ``en``, or PackError naming ``what``."""
    if not isinstance(value, Mapping):
        raise PackError(f"{what}: field 'names': expected a table of language -> name")
    names: dict[str, str] = {}
    for lang, name in value.items():
        if not isinstance(lang, str) or not _LANG.fullmatch(lang):
            raise PackError(f"{what}: field 'names': {lang!r} is not a language tag like 'ja'")
        if not isinstance(name, str) or not name.strip():
            raise PackError(f"{what}: field 'names.{lang}': expected a non-empty string")
        names[lang] = name
    if "en" not in names:
        raise PackError(f"{what}: field 'names.en' is missing (every name set needs English)")
    return names


def check_declared_by(value: object, what: str) -> str:
    """An ISO 3166 alpha-2 code (or codes joined by '+'), or ``"geometric"``."""
    if not isinstance(value, str) or not _DECLARED_BY.fullmatch(value):
        raise PackError(
            f"{what}: field 'declared_by': {value!r} is neither an ISO 3166 alpha-2 code "
            "(e.g. JP, CN, TW; 'CN+JP' for a joint declaration) nor 'geometric'"
        )
    return value


def all_names(names: Mapping[str, str], sep: str = " / ") -> str:
    """Every name, English first, duplicates dropped: no name is privileged over another."""
    ordered = [names["en"], *(name for lang, name in names.items() if lang != "en")]
    return sep.join(dict.fromkeys(ordered))


def check_text(value: object, what: str, field: str, *, required: bool = True) -> str:
    """A string (non-empty when ``required``), or PackError naming ``what`` and the field."""
    if not isinstance(value, str) or (required and not value.strip()):
        wanted = "a non-empty string" if required else "a string"
        raise PackError(f"{what}: field {field!r}: expected {wanted}, got {value!r:.60}")
    return value


def check_bool(value: object, what: str, field: str) -> bool:
    """true or false (not 0/1, not "yes"), or PackError naming ``what`` and the field."""
    if not isinstance(value, bool):
        raise PackError(f"{what}: field {field!r}: expected true or false, got {value!r:.60}")
    return value
