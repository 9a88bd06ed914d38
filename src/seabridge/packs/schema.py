"""Schema checks for pack files: every problem becomes ``FILE: FIELD: problem``.

A pack is hand-written data, so a mistake in it must say where it is. :class:`Where` names a
place (the file and a dotted field path such as ``party[1].state``) and :class:`Fields` reads
one table through typed accessors that raise :class:`~seabridge.errors.PackError` naming that
place. :meth:`Fields.finish` rejects keys nobody read, so a misspelt key is an error, not a
silently ignored line. Each domain that parses a pack file (parties here, zones and features
in :mod:`seabridge.geo`) uses these helpers; this module knows nothing about any one file.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from seabridge.errors import PackError

__all__ = ["ISO2_PATTERN", "SLUG_PATTERN", "Fields", "Where", "check_integer"]

ISO2_PATTERN: Final = re.compile(r"[A-Z]{2}")
"""ISO 3166-1 alpha-2 code: two capital letters (the form only; ISO keeps the list)."""
SLUG_PATTERN: Final = re.compile(r"[a-z0-9][a-z0-9_-]*")
"""Identifiers in packs: lower-case letters, digits, ``-`` and ``_``."""

_MISSING: Final = object()


@dataclass(frozen=True, slots=True)
class Where:
    """A place in a pack file: the file and a field path (``party[1].names.en``)."""

    file: str
    field: str = ""

    def key(self, name: str) -> Where:
        """The place of ``name`` inside this table."""
        return Where(self.file, f"{self.field}.{name}" if self.field else name)

    def index(self, position: int) -> Where:
        """The place of item ``position`` of this array."""
        return Where(self.file, f"{self.field}[{position}]")

    def error(self, problem: str) -> PackError:
        """A :class:`PackError` reading ``FILE: FIELD: problem``."""
        if self.field:
            return PackError(f"{self.file}: {self.field}: {problem}")
        return PackError(f"{self.file}: {problem}")

    def __str__(self) -> str:
        return f"{self.file}: {self.field}" if self.field else self.file


def _type_name(value: object) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return names.get(type(value), type(value).__name__)


class Fields:
    """Typed, located reads of one table of a pack file.

    Args:
        data: The table (a dict from TOML or JSON); anything else is an error at ``where``.
        where: Its place, for error messages.

    Every accessor raises :class:`PackError` naming the file and the field; a key is
    required unless a ``default`` is given.
    """

    def __init__(self, data: object, where: Where) -> None:
        if not isinstance(data, dict):
            raise where.error(f"expected a table, found {_type_name(data)}")
        self.data: dict[str, Any] = data
        self.where = where
        self._read: set[str] = set()

    def at(self, key: str) -> Where:
        """The place of ``key`` in this table."""
        return self.where.key(key)

    def has(self, key: str) -> bool:
        """Whether the table has ``key``."""
        return key in self.data

    def raw(self, key: str, default: Any = _MISSING) -> Any:
        """The value of ``key`` as it is; missing and no default is an error."""
        self._read.add(key)
        if key not in self.data:
            if default is _MISSING:
                raise self.where.error(f"missing required key {key!r}")
            return default
        return self.data[key]

    def text(
        self,
        key: str,
        default: Any = _MISSING,
        *,
        pattern: re.Pattern[str] | None = None,
        choices: Iterable[str] | None = None,
        what: str = "",
    ) -> str:
        """A non-empty string, optionally matching ``pattern`` or one of ``choices``.

        ``what`` describes the pattern in the error, e.g. "an ISO 3166 alpha-2 code".
        """
        if default is not _MISSING and key not in self.data:
            self._read.add(key)
            return str(default)
        value = self.raw(key)
        if not isinstance(value, str):
            raise self.at(key).error(f"expected a string, found {_type_name(value)}")
        if not value.strip():
            raise self.at(key).error("must not be empty")
        if pattern is not None and not pattern.fullmatch(value):
            raise self.at(key).error(f"{value!r} is not {what or f'of the form {pattern.pattern}'}")
        allowed = tuple(choices) if choices is not None else ()
        if allowed and value not in allowed:
            raise self.at(key).error(f"{value!r} is not one of {', '.join(allowed)}")
        return value

    def optional_text(self, key: str) -> str | None:
        """A non-empty string, or ``None`` when the key is absent."""
        if key not in self.data:
            self._read.add(key)
            return None
        return self.text(key)

    def integer(
        self,
        key: str,
        default: Any = _MISSING,
        *,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> int:
        """An integer (not a boolean) within ``[minimum, maximum]``."""
        return check_integer(self.raw(key, default), self.at(key), minimum, maximum)

    def number(
        self,
        key: str,
        default: Any = _MISSING,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
    ) -> float:
        """A finite number (integer or float, not a boolean) within ``[minimum, maximum]``."""
        value = self.raw(key, default)
        where = self.at(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise where.error(f"expected a number, found {_type_name(value)}")
        number = float(value)
        if not math.isfinite(number):
            raise where.error(f"{value!r} is not a finite number")
        _check_range(number, where, minimum, maximum)
        return number

    def flag(self, key: str, default: Any = _MISSING) -> bool:
        """A boolean (``true`` or ``false``)."""
        value = self.raw(key, default)
        if not isinstance(value, bool):
            raise self.at(key).error(f"expected true or false, found {_type_name(value)}")
        return value

    def array(self, key: str, default: Any = _MISSING) -> list[Any]:
        """An array (its items unchecked: see :meth:`Where.index` for their places)."""
        value = self.raw(key, default)
        if not isinstance(value, list):
            raise self.at(key).error(f"expected an array, found {_type_name(value)}")
        return value

    def table(self, key: str, default: Any = _MISSING) -> Fields:
        """A nested table, read through its own :class:`Fields`."""
        return Fields(self.raw(key, default), self.at(key))

    def tables(self, key: str) -> list[Fields]:
        """An array of tables (TOML ``[[key]]``), each read through its own :class:`Fields`."""
        where = self.at(key)
        return [Fields(item, where.index(i)) for i, item in enumerate(self.array(key))]

    def names(self, key: str, *, required: Iterable[str] = ("en",)) -> dict[str, str]:
        """A table of names by language tag, with a non-empty name for each ``required``."""
        table = self.table(key)
        found: dict[str, str] = {}
        for language in table.data:
            found[language] = table.text(language)
        wanted = tuple(dict.fromkeys(required))
        missing = [language for language in wanted if language not in found]
        if missing:
            raise self.at(key).error(
                f"missing {', '.join(missing)} name (names must be given in {', '.join(wanted)})"
            )
        return found

    def finish(self) -> None:
        """Reject any key no accessor read (a misspelt key must not be ignored silently)."""
        unknown = sorted(set(self.data) - self._read)
        if unknown:
            known = ", ".join(sorted(self._read)) or "none"
            raise self.where.error(f"unknown key {unknown[0]!r} (known keys: {known})")


def check_integer(value: object, where: Where, minimum: int | None, maximum: int | None) -> int:
    """``value`` as an integer within ``[minimum, maximum]``, or a located error."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise where.error(f"expected an integer, found {_type_name(value)}")
    _check_range(value, where, minimum, maximum)
    return value


def _check_range(value: float, where: Where, minimum: float | None, maximum: float | None) -> None:
    if minimum is not None and value < minimum:
        raise where.error(f"{value!r} is below the minimum {minimum!r}")
    if maximum is not None and value > maximum:
        raise where.error(f"{value!r} is above the maximum {maximum!r}")
