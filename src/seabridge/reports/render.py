"""Rendering a report: jinja2 templates of this package, UI strings, embedded fonts, PDF.

Every report template extends ``base.html.j2`` (A4 print CSS; blocks ``title``, ``heading``,
``style``, ``content``, ``footer``) and gets ``lang``, ``t(key)`` (the UI string in ``lang``,
:mod:`seabridge.reports.i18n`), ``title``, ``subtitle``, ``meta`` (label/value pairs for the
header) and ``font_stack``. :func:`render_html` then inlines the web-font chunks the page's
text needs (:mod:`seabridge.reports.fonts`). :func:`write_report` writes the HTML and, unless
told not to, prints it to PDF (:mod:`seabridge.reports.pdf`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from seabridge.errors import InputError
from seabridge.reports import fonts, i18n, pdf

__all__ = ["ReportFiles", "environment", "render_html", "write_report"]

_FONTS_MARK = "/*@FONTS@*/"


@cache
def environment() -> jinja2.Environment:
    """The jinja2 environment over this package's ``templates/`` (autoescaped, strict)."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("seabridge.reports", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"], default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_html(
    template: str,
    lang: str,
    *,
    title: str,
    subtitle: str = "",
    meta: Sequence[tuple[str, str]] = (),
    embed_fonts: bool = True,
    fonts_root: Path | None = None,
    **context: Any,
) -> str:
    """Render ``template`` in ``lang``; inline the fonts its text needs unless told not to.

    Raises:
        InputError: ``lang`` is not a report language.
        ConfigError: ``embed_fonts`` and the vendored web fonts are missing.
    """
    i18n.check_lang(lang)
    translate: Callable[[str], str] = lambda key: i18n.text(key, lang)  # noqa: E731
    html = (
        environment()
        .get_template(template)
        .render(
            lang=lang,
            t=translate,
            title=title,
            subtitle=subtitle,
            meta=list(meta),
            font_stack=fonts.font_stack(lang),
            **context,
        )
    )
    css = fonts.font_css(html, fonts_root) if embed_fonts else ""
    return html.replace(_FONTS_MARK, css, 1)


@dataclass(frozen=True, slots=True)
class ReportFiles:
    """What :func:`write_report` wrote: the HTML, the PDF (None with ``pdf=False``), data."""

    html: Path
    pdf: Path | None
    data: tuple[Path, ...] = ()


def write_report(
    out_dir: Path,
    stem: str,
    html: str,
    *,
    data_files: Mapping[str, str | bytes] | None = None,
    pdf_output: bool = True,
) -> ReportFiles:
    """Write ``stem.html``, the data files (name -> content) and then ``stem.pdf``.

    The HTML and the data files are written first, so a missing Chromium still leaves them.

    Raises:
        InputError: ``out_dir`` cannot be created or written.
        ConfigError, SeabridgeError: printing the PDF failed (see :func:`pdf.html_to_pdf`).
    """
    written: list[Path] = []
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        html_path = out_dir / f"{stem}.html"
        html_path.write_text(html, encoding="utf-8")
        for name, content in (data_files or {}).items():
            path = out_dir / name
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
            written.append(path)
    except OSError as exc:
        raise InputError(f"--out {out_dir}: cannot write the report ({exc.strerror})") from None
    if not pdf_output:
        return ReportFiles(html_path, None, tuple(written))
    pdf_path = out_dir / f"{stem}.pdf"
    pdf.html_to_pdf(html_path, pdf_path)
    return ReportFiles(html_path, pdf_path, tuple(written))
