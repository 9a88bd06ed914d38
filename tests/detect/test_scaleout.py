"""Partitioned detection over the Parquet archive equals one sequential run.

ecs-mini (an hour of the ecs-demo situations) is simulated once, ingested into a store and
exported to the archive. The oracle is :func:`final_events` of :func:`run_store` over the
store. The rulebook is ecs-standard with its durations shortened (and the engine's frame age
cut to 5 min) so the overlap is about half an hour: partitions of 5 minutes then really warm
up, run on and hand events across their boundaries, instead of each reading the whole hour.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from seabridge.ais.ingest import IngestOptions, ingest
from seabridge.ais.quarantine import Quarantine
from seabridge.ais.records import POSITION_SCHEMA
from seabridge.detect import (
    Engine,
    EngineSettings,
    Event,
    final_events,
    load_rulebook,
    parse_rulebook,
    run_store,
)
from seabridge.detect.rule import KINDS
from seabridge.detect.rulebook import Rulebook
from seabridge.detect.scaleout import (
    REACH,
    EngineFactory,
    overlap_ms,
    run_archive,
    run_partitioned,
)
from seabridge.errors import InputError
from seabridge.geo import load_zones
from seabridge.packs import load_pack, load_parties
from seabridge.tracks import TrackStore
from seabridge.tracks.archive import Archive, ArchiveWriter

sim = pytest.importorskip("seabridge.sim.runner")
scenario_module = pytest.importorskip("seabridge.sim.scenario")

PART_MS = 8 * 60_000
SETTINGS = EngineSettings(max_fix_age_ms=5 * 60_000)
SHORTER = {  # (rule id, parameter): value, so the longest reach is minutes, not hours
    ("loitering-near-features", "duration"): "6 min",
    ("loitering-near-features", "bucket"): "1 min",
    ("loitering-near-features", "max_gap"): "5 min",
    ("encounter", "duration"): "6 min",
    ("encounter", "max_interruption"): "3 min",
    ("encounter", "max_age"): "3 min",
    ("shadowing", "duration"): "6 min",
    ("ais-gap", "threshold"): "5 min",
    ("data-quality", "window"): "5 min",
    ("belt-12nm-entry", "max_age"): "3 min",
    ("ring-24nm-entry", "max_age"): "3 min",
    ("safety-zone-entry", "max_age"): "3 min",
}


@dataclass
class Mini:
    nmea: Path
    store: Path
    archive: Path
    factory: EngineFactory
    oracle: list[Event]


def _shorter_rulebook(text: str) -> str:
    rule, in_params = None, False
    lines = []
    for line in text.splitlines():
        match = re.match(r"^  - id: (\S+)", line)
        if match:
            rule = match.group(1)
        if re.match(r"^    \w+:", line):
            in_params = line.strip() == "params:"
        param = re.match(r"^      (\w+): ", line)
        wanted = (str(rule), param.group(1)) if param else None
        if in_params and wanted in SHORTER:
            line = f"      {wanted[1]}: {SHORTER[wanted]}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def _by_id(events: list[Event]) -> dict[str, Event]:
    return {event.id: event for event in events}


@pytest.fixture(scope="module")
def mini(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mini]:
    folder = tmp_path_factory.mktemp("scaleout")
    nmea = folder / "ecs-mini.nmea"
    with nmea.open("w", encoding="ascii") as out:
        sim.simulate(scenario_module.load_scenario("ecs-mini"), out.write)
    store_path = folder / "tracks.duckdb"
    with Quarantine(folder / "q.jsonl") as rejected, TrackStore.open(store_path) as store:
        ingest([str(nmea)], store, rejected, IngestOptions(fmt="nmea"))
        store.export_parquet(folder / "archive")
    pack = load_pack("ecs")
    zones, parties = load_zones(pack), load_parties(pack)
    text = (pack.path / "rulebooks" / "ecs-standard.yaml").read_text(encoding="utf-8")
    rulebook: Rulebook = parse_rulebook(
        _shorter_rulebook(text), "short", zone_ids=zones.ids, parties=parties
    )
    factory = EngineFactory.of(rulebook, zones, parties, SETTINGS)
    with TrackStore.open(store_path, read_only=True) as store:
        oracle = final_events(run_store(store, factory()))
    yield Mini(nmea, store_path, folder / "archive", factory, oracle)


def test_every_rule_kind_has_a_reach() -> None:
    assert set(KINDS) <= set(REACH)


def test_the_overlap_is_short_enough_to_test_warm_ups(mini: Mini) -> None:
    overlap = overlap_ms(mini.factory.rulebook, SETTINGS)
    assert 10 * 60_000 <= overlap <= 25 * 60_000
    assert len(mini.oracle) > 30  # the scenario's situations, and traffic


def test_a_sequential_run_over_the_archive_equals_the_store_run(mini: Mini) -> None:
    events = final_events(run_archive(Archive(mini.archive), mini.factory()))
    assert _by_id(events) == _by_id(mini.oracle)


def test_many_small_partitions_equal_one_sequential_run(mini: Mini) -> None:
    events, results = run_partitioned(Archive(mini.archive), mini.factory, partition_ms=PART_MS)
    assert len(results) >= 8
    assert sum(r.partition.read_from_ms > r.partition.window_start_ms for r in results) >= 4
    assert any(r.run_on_positions for r in results)  # some event was followed past its end
    crossing = [
        e for e in mini.oracle if e.end_ms is None or e.end_ms // PART_MS > e.start_ms // PART_MS
    ]
    assert crossing  # events open across partition boundaries are part of the check
    assert _by_id(events) == _by_id(mini.oracle)


def test_a_window_of_the_archive_equals_the_store_run_over_that_window(mini: Mini) -> None:
    archive = Archive(mini.archive)
    first, last = archive.span_ms()
    start, end = first + 7 * 60_000, last - 9 * 60_000
    with TrackStore.open(mini.store, read_only=True) as store:
        oracle = final_events(run_store(store, mini.factory(), start, end))
    events, _ = run_partitioned(archive, mini.factory, start, end, partition_ms=2 * PART_MS)
    assert _by_id(events) == _by_id(oracle)


@pytest.mark.xdist_group("dask")
# distributed's in-process scheduler can leave its HTTP socket for the GC to close.
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_dask_local_cluster_gives_the_same_events(mini: Mini) -> None:
    distributed = pytest.importorskip("dask.distributed")
    from seabridge.detect.scaleout import dask_executor

    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=False,
            dashboard_address=":0",
            scheduler_port=0,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        events, _ = run_partitioned(
            Archive(mini.archive),
            mini.factory,
            partition_ms=2 * PART_MS,
            executor=dask_executor(client),
        )
    assert _by_id(events) == _by_id(mini.oracle)


def test_ingest_to_the_archive_equals_ingest_to_the_store(mini: Mini, tmp_path: Path) -> None:
    root = tmp_path / "archive"
    with (
        Quarantine(tmp_path / "q.jsonl") as rejected,
        ArchiveWriter(root, flush_rows=50_000) as sink,
    ):
        ingest([str(mini.nmea)], sink, rejected, IngestOptions(fmt="nmea"))
    # A second ingest of the same file adds nothing: the day is merged and de-duplicated.
    head = tmp_path / "head.nmea"
    with mini.nmea.open(encoding="ascii") as full:
        head.write_text("".join(line for _, line in zip(range(20_000), full, strict=False)))
    with Quarantine(tmp_path / "q2.jsonl") as rejected, ArchiveWriter(root) as again:
        ingest([str(head)], again, rejected, IngestOptions(fmt="nmea"))
    assert again.rows_written == 0 and again.duplicates > 0
    exported = pq.read_table(next(mini.archive.glob("day=*/part-0.parquet")))
    written = pq.read_table(next(root.glob("day=*/part-0.parquet")))
    assert len(list(root.glob("day=*/*.parquet"))) == len(
        list(mini.archive.glob("day=*/*.parquet"))
    )
    assert written.num_rows == exported.num_rows
    keys = ["mmsi", "ts", "msg_type", "lat", "lon"]
    assert (
        written.select(keys)
        .sort_by([(k, "ascending") for k in keys])
        .equals(exported.select(keys).sort_by([(k, "ascending") for k in keys]))
    )
    mmsi = written.column("mmsi").to_numpy()
    ts = written.column("ts").cast(pa.int64()).to_numpy()
    assert all((mmsi[1:] > mmsi[:-1]) | ((mmsi[1:] == mmsi[:-1]) & (ts[1:] >= ts[:-1])))
    assert (root / "_statics.parquet").is_file()
    # Same rows as the export: detection over it equals the store run (tested above).


def test_bad_archive_paths_are_named(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no archive here"):
        Archive(tmp_path / "missing")
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="not a directory"):
        Archive(tmp_path / "file")
    with pytest.raises(InputError, match="no day=YYYY-MM-DD partitions"):
        Archive(tmp_path)


def test_an_unknown_rule_kind_is_refused(mini: Mini, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(REACH, "loitering")
    with pytest.raises(Exception, match="no known reach"):
        overlap_ms(mini.factory.rulebook)


def test_engine_advance_fires_the_ticks_a_later_position_would() -> None:
    pack = load_pack("ecs")
    zones, parties = load_zones(pack), load_parties(pack)
    rulebook = load_rulebook("ecs-standard", pack, zone_ids=zones.ids, parties=parties)
    fed, advanced = Engine(rulebook, zones, parties), Engine(rulebook, zones, parties)
    assert advanced.advance(10**12) == []  # before any position: nothing to tick
    fix = {
        "mmsi": [431999101],
        "ts": [1_000_000_003_000],
        "lat": [25.0],
        "lon": [123.0],
        "sog_kn": [5.0],
        "cog_deg": [0.0],
        "heading_deg": [0.0],
        "nav_status": [0],
        "msg_type": [1],
        "source": ["t"],
    }
    later = dict(fix, mmsi=[431999102], ts=[1_000_000_100_000], lat=[26.0])
    fed.feed_positions(pa.table(fix).cast(POSITION_SCHEMA))
    advanced.feed_positions(pa.table(fix).cast(POSITION_SCHEMA))
    fed.feed_positions(pa.table(later).cast(POSITION_SCHEMA))
    advanced.advance(1_000_000_100_000)
    assert advanced.stats.last_tick_ms == fed.stats.last_tick_ms == 1_000_000_090_000


def test_an_engine_following_some_entries_gives_exactly_their_events(mini: Mini) -> None:
    """The run-on's Engine.follow: the followed entries' events as an engine following all
    of them gives, and nothing of the others (screens still run for both)."""
    followed = {"belt-12nm-entry", "shadowing"}
    assert {e.rule_id for e in mini.oracle} > followed
    engine = mini.factory()
    engine.follow(followed)
    with TrackStore.open(mini.store, read_only=True) as store:
        events = final_events(run_store(store, engine))
    assert _by_id(events) == _by_id([e for e in mini.oracle if e.rule_id in followed])
    with pytest.raises(ValueError, match="no-such-rule"):
        engine.follow({"no-such-rule"})


def test_cli_ingest_archive_then_detect_archive_equals_the_store(
    mini: Mini, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from seabridge.cli import app

    runner = CliRunner()
    head = tmp_path / "head.nmea"
    with mini.nmea.open(encoding="ascii") as full:
        head.write_text("".join(line for _, line in zip(range(30_000), full, strict=False)))
    root, db = tmp_path / "archive", tmp_path / "tracks.duckdb"
    for target in (["--archive", str(root)], ["--db", str(db)]):
        result = runner.invoke(app, ["ingest", str(head), "--format", "nmea", "--json", *target])
        assert result.exit_code == 0, result.output
    from_archive = runner.invoke(app, ["detect", "--archive", str(root), "--engine", "local"])
    from_store = runner.invoke(app, ["detect", "--db", str(db)])
    assert from_archive.exit_code == 0, from_archive.output
    lines = sorted(from_archive.stdout.splitlines())
    assert lines and lines == sorted(from_store.stdout.splitlines())
    missing = runner.invoke(app, ["detect", "--archive", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2 and "no archive here" in missing.output
    bad = runner.invoke(app, ["detect", "--archive", str(root), "--engine", "spark"])
    assert bad.exit_code == 2 and "choose one of local, dask" in bad.output
