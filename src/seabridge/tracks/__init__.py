"""Track store: positions and static reports in DuckDB, queries, and Parquet/CSV/JSON export.

The public API is below; everything else in this package is private. ``tracks`` imports only
the AIS record schemas and the ground floor (errors, units, clock, config); it must never import
detection, the node, the CLI or the web layer. Times are int milliseconds since the epoch (UTC)
and time windows are half-open, ``[start_ms, end_ms)``.

Example::

    with TrackStore.open(Path("node/tracks.duckdb")) as store:
        duplicates = store.append_positions(batch)
        write_table(store.track(431000001), "geojson", Path("track.geojson"), geometry="lines")
"""

from __future__ import annotations

from seabridge.tracks.export import FORMATS, ParquetExport, iso_times, write_table
from seabridge.tracks.queries import BBox, StoreStats
from seabridge.tracks.schema import OUTPUT_COLUMNS, SCHEMA_VERSION, VESSEL_SCHEMA
from seabridge.tracks.store import TrackStore

__all__ = [
    "FORMATS",
    "OUTPUT_COLUMNS",
    "SCHEMA_VERSION",
    "VESSEL_SCHEMA",
    "BBox",
    "ParquetExport",
    "StoreStats",
    "TrackStore",
    "iso_times",
    "write_table",
]
