"""File writing for the node directory: secrets created 0600, atomic replacement, node.toml.

The TOML writer covers the shapes node.toml has (tables of strings, numbers, booleans and
arrays; nested tables; arrays of tables): the standard library reads TOML but does not write it.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from seabridge.errors import ConfigError

__all__ = ["create_secret", "dump_toml", "replace_file", "sync_dir", "write_toml"]

HEADER: Final = """\
# Seabridge node configuration: written by `seabridge node init`, peers by `seabridge peer add`.
# Private keys live in keys/ (mode 0600) and never leave the node; peers' CA certificates are
# in peers/ and pinned here by base64(SHA-256(SubjectPublicKeyInfo)). Any tunable of
# docs/settings.md may be overridden in a [settings] table.
"""


def create_secret(path: Path, data: bytes) -> None:
    """Create ``path`` with mode 0600 (never overwriting an existing file) and sync it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def sync_dir(path: Path) -> None:
    """Make a rename or a new file in ``path`` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_file(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (a temporary file renamed over it)."""
    temporary = path.with_name(f".{path.name}.tmp")
    with temporary.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(path)
    sync_dir(path.parent)


def write_toml(path: Path, document: Mapping[str, Any]) -> None:
    replace_file(path, (HEADER + "\n" + dump_toml(document)).encode("utf-8"))


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key, ensure_ascii=False)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        # A JSON string is a valid TOML basic string (same escapes; \uXXXX for controls).
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        items = ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items())
        return "{ " + items + " }" if items else "{}"
    raise ConfigError(f"cannot write {type(value).__name__} value {value!r} to node.toml")


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def dump_toml(document: Mapping[str, Any]) -> str:
    """TOML for node.toml's shapes: tables of scalars and arrays, nested tables, [[arrays]]."""
    lines: list[str] = []

    def table(path: list[str], data: Mapping[str, Any], array: bool = False) -> None:
        plain = {
            k: v for k, v in data.items() if not isinstance(v, dict) and not _is_table_array(v)
        }
        header = ".".join(_toml_key(part) for part in path)
        if path and (plain or array or not data):
            lines.extend(["", f"[[{header}]]" if array else f"[{header}]"])
        lines.extend(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in plain.items())
        for key, value in data.items():
            if isinstance(value, dict):
                if array:  # a table inside an array item: keep it inline
                    lines.append(f"{_toml_key(key)} = {_toml_value(value)}")
                else:
                    table([*path, key], value)
            elif _is_table_array(value):
                for item in value:
                    table([*path, key], item, array=True)

    table([], document)
    return "\n".join(lines).lstrip("\n") + "\n"
