"""Transparency and incident reports: HTML from jinja2 templates, PDF through Chromium.

The shared infrastructure is here: UI strings in three languages (:mod:`~.i18n`), embedded
web fonts (:mod:`~.fonts`), figures (:mod:`~.figures`), rendering (:mod:`~.render`) and the
PDF printer (:mod:`~.pdf`). Reports read the node's data through the domain packages and
plain read-only queries; this package never imports the node, the web layer or the CLI
(DESIGN.md "Dependency direction"), and it locates the console's vendored fonts and land
layer as files only.
"""

from __future__ import annotations

from seabridge.reports.i18n import LANGS, STRINGS, check_lang, text
from seabridge.reports.pdf import CHROMIUM_ENV, find_chromium, html_to_pdf
from seabridge.reports.render import ReportFiles, render_html, write_report

__all__ = [
    "CHROMIUM_ENV",
    "LANGS",
    "STRINGS",
    "ReportFiles",
    "check_lang",
    "find_chromium",
    "html_to_pdf",
    "render_html",
    "text",
    "write_report",
]
