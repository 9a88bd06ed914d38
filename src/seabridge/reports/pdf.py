"""HTML to PDF through headless Chromium (``--print-to-pdf``), as a subprocess.

Why Chromium and not WeasyPrint: the project already depends on Debian's Chromium for the
console's browser tests, it renders the same HTML, CSS and web fonts the console uses
(woff2 with ``unicode-range``), and it needs no new Python dependency (WeasyPrint would bring
Pango, cairo and their fonts). The executable is ``$SEABRIDGE_CHROMIUM`` if set, else
``chromium`` or ``chromium-browser`` on the PATH, else ``/usr/bin/chromium``.

This module runs one program and checks its output; it knows nothing about reports.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Final

from seabridge.errors import ConfigError, SeabridgeError

__all__ = ["CHROMIUM_ENV", "find_chromium", "html_to_pdf"]

CHROMIUM_ENV: Final = "SEABRIDGE_CHROMIUM"
_TIMEOUT_S: Final = 180.0
_INSTALL: Final = (
    "install it (Debian: apt-get install chromium), name it in $SEABRIDGE_CHROMIUM, "
    "or pass --no-pdf to write only the HTML and the data files"
)


def find_chromium() -> str | None:
    """The Chromium executable to print with, or None when there is none."""
    override = os.environ.get(CHROMIUM_ENV)
    if override:
        return override if Path(override).is_file() and os.access(override, os.X_OK) else None
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    fallback = Path("/usr/bin/chromium")
    return str(fallback) if fallback.is_file() and os.access(fallback, os.X_OK) else None


def html_to_pdf(html_path: Path, pdf_path: Path, *, chromium: str | None = None) -> None:
    """Print ``html_path`` to ``pdf_path`` (A4 and margins come from the page's ``@page``).

    Raises:
        ConfigError: no Chromium was found (the message says how to install one).
        SeabridgeError: Chromium failed, timed out or wrote no PDF (its stderr is quoted).
    """
    executable = chromium or find_chromium()
    if executable is None:
        raise ConfigError(f"the PDF needs Chromium, which was not found: {_INSTALL}")
    target = pdf_path.resolve()
    partial = target.with_name(f".{target.name}.tmp")
    partial.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="seabridge-chromium-") as profile:
        command = [
            executable,
            "--headless",
            "--no-sandbox",  # root in containers and CI; the page is our own local file
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--allow-file-access-from-files",
            f"--user-data-dir={profile}",
            "--no-pdf-header-footer",
            "--run-all-compositor-stages-before-draw",
            "--virtual-time-budget=30000",  # waits for web fonts before printing
            f"--print-to-pdf={partial}",
            html_path.resolve().as_uri(),
        ]
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=_TIMEOUT_S, check=False
            )
        except subprocess.TimeoutExpired:
            raise SeabridgeError(
                f"{executable}: printing {html_path} to PDF took over {_TIMEOUT_S:.0f} s"
            ) from None
        except OSError as exc:
            raise ConfigError(
                f"{executable}: cannot run Chromium ({exc.strerror}): {_INSTALL}"
            ) from None
    if done.returncode != 0 or not partial.is_file() or partial.stat().st_size == 0:
        partial.unlink(missing_ok=True)
        tail = " | ".join(done.stderr.strip().splitlines()[-3:])
        raise SeabridgeError(
            f"{executable}: printing {html_path} to PDF failed (exit {done.returncode}): {tail}"
        )
    partial.replace(target)
