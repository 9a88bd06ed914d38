"""GET /api/tracks/positions, GET /api/vessels/registry and POST /api/ingest: the bulk API
the local CLI uses while the node is served (Arrow IPC streams out, raw AIS in), over a node
fed five minutes of the ecs-mini scenario."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
from api_kit import ApiNode, open_api_node

from seabridge.ais.records import POSITION_SCHEMA
from seabridge.ais.sample import sample_lines
from seabridge.node.client import UPLOAD_QUARANTINE
from seabridge.tracks.schema import VESSEL_SCHEMA
from seabridge.units import ms_to_iso
from seabridge.web.api_bulk import ARROW_STREAM

BBOX = "123.0,25.0,124.5,26.5"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiNode]:
    made = open_api_node(tmp_path_factory.mktemp("bulk"))
    yield made
    made.close()


def _sorted(table: pa.Table) -> str:
    """The rows in one order (the stream is in storage order; rows may tie on (mmsi, ts)),
    as text (NaN, "not available", equals itself there)."""
    order = [(name, "ascending") for name in ("mmsi", "ts", "msg_type", "lat", "lon")]
    return repr(table.sort_by(order).to_pylist())


def _arrow(body: bytes) -> pa.Table:
    return pa.ipc.open_stream(body).read_all()


def test_positions_stream_is_the_store_s_rows(api: ApiNode) -> None:
    viewer = api.login("viewer")
    response = viewer.get("/api/tracks/positions")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == ARROW_STREAM
    table = _arrow(response.content)
    assert table.schema == POSITION_SCHEMA
    expected = api.node.store.positions()
    assert int(response.headers["X-Seabridge-Rows"]) == table.num_rows == expected.num_rows > 0
    assert _sorted(table) == _sorted(expected)


def test_positions_filters_are_pushed_down(api: ApiNode) -> None:
    viewer = api.login("viewer")
    store = api.node.store
    stats = store.stats()
    assert stats.first_ms is not None and stats.last_ms is not None
    middle = (stats.first_ms + stats.last_ms) // 2
    mmsi = int(store.positions().column("mmsi")[0].as_py())
    response = viewer.get(
        "/api/tracks/positions",
        params={"bbox": BBOX, "start": "1970-01-01T00:00:00Z", "mmsi": str(mmsi)},
    )
    table = _arrow(response.content)
    bbox = (123.0, 25.0, 124.5, 26.5)
    assert _sorted(table) == _sorted(store.positions(bbox=bbox, start_ms=0, mmsi=mmsi))
    before = _arrow(viewer.get("/api/tracks/positions", params={"end": _iso(middle)}).content)
    assert 0 < before.num_rows == store.positions(end_ms=middle).num_rows


def _iso(ms: int) -> str:
    from seabridge.units import ms_to_iso

    return ms_to_iso(ms)


def test_bad_filters_are_400s_that_say_why(api: ApiNode) -> None:
    viewer = api.login("viewer")
    bad = {"bbox": "1,2,3", "start": "yesterday", "mmsi": "0"}
    for name, value in bad.items():
        response = viewer.get("/api/tracks/positions", params={name: value})
        assert response.status_code == 400, (name, response.text)
        assert name in response.json()["detail"]


def test_registry_is_the_vessels_table(api: ApiNode) -> None:
    response = api.login("viewer").get("/api/vessels/registry")
    assert response.status_code == 200 and response.headers["content-type"] == ARROW_STREAM
    table = _arrow(response.content)
    assert table.schema == VESSEL_SCHEMA and table.equals(api.node.store.vessels())


def test_statics_stream_is_the_store_s_static_reports(api: ApiNode) -> None:
    viewer = api.login("viewer")
    every = _arrow(viewer.get("/api/tracks/statics").content)
    assert every.num_rows > 0 and every.equals(api.node.store.statics())
    cut = every.column("ts")[every.num_rows // 2].value  # ms since the epoch (TS_TYPE)
    response = viewer.get("/api/tracks/statics", params={"end": ms_to_iso(cut)})
    before = _arrow(response.content)
    assert int(response.headers["X-Seabridge-Rows"]) == before.num_rows
    assert before.equals(api.node.store.statics(cut)) and before.num_rows < every.num_rows
    assert viewer.get("/api/tracks/statics", params={"end": "soon"}).status_code == 400


def test_ingest_needs_admin_and_stores_the_upload(api: ApiNode, tmp_path: Path) -> None:
    body = ("\n".join(sample_lines()) + "\nnot nmea\n").encode()
    operator = api.login("operator")
    assert operator.post("/api/ingest", content=body).status_code == 403
    before = api.node.store.stats().positions
    admin = api.login("admin")
    response = admin.post("/api/ingest", params={"name": "../x/feed.nmea"}, content=body)
    assert response.status_code == 200, response.text
    summary = response.json()
    assert summary["positions"] > 0 and summary["rejected"] == {"bad_checksum": 4, "bad_framing": 1}
    added = api.node.store.stats().positions - before
    sources = api.node.store.positions().column("source").to_pylist()
    assert 0 < added == sources.count("feed.nmea") <= summary["positions"]
    quarantine = api.node.config.dir.quarantine / UPLOAD_QUARANTINE
    assert '"source": "feed.nmea"' in quarantine.read_text()
    assert not list(api.node.config.dir.root.glob(".upload-*"))  # the spool is gone
    unknown = admin.post("/api/ingest", params={"format": "xml"}, content=body)
    assert unknown.status_code == 400 and "xml" in unknown.json()["detail"]
