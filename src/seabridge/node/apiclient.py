"""The local CLI's side of a served node's bulk API (:mod:`seabridge.web.api_bulk`).

While ``seabridge serve`` runs a node it holds ``tracks.duckdb``, so commands given
``--node DIR`` read it through the console API: :class:`NodeApi` authenticates with the
token the serving node wrote to ``DIR/keys/cli.token``, fetches positions and the vessels
table as Arrow streams (filters pushed down to the node), and uploads raw files to ingest.
:func:`mirror_store` copies what a command needs into a temporary track store, so the
command runs its unchanged code on it. An https console is verified with the PEM file
``serve.json`` names (``console_ca``). Failures say what to do: the node cannot be reached,
the token is missing or refused (naming the file), or the server's own ``detail``.

This module never imports the web layer or the CLI; ``transport`` lets tests replace the
network.
"""

from __future__ import annotations

import io
import json
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Self

import httpx
import pyarrow as pa

from seabridge.ais.records import STATIC_SCHEMA
from seabridge.errors import AuthError, InputError, StoreError
from seabridge.node.client import CLI_TOKEN_FILE, Serving, read_cli_token
from seabridge.tracks import BBox, TrackStore
from seabridge.units import ms_to_iso

__all__ = ["Mirror", "NodeApi", "Progress", "mirror_store", "vessels_as_statics"]

Progress = Callable[[str, int, int], None]
"""Called with (what, done so far, total or 0 when unknown): rows fetched, bytes sent."""

_CHUNK_BYTES: Final = 1 << 20
_STATIC_SOURCE: Final = "node-api"


class _StreamReader(io.RawIOBase):
    """A readable file over an iterator of byte chunks (an HTTP body being received)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._rest = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._rest:
            try:
                self._rest = next(self._chunks)
            except StopIteration:
                return 0
        size = min(len(buffer), len(self._rest))
        buffer[:size] = self._rest[:size]
        self._rest = self._rest[size:]
        return size


def _context(ca: str | None) -> ssl.SSLContext:
    """Verification for an https console: the node's PEM when serve.json names one."""
    context = ssl.create_default_context(cafile=ca)
    if ca is not None:  # the node's own CA or certificate: no public root above it
        context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    return context


class NodeApi:
    """The bulk API of the node in ``root`` served as ``found`` (use as a context manager).

    Raises:
        StoreError: the node is served without a console listener.
        AuthError: ``DIR/keys/cli.token`` is missing or unreadable.
    """

    def __init__(
        self,
        root: Path,
        found: Serving,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout_s: float = 60.0,
    ) -> None:
        if not found.console:
            raise StoreError(
                f"{root}: the node is being served by process {found.pid} without a console "
                "listener, and the CLI reads a served node through its console API; stop "
                "`seabridge serve` and run this command again"
            )
        self.root = root
        self.found = found
        self.url = found.console.rstrip("/")
        self.token_file = root / CLI_TOKEN_FILE
        token = read_cli_token(root)
        verify: ssl.SSLContext | bool = (
            _context(found.console_ca) if self.url.startswith("https:") else True
        )
        self._client = httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {token}"},
            verify=verify,
            transport=transport,
            timeout=httpx.Timeout(timeout_s),
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    @contextmanager
    def _request(self, method: str, path: str, **kwargs: Any) -> Iterator[httpx.Response]:
        """A streamed response of the API; transport failures and HTTP errors raise."""
        try:
            with self._client.stream(method, path, **kwargs) as response:
                if response.status_code >= 400:
                    response.read()
                    raise self._refused(path, response)
                yield response
        except httpx.TransportError as exc:
            raise StoreError(
                f"{self.root}: the node is being served by process {self.found.pid}, but its "
                f"console at {self.url} did not answer ({type(exc).__name__}: {exc}); check "
                "that `seabridge serve` is up, or stop it and run this command offline"
            ) from None

    def _refused(self, path: str, response: httpx.Response) -> Exception:
        try:
            detail = str(response.json().get("detail", response.text))
        except (ValueError, AttributeError):
            detail = response.text.strip()[:500]
        where = f"{self.url}{path}: HTTP {response.status_code}: {detail}"
        if response.status_code == 401:
            return AuthError(
                f"{where}; the node refused the local CLI's API token in {self.token_file} "
                "(the serving node replaces it when it starts: restart `seabridge serve`, or "
                "run this command as the user who runs it)"
            )
        if response.status_code == 403:
            return AuthError(f"{where} (token {self.token_file})")
        if response.status_code in (400, 422):
            return InputError(where)
        return StoreError(where)

    def _arrow(
        self, path: str, params: dict[str, str], what: str, progress: Progress | None
    ) -> Iterator[pa.RecordBatch]:
        with self._request("GET", path, params=params) as response:
            total = int(response.headers.get("X-Seabridge-Rows", "0") or 0)
            reader = pa.ipc.open_stream(_StreamReader(response.iter_bytes(_CHUNK_BYTES)))
            done = 0
            if progress is not None:
                progress(what, 0, total)
            for batch in reader:
                done += batch.num_rows
                if progress is not None:
                    progress(what, done, total)
                yield batch

    def positions(
        self,
        *,
        bbox: BBox | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
        mmsi: int | None = None,
        progress: Progress | None = None,
    ) -> Iterator[pa.RecordBatch]:
        """The positions in ``[start_ms, end_ms)`` inside ``bbox`` of ``mmsi`` (each optional),
        as ``POSITION_SCHEMA`` batches in the node's storage order."""
        params: dict[str, str] = {}
        if start_ms is not None:
            params["start"] = ms_to_iso(start_ms)
        if end_ms is not None:
            params["end"] = ms_to_iso(end_ms)
        if bbox is not None:
            params["bbox"] = ",".join(repr(float(edge)) for edge in bbox)
        if mmsi is not None:
            params["mmsi"] = str(mmsi)
        return self._arrow("/api/tracks/positions", params, "positions", progress)

    def statics(self, end_ms: int | None = None, progress: Progress | None = None) -> pa.Table:
        """The node's static reports before ``end_ms`` (all without it), ``STATIC_SCHEMA``."""
        params = {} if end_ms is None else {"end": ms_to_iso(end_ms)}
        batches = list(self._arrow("/api/tracks/statics", params, "static reports", progress))
        return pa.Table.from_batches(batches, schema=STATIC_SCHEMA)

    def vessels(self, progress: Progress | None = None) -> pa.Table:
        """The node's vessels table (``seabridge vessels``): one row per vessel."""
        batches = list(self._arrow("/api/vessels/registry", {}, "vessels", progress))
        if not batches:
            raise StoreError(f"{self.url}/api/vessels/registry: an empty Arrow stream")
        return pa.Table.from_batches(batches)

    def ingest(
        self,
        path: Path,
        *,
        name: str,
        fmt: str = "auto",
        start_ms: int | None = None,
        progress: Progress | None = None,
    ) -> dict[str, Any]:
        """Upload the raw file ``path`` (as ``name``) for the node to ingest; its summary JSON
        (``seabridge ingest --json``'s keys)."""
        params = {"name": name, "format": fmt}
        if start_ms is not None:
            params["start"] = ms_to_iso(start_ms)
        size = path.stat().st_size

        def body() -> Iterator[bytes]:
            sent = 0
            with path.open("rb") as handle:
                while chunk := handle.read(_CHUNK_BYTES):
                    sent += len(chunk)
                    if progress is not None:
                        progress(name, sent, size)
                    yield chunk

        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(size)}
        with self._request(
            "POST", "/api/ingest", params=params, content=body(), headers=headers
        ) as response:
            response.read()
            try:
                result: dict[str, Any] = json.loads(response.text)
            except ValueError:
                raise StoreError(f"{self.url}/api/ingest: not a JSON summary") from None
        return result


