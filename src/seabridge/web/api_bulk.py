"""Bulk access to the node's track store for the local CLI: Arrow streams out, raw AIS in.

While a node is served it holds ``tracks.duckdb`` (DuckDB allows one process per file), so
``seabridge tracks query|export``, ``vessels``, ``detect`` and ``ingest`` given ``--node DIR``
come here (:mod:`seabridge.node.apiclient`) with the node's CLI token. Routes::

    GET  /api/tracks/positions?start=ISO&end=ISO&bbox=W,S,E,N&mmsi=N          (viewer)
        -> application/vnd.apache.arrow.stream: the positions in [start, end), inside bbox,
           of mmsi (each optional), POSITION_SCHEMA record batches in storage order;
           X-Seabridge-Rows says how many
    GET  /api/tracks/statics?end=ISO                                          (viewer)
        -> Arrow stream of the static reports stored before end (all without it),
           STATIC_SCHEMA, sorted by (ts, mmsi): what ``tracks export`` archives
    GET  /api/vessels/registry                                                (viewer)
        -> Arrow stream of the vessels table: mmsi, name, callsign, imo, ship_type, flag,
           last_seen (what ``seabridge vessels`` prints)
    POST /api/ingest?name=FILE&format=auto&start=ISO                          (admin)
        body: one raw file (NMEA 0183, DMA or NOAA CSV; gzip too) -> the ingest summary
        JSON of ``seabridge ingest --json``; rejected lines go to DIR/quarantine/upload.jsonl

Positions are read on a cursor of their own, batch by batch, in the thread pool: the
pipeline keeps appending meanwhile and the store is never loaded whole. Ingest needs
**admin**: it writes history that detection, reports and incident evidence read, which is
administering the node's data, not acting on an incident (an operator's work).
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Annotated, Any, Final

import pyarrow as pa
from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from seabridge.errors import InputError
from seabridge.web._params import node_of, parse_bbox, parse_time
from seabridge.web.auth import Admin, Viewer

__all__ = ["ARROW_STREAM", "router"]

ARROW_STREAM: Final = "application/vnd.apache.arrow.stream"
_BATCH_ROWS: Final = 65_536
_ARROW_RESPONSE: Final[dict[int | str, dict[str, Any]]] = {
    200: {"content": {ARROW_STREAM: {}}, "description": "An Arrow IPC stream"},
    400: {"description": "Bad bbox, time or MMSI"},
}

router = APIRouter(prefix="/api", tags=["bulk"])


class _Chunks:
    """A write-only file for ``pa.ipc.new_stream`` that keeps what is written until taken."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def take(self) -> bytes:
        data, self.parts = b"".join(self.parts), []
        return data


def arrow_stream(schema: pa.Schema, batches: Iterator[pa.RecordBatch]) -> Iterator[bytes]:
    """``batches`` as the bytes of one Arrow IPC stream, a message at a time."""
    sink = _Chunks()
    with pa.ipc.new_stream(pa.PythonFile(sink, mode="w"), schema) as writer:
        yield sink.take()
        for batch in batches:
            writer.write_batch(batch)
            yield sink.take()
    yield sink.take()  # the end-of-stream marker


@router.get("/tracks/positions", responses=_ARROW_RESPONSE, response_class=StreamingResponse)
def positions(
    principal: Viewer,
    request: Request,
    start: str | None = None,
    end: str | None = None,
    bbox: str | None = None,
    mmsi: int | None = None,
) -> StreamingResponse:
    """The positions in ``[start, end)`` inside ``bbox`` of ``mmsi``, as an Arrow stream."""
    from seabridge.ais.records import POSITION_SCHEMA

    if mmsi is not None and not 0 < mmsi < 10**9:
        raise InputError(f"mmsi={mmsi}: an MMSI is a number of up to nine digits")
    rows, batches = node_of(request).store.stream_positions(
        parse_bbox("bbox", bbox),
        parse_time("start", start),
        parse_time("end", end),
        mmsi,
        batch_rows=_BATCH_ROWS,
    )
    return StreamingResponse(
        arrow_stream(POSITION_SCHEMA, batches),
        media_type=ARROW_STREAM,
        headers={"X-Seabridge-Rows": str(rows)},
    )


@router.get("/tracks/statics", responses=_ARROW_RESPONSE, response_class=StreamingResponse)
def statics(principal: Viewer, request: Request, end: str | None = None) -> StreamingResponse:
    """The static reports stored before ``end``, as an Arrow stream."""
    table = node_of(request).store.statics(parse_time("end", end))
    return StreamingResponse(
        arrow_stream(table.schema, iter(table.to_batches(max_chunksize=_BATCH_ROWS))),
        media_type=ARROW_STREAM,
        headers={"X-Seabridge-Rows": str(table.num_rows)},
    )


@router.get("/vessels/registry", responses=_ARROW_RESPONSE, response_class=StreamingResponse)
def registry(principal: Viewer, request: Request) -> StreamingResponse:
    """Every vessel seen (static data and last seen time), as an Arrow stream."""
    table = node_of(request).store.vessels()
    return StreamingResponse(
        arrow_stream(table.schema, iter(table.to_batches())),
        media_type=ARROW_STREAM,
        headers={"X-Seabridge-Rows": str(table.num_rows)},
    )


@router.post(
    "/ingest",
    responses={
        200: {"description": "The ingest summary (seabridge ingest --json)"},
        400: {"description": "Unreadable input, unknown format or bad start time"},
    },
)
async def ingest(
    principal: Admin,
    request: Request,
    name: str = "upload.nmea",
    fmt: Annotated[str, Query(alias="format")] = "auto",
    start: str | None = None,
) -> dict[str, Any]:
    """Decode one raw AIS file (the request body) into the track store."""
    node = node_of(request)
    start_ms = parse_time("start", start)
    base = Path(name).name
    if not base or base.startswith("."):
        raise InputError(f"name={name!r}: give the file's name, e.g. feed.nmea.gz")
    with tempfile.TemporaryDirectory(dir=node.config.dir.root, prefix=".upload-") as spool:
        path = Path(spool) / base
        with path.open("wb") as handle:
            await _receive(request, handle)
        summary = await asyncio.to_thread(node.ingest_file, path, fmt, start_ms, name=base)
    result: dict[str, Any] = summary.as_json()
    return result


async def _receive(request: Request, handle: IO[bytes]) -> None:
    async for chunk in request.stream():
        if chunk:
            handle.write(chunk)
