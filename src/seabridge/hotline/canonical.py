"""Canonical JSON for hotline entries: one byte string per value, so signatures are over bytes.

The encoding is ``json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` in
UTF-8, restricted to a subset where it equals RFC 8785 (JCS) byte for byte (hotline protocol
amendment 5): objects with ASCII string keys, arrays (lists; tuples encode as arrays too),
strings, booleans, null and integers within ±(2**53 - 1). Floats are refused, never rounded:
positions travel as integers or strings.

"Sign bytes, store bytes": receivers check that what they got is canonical
(:func:`parse_canonical`) and keep it as received; they never re-serialise to verify.
"""

from __future__ import annotations

import json
from typing import NoReturn

from seabridge.errors import MalformedError

__all__ = ["MAX_DEPTH", "MAX_INT", "canonical_json", "parse_canonical"]

MAX_INT = 2**53 - 1
"""Largest integer magnitude allowed (IEEE 754 doubles hold it exactly; RFC 8785 §3.2.2.3)."""

MAX_DEPTH = 32
"""Deepest nesting of objects and arrays accepted (an entry needs 4)."""


def canonical_json(value: object) -> bytes:
    """The canonical UTF-8 bytes of ``value``.

    Raises:
        MalformedError: ``value`` is outside the subset; the message names where (``$.a[2]``).
    """
    _check(value, "$", 0)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def parse_canonical(data: bytes) -> dict[str, object]:
    """Parse a JSON object and require that ``data`` is exactly its canonical encoding.

    Refuses non-UTF-8, a BOM, whitespace, duplicate keys, floats, NaN/Infinity, escapes that the
    canonical form does not use, unsorted keys and nesting deeper than :data:`MAX_DEPTH`.

    Raises:
        MalformedError: the bytes are not canonical JSON of an object; the message says why.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedError(f"not UTF-8 at byte {exc.start}") from None
    try:
        value = json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_float=_no_float,
            parse_constant=_no_constant,
        )
    except RecursionError:
        raise MalformedError(f"JSON nested deeper than {MAX_DEPTH}") from None
    except ValueError as exc:  # JSONDecodeError, and our own hooks' MalformedError is not one
        raise MalformedError(f"not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise MalformedError(f"a JSON object is expected, got {type(value).__name__}")
    if canonical_json(value) != data:
        raise MalformedError("JSON is not in canonical form (RFC 8785 subset)")
    return value


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result: dict[str, object] = {}
    for key, value in pairs:
        if key in result:
            raise MalformedError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _no_float(text: str) -> NoReturn:
    raise MalformedError(f"number {text[:40]!r}: floats are not allowed")


def _no_constant(text: str) -> NoReturn:
    raise MalformedError(f"{text} is not allowed")


def _check(value: object, where: str, depth: int) -> None:
    """Refuse anything outside the subset, naming the place."""
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, int):
        if not -MAX_INT <= value <= MAX_INT:
            raise MalformedError(f"{where}: integer {value} is outside ±(2**53 - 1)")
        return
    if isinstance(value, str):
        _check_text(value, where)
        return
    if isinstance(value, float):
        raise MalformedError(f"{where}: floats are not allowed ({value!r})")
    if isinstance(value, dict | list | tuple) and depth >= MAX_DEPTH:
        raise MalformedError(f"{where}: nested deeper than {MAX_DEPTH}")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise MalformedError(f"{where}: key {key!r} is not a string")
            if not key.isascii():
                raise MalformedError(f"{where}: key {key!r} is not ASCII")
            _check(item, f"{where}.{key}", depth + 1)
        return
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check(item, f"{where}[{i}]", depth + 1)
        return
    raise MalformedError(f"{where}: {type(value).__name__} is not a JSON value")


def _check_text(value: str, where: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise MalformedError(f"{where}: string holds an unpaired surrogate") from None
