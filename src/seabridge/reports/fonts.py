"""Web fonts for reports: the console's Noto Sans JP / SC, embedded so CJK renders anywhere.

``make setup`` vendors the fonts into the (git-ignored) console directory
``seabridge/web/console/vendor/fonts/`` as @fontsource stylesheets whose ``@font-face`` rules
split each font into woff2 chunks by ``unicode-range``. :func:`font_css` keeps only the
chunks a page's text needs and inlines them as ``data:`` URIs, so the HTML is self-contained
and Chromium prints Japanese and Chinese into the PDF on a machine without CJK system fonts.

This module only locates files (through :mod:`importlib.resources`); it never imports
:mod:`seabridge.web`.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Final

from seabridge.errors import ConfigError

__all__ = ["FAMILIES", "FontFace", "font_css", "font_stack", "fonts_dir"]

FAMILIES: Final = {"ja": "noto-sans-jp", "zh": "noto-sans-sc"}
"""Vendored font package per CJK language (``@fontsource/<name>``)."""
_FAMILY_NAMES: Final = {"ja": "Noto Sans JP", "zh": "Noto Sans SC"}
_WEIGHTS: Final = ("400", "700")
_FACE = re.compile(r"@font-face\s*{([^}]*)}", re.S)
_PROP = re.compile(r"([a-z-]+)\s*:\s*([^;]+);")
_URL = re.compile(r"url\(\s*['\"]?([^'\")]+)['\"]?\s*\)\s*format\(\s*['\"]woff2['\"]\s*\)")


def fonts_dir() -> Path:
    """The console's vendored font directory.

    Raises:
        ConfigError: the fonts are not there (they come from npm at ``make setup``).
    """
    root = Path(str(resources.files("seabridge"))) / "web" / "console" / "vendor" / "fonts"
    missing = [name for name in FAMILIES.values() if not (root / name / "400.css").is_file()]
    if missing:
        raise ConfigError(
            f"{root}: the web fonts {', '.join(missing)} are missing; run `make setup` (it "
            "vendors them from npm), or print without embedded fonts on a machine with "
            "Debian's fonts-noto-cjk installed"
        )
    return root


@dataclass(frozen=True, slots=True)
class FontFace:
    """One ``@font-face`` chunk: family, weight, woff2 file and the code points it covers."""

    family: str
    weight: str
    file: Path
    ranges: tuple[tuple[int, int], ...]

    def covers(self, code_points: frozenset[int]) -> bool:
        return any(lo <= cp <= hi for cp in code_points for lo, hi in self.ranges)


def _ranges(text: str) -> tuple[tuple[int, int], ...]:
    spans = []
    for part in text.split(","):
        part = part.strip().upper().removeprefix("U+")
        if "-" in part:
            lo, hi = part.split("-", 1)
            spans.append((int(lo, 16), int(hi, 16)))
        elif "?" in part:
            spans.append((int(part.replace("?", "0"), 16), int(part.replace("?", "F"), 16)))
        elif part:
            spans.append((int(part, 16), int(part, 16)))
    return tuple(spans)


@cache
def _faces(root: Path) -> tuple[FontFace, ...]:
    faces = []
    for lang, package in FAMILIES.items():
        for weight in _WEIGHTS:
            css_path = root / package / f"{weight}.css"
            css = css_path.read_text(encoding="utf-8")
            for block in _FACE.findall(css):
                props = dict(_PROP.findall(block + ";"))
                url = _URL.search(props.get("src", ""))
                if url is None:
                    continue
                faces.append(
                    FontFace(
                        family=_FAMILY_NAMES[lang],
                        weight=weight,
                        file=(css_path.parent / url.group(1)).resolve(),
                        ranges=_ranges(props.get("unicode-range", "U+0-10FFFF")),
                    )
                )
    return tuple(faces)


def font_stack(lang: str) -> str:
    """The CSS ``font-family`` list for a report in ``lang`` (its own CJK face first)."""
    order = ["zh", "ja"] if lang == "zh" else ["ja", "zh"]
    names = [f"'{_FAMILY_NAMES[code]}'" for code in order]
    return ", ".join([*names, "'Noto Sans CJK JP'", "sans-serif"])


def font_css(text: str, root: Path | None = None) -> str:
    """``@font-face`` rules, woff2 inlined, for the chunks that cover ``text``'s characters.

    Raises:
        ConfigError: the vendored fonts are missing (see :func:`fonts_dir`).
    """
    faces = _faces((root or fonts_dir()).resolve())
    code_points = frozenset(ord(char) for char in text if not char.isspace())
    rules = []
    for face in faces:
        if not face.covers(code_points):
            continue
        data = base64.b64encode(face.file.read_bytes()).decode("ascii")
        ranges = ",".join(f"U+{lo:X}-{hi:X}" if lo != hi else f"U+{lo:X}" for lo, hi in face.ranges)
        rules.append(
            f"@font-face{{font-family:'{face.family}';font-style:normal;font-display:block;font-weight:{face.weight};"
            f"src:url(data:font/woff2;base64,{data}) format('woff2');unicode-range:{ranges};}}"
        )
    return "\n".join(rules)
