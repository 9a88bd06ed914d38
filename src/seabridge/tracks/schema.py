"""Table layout of the track store and the conversions between DuckDB results and Arrow records.

The SQL columns are derived from the Arrow record schemas of :mod:`seabridge.ais.records`, so
the two cannot drift. Times are stored as ``TIMESTAMPTZ`` (UTC, millisecond values) and every
result is cast back to the record schemas (``timestamp[ms, UTC]``). This module declares tables
and converts types; it must not run queries beyond creating and checking the schema.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from seabridge.ais.records import POSITION_SCHEMA, STATIC_SCHEMA, TS_TYPE
from seabridge.errors import StoreError

__all__ = [
    "OUTPUT_COLUMNS",
    "SCHEMA_VERSION",
    "VESSEL_SCHEMA",
    "conform",
    "create_or_check",
    "to_schema",
]

#: Bump with a migration in :func:`create_or_check` whenever a table changes.
SCHEMA_VERSION = 1

#: The columns a position query writes as CSV, JSONL or GeoJSON (``source`` stays internal).
OUTPUT_COLUMNS = (
    "mmsi",
    "ts",
    "lat",
    "lon",
    "sog_kn",
    "cog_deg",
    "heading_deg",
    "nav_status",
    "msg_type",
)

#: One row per vessel: the latest non-null value of each static field and when it was last seen.
VESSEL_SCHEMA = pa.schema(
    [
        pa.field("mmsi", pa.uint32(), nullable=False),
        pa.field("name", pa.string()),
        pa.field("callsign", pa.string()),
        pa.field("imo", pa.uint32()),
        pa.field("ship_type", pa.uint8()),
        pa.field("flag", pa.string()),
        pa.field("last_seen", TS_TYPE),
    ]
)

_SQL_TYPES = {
    pa.uint8(): "UTINYINT",
    pa.uint16(): "USMALLINT",
    pa.uint32(): "UINTEGER",
    pa.int8(): "TINYINT",
    pa.float32(): "FLOAT",
    pa.float64(): "DOUBLE",
    pa.string(): "VARCHAR",
    TS_TYPE: "TIMESTAMPTZ",
}

_TABLES = {"positions": POSITION_SCHEMA, "statics": STATIC_SCHEMA}


def _ddl(table: str, schema: pa.Schema) -> str:
    columns = ", ".join(
        f"{field.name} {_SQL_TYPES[field.type]}{'' if field.nullable else ' NOT NULL'}"
        for field in schema
    )
    return f"CREATE TABLE {table} ({columns})"


def create_or_check(con: duckdb.DuckDBPyConnection, path: str, *, read_only: bool) -> None:
    """Create the tables of a new store, or check an existing store's schema version.

    Raises:
        StoreError: the file is a DuckDB database but not a track store, was written by a
            newer Seabridge, or is a new file opened read-only.
    """
    tables = {row[0] for row in con.sql("SELECT table_name FROM duckdb_tables()").fetchall()}
    if not tables:
        if read_only:
            raise StoreError(f"{path}: not a track store (it has no tables); open it writable once")
        con.execute("BEGIN TRANSACTION")
        con.execute(
            "CREATE TABLE schema_version (version INTEGER NOT NULL, applied_at TIMESTAMPTZ "
            "NOT NULL DEFAULT current_timestamp)"
        )
        for name, schema in _TABLES.items():
            con.execute(_ddl(name, schema))
        con.execute("INSERT INTO schema_version (version) VALUES (?)", [SCHEMA_VERSION])
        con.execute("COMMIT")
        return
    missing = ({"schema_version"} | set(_TABLES)) - tables
    if missing:
        raise StoreError(
            f"{path}: not a Seabridge track store (missing tables: {', '.join(sorted(missing))})"
        )
    version = con.sql("SELECT max(version) FROM schema_version").fetchall()[0][0]
    if version != SCHEMA_VERSION:
        raise StoreError(
            f"{path}: track store schema version {version}, this Seabridge reads version "
            f"{SCHEMA_VERSION}; use the Seabridge release that wrote it"
        )


def conform(batch: pa.RecordBatch | pa.Table, schema: pa.Schema, what: str) -> pa.Table:
    """A record batch or table as a table with exactly ``schema``'s columns and types.

    Raises:
        StoreError: a column is missing or cannot be cast, or a non-nullable column has nulls.
    """
    if isinstance(batch, pa.RecordBatch):
        batch = pa.Table.from_batches([batch])
    if not isinstance(batch, pa.Table):
        raise StoreError(f"{what}: expected an Arrow record batch, got {type(batch).__name__}")
    missing = [name for name in schema.names if name not in batch.column_names]
    if missing:
        raise StoreError(f"{what} batch is missing column(s) {', '.join(missing)}")
    table = batch.select(schema.names)
    for field in schema:
        if not field.nullable and table.column(field.name).null_count:
            raise StoreError(f"{what} batch has nulls in column {field.name}, which needs a value")
    try:
        return table.cast(schema)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError) as exc:
        raise StoreError(f"{what} batch does not match the record schema: {exc}") from exc


def to_schema(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """A DuckDB result (timestamps in microseconds) cast to a record schema."""
    return table.select(schema.names).cast(schema)
