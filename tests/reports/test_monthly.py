"""The monthly report's numbers against the hand-made node of report_kit (worked by hand).

Positions (report_kit.POSITIONS), by belt and UTC day of May 2026:

- 12 nm belt: CCG_SHIP on 1 May (two fixes: one vessel-day) and 2 May; JCG_SHIP on 2 May.
  CN: 2 days, 2 vessel-days; JP: 1 day, 1 vessel-day; all flags: 2 days, 3 vessel-days.
- 12-24 nm belt: CN_FISHER on 1 and 2 May (its 40 nm fix is outside), CCG_SHIP on 3 May.
  CN: 3 days, 3 vessel-days. JP_FISHER is only outside; CCG_APRIL is in April.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from report_kit import (
    BELT_12,
    BELT_24,
    FEATURES,
    ZONES,
    at_nm,
    build_node,
    statics_table,
)
from typer.testing import CliRunner

from seabridge.cli import app
from seabridge.errors import ConfigError
from seabridge.node.events import read_events
from seabridge.reports.monthly import MonthlyReport, compute_monthly, numbers_json, write_monthly
from seabridge.reports.monthly_data import TrackSource, month_period
from seabridge.reports.pdf import find_chromium
from seabridge.tracks import TrackStore

MAY = month_period("2026-05")


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_node(tmp_path_factory.mktemp("report"))


def _report(node: Path, source: TrackSource) -> MonthlyReport:
    return compute_monthly(
        source, ZONES, read_events(node / "events.jsonl"), node / "state.sqlite",
        party="jcg", period=MAY, pack="ecs v1",
    )  # fmt: skip


@pytest.fixture(scope="module")
def report(node: Path) -> MonthlyReport:
    with TrackStore.open(node / "tracks.duckdb", read_only=True) as store:
        return _report(node, TrackSource.from_store(store))


def test_the_kit_places_its_positions_where_the_arithmetic_says() -> None:
    for distance, expected in ((5.0, {BELT_12}), (18.0, {BELT_24}), (40.0, set())):
        lat, lon = at_nm(distance)
        inside = set(ZONES.zones_containing([lat], [lon])[0]) & {BELT_12, BELT_24}
        assert inside == expected, distance


def test_vessel_days_in_the_form_of_the_jcg_counts(report: MonthlyReport) -> None:
    # Nearest belt first, as the JCG lists them (territorial sea, then contiguous zone).
    assert report.table("belt_days_jcg").rows == (
        (BELT_12, "*", 2, 3),
        (BELT_12, "CN", 2, 2),
        (BELT_12, "JP", 1, 1),
        (BELT_24, "*", 3, 3),
        (BELT_24, "CN", 3, 3),
    )


def test_vessel_days_by_flag_and_ship_type(report: MonthlyReport) -> None:
    assert report.table("belt_presence").rows == (
        (BELT_12, "CN", "government", 2, 2, 1),
        (BELT_12, "JP", "government", 1, 1, 1),
        (BELT_24, "CN", "fishing", 2, 2, 1),
        (BELT_24, "CN", "government", 1, 1, 1),
    )
    daily = report.table("daily_presence").rows
    assert (BELT_12, "2026-05-02", "CN", 1) in daily and (BELT_12, "2026-05-02", "JP", 1) in daily
    assert sum(row[3] for row in daily) == 6


def test_entries_and_events_count_each_event_once_in_its_final_state(
    report: MonthlyReport,
) -> None:
    assert report.table("zone_entries").rows == ((BELT_12, "CN", 1), (BELT_12, "JP", 1))
    # cq-a ends at level 2 (update), cq-b level 2; cq-c retracted; cq-april in April.
    assert report.table("event_counts").rows == (
        ("ais_gap", 1, 2, 45.0),  # 30 and 60 min
        ("close_quarters", 2, 2, None),
        ("encounter", 1, 1, 120.0),
    )


def test_incidents_times_to_acknowledgement_and_resolution(report: MonthlyReport) -> None:
    times = report.table("incident_times").dicts()
    assert [(t["ack_min"], t["resolve_min"], t["escalated"]) for t in times] == [
        (5.0, 35.0, False),
        (None, None, False),
    ]
    assert report.table("incident_summary").dicts() == [
        {
            "opened": 2,
            "acknowledged": 1,
            "resolved": 1,
            "escalated": 0,
            "median_ack_min": 5.0,
            "p95_ack_min": 5.0,
            "median_resolve_min": 35.0,
            "p95_resolve_min": 35.0,
        }
    ]


def test_hotline_delivery(report: MonthlyReport) -> None:
    # 3 sent; receipts after 2 s and 4 s (median 3, nearest-rank p95 4); 2 with a deadline,
    # the first acked at +62 s of 10 min, the second at +124 s of 60 s (late).
    assert report.table("hotline_delivery").rows == (("ccg", 3, 2, 3.0, 4.0, 2, 1),)


def test_the_numbers_file_traces_every_table_and_is_deterministic(
    node: Path, report: MonthlyReport
) -> None:
    text = numbers_json(report)
    document = json.loads(text)
    for name, table in document["tables"].items():
        assert table["query"] == f"seabridge.reports.monthly_data.{name}"
    head = document["headline"]
    assert head["territorial_sea_belt.vessel_days"]["value"] == 3
    assert head["entries_12nm"]["value"] == 2
    assert head["hotline_sent"]["value"] == 3
    with TrackStore.open(node / "tracks.duckdb", read_only=True) as store:
        assert numbers_json(_report(node, TrackSource.from_store(store))) == text


def test_the_archive_gives_the_same_numbers_as_the_store(
    node: Path, report: MonthlyReport, tmp_path: Path
) -> None:
    archive = tmp_path / "archive"
    with TrackStore.open(node / "tracks.duckdb", read_only=True) as store:
        store.export_parquet(archive)
    pq.write_table(statics_table(), archive / "_statics.parquet")
    source = TrackSource.from_archive(archive)
    try:
        from_archive = _report(node, source)
    finally:
        source.con.close()
    assert dict(from_archive.tables) == dict(report.tables)


def test_the_month_defaults_to_the_newest_position(node: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["report", "monthly", "--node", str(node), "--out", str(out), "--no-pdf"]
    )
    assert result.exit_code == 0, result.output
    document = json.loads((out / "monthly-2026-05.json").read_text("utf-8"))
    assert document["tables"]["belt_days_jcg"]["rows"][0] == [BELT_12, "*", 2, 3]
    assert (out / "monthly-2026-05.html").is_file()
    assert (
        (out / "monthly-2026-05.belt_presence.csv")
        .read_text("utf-8")
        .startswith("belt,flag,type_group,days,vessel_days,vessels\n")
    )
    assert not (out / "monthly-2026-05.pdf").exists()


def test_a_bad_month_or_language_exits_2(node: Path) -> None:
    for argv in (["--month", "May"], ["--lang", "fr"]):
        result = CliRunner().invoke(app, ["report", "monthly", "--node", str(node), *argv])
        assert result.exit_code == 2, result.output


# --- the PDF ------------------------------------------------------------------------------


def _pdf_tools() -> str:
    chromium = find_chromium()
    if chromium is None:
        pytest.skip("the PDF tests need Debian's chromium (apt-get install chromium)")
    if shutil.which("pdftotext") is None:
        pytest.skip("the PDF tests read PDFs with pdftotext (apt-get install poppler-utils)")
    from seabridge.reports.fonts import fonts_dir

    try:
        fonts_dir()
    except ConfigError as exc:
        pytest.skip(f"the report web fonts are missing: {exc}")
    return chromium


@pytest.mark.slow
@pytest.mark.parametrize(
    ("lang", "title"),
    [("en", "Monthly transparency report"), ("ja", "月次透明性報告"), ("zh", "月度透明度报告")],
)
def test_the_pdf_renders_with_its_title_and_headline_numbers(
    node: Path, report: MonthlyReport, tmp_path: Path, lang: str, title: str
) -> None:
    _pdf_tools()
    with TrackStore.open(node / "tracks.duckdb", read_only=True) as store:
        files = write_monthly(
            report, tmp_path, lang, source=TrackSource.from_store(store), zones=ZONES,
            features=FEATURES, generated="2026-06-01T00:00:00Z",
        )  # fmt: skip
    assert files.pdf is not None
    text = subprocess.run(
        ["pdftotext", "-layout", str(files.pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    # CJK in the extracted text proves the glyphs are embedded (no CJK system fonts here).
    assert title in text
    assert "魚釣島" in text and "钓鱼岛" in text  # every name of the disputed feature
    for number in ("3", "2", "ccg"):
        assert number in text
    assert "2026-05" in text
