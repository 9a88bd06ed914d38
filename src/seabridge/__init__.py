"""Seabridge: a maritime crisis-management and confidence-building platform.

The package version comes from the installed distribution metadata, whose single source
is ``pyproject.toml``.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("seabridge")
except PackageNotFoundError:  # pragma: no cover - running from a tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
