"""The one exception hierarchy of Seabridge.

Every error Seabridge raises on purpose derives from :class:`SeabridgeError`, so callers
(the CLI, the web API) can catch one type and show its message. Messages say what was
wrong, where, and what to do.

::

    SeabridgeError
    ├── ConfigError            a setting or node.toml value is missing or invalid
    ├── InputError             a user-supplied input cannot be used at all
    │   ├── SourceError        a source (file, directory, socket URL) cannot be opened or read
    │   └── FormatError        an input's format cannot be detected or is not the one forced
    ├── StoreError             the track store cannot be opened, written or queried
    │   └── StoreLockedError   another process holds the DuckDB file
    └── PackError              a data pack is missing a file or has an invalid field

Bad-input policy: ingest never raises per line. A malformed line is counted by reason and
written to the quarantine (see :mod:`seabridge.ais.quarantine`); only an input that cannot be
used at all (a missing file, an unknown format, an unreachable address given once) raises
:class:`InputError`.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "FormatError",
    "InputError",
    "PackError",
    "SeabridgeError",
    "SourceError",
    "StoreError",
    "StoreLockedError",
]


class SeabridgeError(Exception):
    """Base class of every error Seabridge raises on purpose."""


class ConfigError(SeabridgeError):
    """A setting or a node.toml value is missing or invalid."""


class InputError(SeabridgeError):
    """A user-supplied input cannot be used at all."""


class SourceError(InputError):
    """A source (file, directory, socket URL) cannot be opened or read."""


class FormatError(InputError):
    """An input's format cannot be detected, or is not the format that was forced."""


class StoreError(SeabridgeError):
    """The track store cannot be opened, written or queried."""


class StoreLockedError(StoreError):
    """Another process holds the DuckDB file (DuckDB allows one process per file)."""


class PackError(SeabridgeError):
    """A data pack is missing a file or has an invalid field."""
