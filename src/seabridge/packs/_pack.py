"""Locate a pack, read its manifest (``pack.toml``) and read its files.

A pack is a directory of data files described by ``pack.toml``: built-in packs live in
``seabridge/data/packs/NAME/`` and are found with :mod:`importlib.resources`; a user pack is
any directory given by path. This module only locates and reads files (TOML, JSON); what a
file means is parsed by the domain that uses it.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path, PurePosixPath
from types import MappingProxyType
from typing import Any, Final

from seabridge.errors import PackError
from seabridge.packs.schema import SLUG_PATTERN, Fields, Where

__all__ = ["MANIFEST", "Pack", "builtin_packs", "load_pack"]

MANIFEST: Final = "pack.toml"
"""The manifest file every pack directory holds."""
_BUILTIN: Final = ("data", "packs")


@dataclass(frozen=True, slots=True)
class Pack:
    """A located pack: its manifest fields and the directory holding its files."""

    id: str
    """Short identifier, e.g. ``ecs``."""
    title: str
    version: str
    path: Path
    """The pack directory."""
    languages: tuple[str, ...]
    """Languages every name in the pack is given in, e.g. ``("en", "ja", "zh")``."""
    files: Mapping[str, str] = field(hash=False)
    """``[files]`` of the manifest: key (``parties``, ``zones``, ...) -> path in the pack."""
    description: str = ""

    @property
    def manifest(self) -> Path:
        """The pack's ``pack.toml``."""
        return self.path / MANIFEST

    def file(self, key: str) -> Path:
        """The path of the file the manifest lists under ``[files] key``.

        Raises:
            PackError: the manifest has no such key, or the file does not exist.
        """
        if key not in self.files:
            listed = ", ".join(sorted(self.files)) or "none"
            raise PackError(
                f"{self.manifest}: [files]: no {key!r} entry (listed: {listed}); "
                f'add {key} = "FILE" to name the file'
            )
        path = self.path / self.files[key]
        if not path.is_file():
            raise PackError(f"{path}: not found (named by [files] {key} in {self.manifest})")
        return path

    def read_text(self, key: str) -> str:
        """The UTF-8 text of the file under ``[files] key``."""
        path = self.file(key)
        try:
            return path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise PackError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        except OSError as exc:
            raise PackError(f"{path}: cannot be read ({exc.strerror})") from None

    def read_toml(self, key: str) -> dict[str, Any]:
        """The parsed TOML file under ``[files] key``; syntax errors name line and column."""
        path = self.file(key)
        return _parse_toml(self.read_text(key), path)

    def read_json(self, key: str) -> dict[str, Any]:
        """The parsed JSON object under ``[files] key``; syntax errors name line and column."""
        path = self.file(key)
        try:
            data = json.loads(self.read_text(key))
        except json.JSONDecodeError as exc:
            raise PackError(
                f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
            ) from None
        if not isinstance(data, dict):
            raise PackError(f"{path}: expected a JSON object at the top level")
        return data

    def where(self, key: str) -> Where:
        """The :class:`Where` of the file under ``[files] key``, for located field errors."""
        return Where(str(self.file(key)))


def _parse_toml(text: str, path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message already ends in "(at line L, column C)".
        raise PackError(f"{path}: invalid TOML: {exc}") from None


def _builtin_root() -> Path:
    root = files("seabridge").joinpath(*_BUILTIN)
    if not isinstance(root, Path):  # pragma: no cover - only for zipped installs
        raise PackError(f"built-in packs are not on the file system ({root}); install unzipped")
    return root


def builtin_packs() -> list[str]:
    """Names of the built-in packs (directories holding a ``pack.toml``), sorted."""
    root = _builtin_root()
    if not root.is_dir():
        return []
    return sorted(entry.name for entry in root.iterdir() if (entry / MANIFEST).is_file())


def load_pack(name_or_path: str | Path) -> Pack:
    """A built-in pack by name (no slash, e.g. ``"ecs"``) or a user pack by directory path.

    Raises:
        PackError: no such built-in pack (the message lists them), no such directory, no
            ``pack.toml`` in it, or a manifest field that is missing or invalid.
    """
    text = str(name_or_path)
    if isinstance(name_or_path, str) and "/" not in text and "\\" not in text and text != ".":
        path = _builtin_root() / text
        if not (path / MANIFEST).is_file():
            known = ", ".join(builtin_packs()) or "none"
            raise PackError(
                f"no built-in pack {text!r} (built-in packs: {known}); "
                "give a directory path (e.g. ./mypack) for a user pack"
            )
    else:
        path = Path(name_or_path)
        if not path.is_dir():
            raise PackError(f"{path}: no such pack directory")
        if not (path / MANIFEST).is_file():
            raise PackError(f"{path}: not a pack (no {MANIFEST} in it)")
    return _read_manifest(path.resolve())


def _read_manifest(path: Path) -> Pack:
    manifest = path / MANIFEST
    try:
        text = manifest.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PackError(f"{manifest}: cannot be read ({exc})") from None
    top = Fields(_parse_toml(text, manifest), Where(str(manifest)))
    head = top.table("pack")
    pack_id = head.text("id", pattern=SLUG_PATTERN, what="a pack id (a-z, 0-9, -, _)")
    title = head.text("title")
    version = head.text("version")
    description = head.text("description", "")
    languages = _languages(head)
    head.finish()
    listed = top.table("files")
    pack_files = {key: _relative_file(listed, key) for key in list(listed.data)}
    listed.finish()
    top.finish()
    return Pack(
        id=pack_id,
        title=title,
        version=version,
        path=path,
        languages=languages,
        files=MappingProxyType(pack_files),
        description=description,
    )


def _languages(head: Fields) -> tuple[str, ...]:
    where = head.at("languages")
    items = head.array("languages")
    languages: list[str] = []
    for i, item in enumerate(items):
        if not isinstance(item, str) or not item.strip():
            raise where.index(i).error("expected a language tag such as en, ja or zh")
        languages.append(item)
    if "en" not in languages:
        raise where.error("must include en (every name has an English form)")
    if len(set(languages)) != len(languages):
        raise where.error("lists a language twice")
    return tuple(languages)


def _relative_file(listed: Fields, key: str) -> str:
    name = listed.text(key)
    relative = PurePosixPath(name)
    if relative.is_absolute() or ".." in relative.parts or "\\" in name:
        raise listed.at(key).error(
            f"{name!r} must be a path inside the pack directory, written with '/'"
        )
    return name
