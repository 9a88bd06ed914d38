"""The console's static files, checked without a browser.

- en/ja/zh hold the same keys, every value is a non-empty string, and the {placeholders} of
  each string are the same in the three languages.
- Every key the JS and HTML use exists: t("...") calls, every double-quoted "area.key" literal
  in the JS (keys passed around in tables such as STATUS_KEYS), and data-i18n* attributes.
- No file of the page names another host: no http(s)://, no protocol-relative //host, no @import
  from elsewhere; fonts and scripts come from vendor/, filled by `make setup` (checked last).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

CONSOLE = Path(__file__).resolve().parents[2] / "src" / "seabridge" / "web" / "console"
LANGS = ("en", "ja", "zh")
# Shipped source files (vendor/ holds third-party files and is checked separately).
SOURCES = sorted(
    p for p in CONSOLE.iterdir() if p.suffix in {".js", ".css", ".html"} and p.is_file()
)
JS = [p for p in SOURCES if p.suffix == ".js"]
HTML = CONSOLE / "index.html"

T_CALL = re.compile(r"""\bt\(\s*(["'`])([^"'`]*)\1""")
KEY_LITERAL = re.compile(r'"([a-z][a-z0-9_]*\.[a-z0-9_]+)"')
I18N_ATTR = re.compile(r'data-i18n(?:-label|-title|-placeholder)?="([^"]*)"')
PLACEHOLDER = re.compile(r"\{(\w+)\}")
EXTERNAL = re.compile(r"""(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}|\b(?:https?|wss?):/""", re.I)


def catalogue(lang: str) -> dict[str, str]:
    data: dict[str, str] = json.loads((CONSOLE / "i18n" / f"{lang}.json").read_text("utf-8"))
    return data


def used_keys() -> dict[str, set[str]]:
    """Key -> the files that use it."""
    used: dict[str, set[str]] = {}
    for path in JS:
        text = path.read_text("utf-8")
        for _, key in T_CALL.findall(text):
            used.setdefault(key, set()).add(path.name)
        for key in KEY_LITERAL.findall(text):
            used.setdefault(key, set()).add(path.name)
    for key in I18N_ATTR.findall(HTML.read_text("utf-8")):
        used.setdefault(key, set()).add(HTML.name)
    return used


def test_console_files_are_there() -> None:
    names = {p.name for p in SOURCES}
    wanted = {"index.html", "app.js", "api.js", "i18n.js", "map.js", "incidents.js"}
    assert wanted | {"hotline.js", "styles.css"} <= names


def test_languages_have_the_same_keys_and_placeholders() -> None:
    en = catalogue("en")
    for lang in LANGS[1:]:
        other = catalogue(lang)
        assert sorted(set(en) - set(other)) == [], f"missing in {lang}.json"
        assert sorted(set(other) - set(en)) == [], f"only in {lang}.json"
        for key, text in en.items():
            assert isinstance(other[key], str), (lang, key)
            assert other[key].strip(), f"{lang}.json: {key} is empty"
            assert set(PLACEHOLDER.findall(other[key])) == set(PLACEHOLDER.findall(text)), (
                f"{lang}.json: {key} has other placeholders than en.json"
            )


def test_translations_are_translated() -> None:
    """Japanese and Chinese strings are not English left in place (names and codes aside)."""
    en, ja, zh = (catalogue(lang) for lang in LANGS)
    same = {k for k in en if en[k] == ja[k] or en[k] == zh[k]}
    # Codes and product names read the same in every language.
    assert same <= {"vessel.mmsi"}, sorted(same)
    assert ja["nav.map"] != zh["nav.map"]


def test_every_key_used_exists() -> None:
    used = used_keys()
    assert len(used) > 50, "the key scan found almost nothing: has the t() call changed?"
    missing = {k: sorted(v) for k, v in used.items() if k not in catalogue("en")}
    assert missing == {}


def test_keys_are_written_out_in_full() -> None:
    """t(`status.${s}`) could not be checked: keys are always whole literals."""
    for path in JS:
        for quote, key in T_CALL.findall(path.read_text("utf-8")):
            assert quote != "`" or "${" not in key, f"{path.name}: t(`{key}`)"


def test_no_unused_keys() -> None:
    unused = sorted(set(catalogue("en")) - set(used_keys()))
    assert unused == []


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_only_relative_urls(path: Path) -> None:
    text = path.read_text("utf-8")
    assert EXTERNAL.findall(text) == [], f"{path.name} names another host"
    assert "//cdn" not in text.lower()
    assert not re.search(r"@import\s+url\(\s*['\"]?(?:https?:)?//", text)


def test_html_loads_only_local_files() -> None:
    text = HTML.read_text("utf-8")
    refs = re.findall(r'(?:src|href)="([^"]+)"', text)
    assert refs, "index.html references nothing?"
    for ref in refs:
        assert not ref.startswith(("/", "data:")) or ref.startswith("#"), ref
        assert ":" not in ref, ref
        if ref.startswith("#"):
            continue
        assert ref.startswith("vendor/") or (CONSOLE / ref).is_file(), ref


def test_disputed_labels_join_all_names() -> None:
    """The map joins every name of a disputed feature (the function, read as text)."""
    source = (CONSOLE / "map.js").read_text("utf-8")
    assert 'for (const code of ["en", "ja", "zh"])' in source
    assert "if (p.disputed)" in source


def test_vendor_files_after_setup() -> None:
    vendor = CONSOLE / "vendor"
    if not (vendor / ".stamp").exists():
        if shutil.which("npm") is None:
            pytest.skip("npm is not installed, so `make setup` could not vendor the console files")
        pytest.fail("console/vendor is missing: run `make setup` (it runs npm ci and the copy)")
    for rel in (
        "maplibre-gl/maplibre-gl.mjs",
        "maplibre-gl/maplibre-gl-worker.mjs",
        "maplibre-gl/maplibre-gl.css",
        "maplibre-gl/LICENSE.txt",
        "land/land.geojson",
        "land/NOTICE.txt",
        "land/LICENSE-world-atlas.txt",
        "fonts/noto-sans-jp/400.css",
        "fonts/noto-sans-jp/LICENSE",
        "fonts/noto-sans-sc/700.css",
        "fonts/noto-sans-sc/LICENSE",
        "versions.json",
    ):
        assert (vendor / rel).is_file(), rel
    land = json.loads((vendor / "land" / "land.geojson").read_text("utf-8"))
    assert land["type"] == "FeatureCollection" and land["features"]
    for font in ("noto-sans-jp", "noto-sans-sc"):
        for weight in ("400", "700"):
            css = (vendor / "fonts" / font / f"{weight}.css").read_text("utf-8")
            files = re.findall(r"url\(\./files/([^)]+)\)", css)
            assert files and all(f.endswith(".woff2") for f in files), (font, weight)
            assert all((vendor / "fonts" / font / "files" / f).is_file() for f in files)
    # The page imports exactly the files the vendor step writes.
    for path in [*JS, HTML]:
        for ref in re.findall(r"""["'](?:\./)?(vendor/[^"']+)["']""", path.read_text("utf-8")):
            assert (CONSOLE / ref).is_file(), f"{path.name}: {ref}"
