"""Where lines come from: files, gzip files, directories, standard input; format sniffing.

A source spec is a path (a file, a gzip file, or a directory read recursively in name
order), ``-`` for standard input, or a ``tcp://host:port`` / ``udp://host:port`` URL
(see :mod:`seabridge.ais.live`). Gzip is recognised by its magic bytes, whatever the file
is called. This module opens and sniffs; it never decodes.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from seabridge.ais.csvfmt import sniff_csv_format
from seabridge.errors import FormatError, SourceError

__all__ = [
    "READ_ERRORS",
    "FileInput",
    "Format",
    "expand_sources",
    "is_gzip",
    "open_decompressed",
    "read_head",
    "sniff_format",
]

Format = Literal["nmea", "dma-csv", "noaa-csv"]
_SNIFF_BYTES = 64 * 1024
_GZIP_MAGIC = b"\x1f\x8b"
_NMEA_MARKERS = (b"!AIVD", b"!ABVD", b"!BSVD", b"!ANVD", b"!SAVD", b"VDM,", b"VDO,", b"$PGHP")
READ_ERRORS = (OSError, EOFError, zlib.error)
"""What reading a damaged or truncated (gzip) file raises."""


@dataclass(frozen=True, slots=True)
class FileInput:
    """One file to read: its path (None for stdin), display name and size in bytes."""

    path: Path | None
    name: str
    size: int


def is_gzip(path: Path) -> bool:
    """True when the file starts with the gzip magic bytes (RFC 1952 §2.3.1)."""
    with path.open("rb") as handle:
        return handle.read(2) == _GZIP_MAGIC


def open_decompressed(raw: io.BufferedIOBase, path: Path) -> io.BufferedIOBase:
    """``raw`` itself, or a gzip reader over it when the file is gzip-compressed."""
    if is_gzip(path):
        return gzip.GzipFile(fileobj=raw, mode="rb")
    return raw


def expand_sources(specs: list[str]) -> Iterator[FileInput]:
    """Files named by the specs, directories expanded recursively in name order.

    Hidden files and folders (a name starting with ``.``) inside directories are skipped.

    Raises:
        SourceError: a path does not exist or is neither a file nor a directory.
    """
    for spec in specs:
        if spec == "-":
            yield FileInput(None, "<stdin>", 0)
            continue
        path = Path(spec)
        if path.is_dir():
            for child in sorted(p for p in path.rglob("*") if p.is_file()):
                if not any(part.startswith(".") for part in child.relative_to(path).parts):
                    yield FileInput(child, str(child), child.stat().st_size)
        elif path.is_file():
            yield FileInput(path, spec, path.stat().st_size)
        elif path.exists():
            raise SourceError(f"{spec}: not a regular file or directory")
        else:
            raise SourceError(f"{spec}: no such file or directory")


def sniff_format(head: bytes, name: str) -> Format:
    """Detect the format of an input from its first bytes; an empty input is NMEA (nothing
    to read either way).

    Raises:
        FormatError: neither NMEA nor a known CSV header; the message names the input.
    """
    text = head.lstrip(b"\xef\xbb\xbf")
    if not text.strip():
        return "nmea"
    first_line = next((line for line in text.splitlines() if line.strip()), b"")
    csv_format = sniff_csv_format(first_line.decode("utf-8", "replace"))
    if csv_format is not None:
        return csv_format
    if any(marker in text for marker in _NMEA_MARKERS):
        return "nmea"
    raise FormatError(
        f"{name}: cannot tell the format (no AIVDM/AIVDO sentence and no DMA or NOAA CSV "
        "header in its first 64 KiB); force one with --format nmea|dma-csv|noaa-csv"
    )


def read_head(item: FileInput) -> bytes:
    """The first bytes of a file (decompressed), for sniffing.

    Raises:
        SourceError: the file cannot be opened or its start cannot be read (names it).
    """
    if item.path is None:
        raise SourceError("<stdin>: standard input cannot be sniffed; it is read as NMEA")
    try:
        with item.path.open("rb") as raw, open_decompressed(raw, item.path) as handle:
            return handle.read(_SNIFF_BYTES)
    except READ_ERRORS as exc:
        raise SourceError(f"{item.name}: cannot read ({exc})") from exc
