"""Builders for pack tests: a writable copy of the built-in ``ecs`` pack to break on purpose."""

from __future__ import annotations

import shutil
from pathlib import Path

from seabridge.packs import load_pack

__all__ = ["copy_ecs", "replace_in"]


def copy_ecs(tmp_path: Path, name: str = "mypack") -> Path:
    """A copy of the built-in ``ecs`` pack directory under ``tmp_path``."""
    target = tmp_path / name
    shutil.copytree(load_pack("ecs").path, target)
    return target


def replace_in(path: Path, old: str, new: str) -> None:
    """Replace ``old`` (which must occur) by ``new`` in the UTF-8 file ``path``."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