def vessels_as_statics(vessels: pa.Table) -> pa.Table:
    """One static report per vessel row (at its last-seen time) carrying its name, callsign,
    IMO, ship type and flag: a store holding them returns the same vessels table."""
    if vessels.num_rows:
        vessels = vessels.filter(vessels.column("last_seen").is_valid())
    rows = vessels.num_rows
    columns: dict[str, Any] = {name: vessels.column(name) for name in vessels.column_names}
    columns["ts"] = vessels.column("last_seen")
    columns["msg_type"] = pa.array([5] * rows, pa.uint8())
    columns["source"] = pa.array([_STATIC_SOURCE] * rows, pa.string())
    arrays = [
        columns[field.name].cast(field.type)
        if field.name in columns
        else pa.nulls(rows, field.type)
        for field in STATIC_SCHEMA
    ]
    return pa.Table.from_arrays(arrays, schema=STATIC_SCHEMA)


@dataclass(frozen=True, slots=True)
class Mirror:
    """What a command needs of the served store: positions (filtered) and/or the vessels, or
    the static reports themselves (before ``end_ms``; ``tracks export`` archives them)."""

    positions: bool = True
    vessels: bool = False
    statics: bool = False
    bbox: BBox | None = None
    start_ms: int | None = None
    end_ms: int | None = None
    mmsi: int | None = None


def mirror_store(
    api: NodeApi, path: Path, mirror: Mirror, progress: Progress | None = None
) -> tuple[TrackStore, int]:
    """A new track store at ``path`` holding what ``mirror`` asks of the served node, and how
    many positions it copied. The caller closes the store and removes the file."""
    store = TrackStore.open(path)
    try:
        rows = 0
        if mirror.statics:
            store.copy_rows("statics", api.statics(mirror.end_ms, progress))
        elif mirror.vessels:
            store.copy_rows("statics", vessels_as_statics(api.vessels(progress)))
        if mirror.positions:
            for batch in api.positions(
                bbox=mirror.bbox,
                start_ms=mirror.start_ms,
                end_ms=mirror.end_ms,
                mmsi=mirror.mmsi,
                progress=progress,
            ):
                store.copy_rows("positions", pa.Table.from_batches([batch]))
                rows += batch.num_rows
    except BaseException:
        store.close()
        raise
    return store, rows
