"""CSV archives: DMA and NOAA MarineCadastre headers, values, bad rows and line numbers.

The fixtures are written by the tests. Headers are the documented ones (see the module
docstring of seabridge.ais.csvfmt for their sources); the rows imitate the published files.
"""

from __future__ import annotations

import gzip
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seabridge.ais import _csvlines
from seabridge.ais.csvfmt import read_csv_archive, sniff_csv_format
from seabridge.ais.mid import is_valid_mmsi
from seabridge.ais.quarantine import Quarantine
from seabridge.ais.records import POSITION_SCHEMA, STATIC_SCHEMA
from seabridge.ais.summary import IngestSummary
from seabridge.errors import FormatError, SourceError

DMA_HEADER = (
    "# Timestamp,Type of mobile,MMSI,Latitude,Longitude,Navigational status,ROT,SOG,COG,"
    "Heading,IMO,Callsign,Name,Ship type,Cargo type,Width,Length,"
    "Type of position fixing device,Draught,Destination,ETA,Data source type,A,B,C,D"
)
NOAA_2015_HEADER = (
    "MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName,IMO,CallSign,VesselType,Status,"
    "Length,Width,Draft,Cargo"
)
NOAA_2021_HEADER = NOAA_2015_HEADER + ",TransceiverClass"
NOAA_2025_HEADER = (
    "mmsi,base_date_time,longitude,latitude,sog,cog,heading,vessel_name,imo,call_sign,"
    "vessel_type,status,length,width,draft,cargo,transceiver"
)


def dma_row(
    ts: str = "18/03/2023 00:00:00",
    mobile: str = "Class A",
    mmsi: str = "219012345",
    lat: str = "55.6761",
    lon: str = "12.5683",
    status: str = "Under way using engine",
    sog: str = "12.3",
    cog: str = "87.5",
    heading: str = "88",
    imo: str = "Unknown",
    callsign: str = "",
    name: str = "",
    ship_type: str = "Undefined",
    width: str = "",
    length: str = "",
    destination: str = "",
    dims: tuple[str, str, str, str] = ("", "", "", ""),
) -> str:
    fields = [ts, mobile, mmsi, lat, lon, status, "0.0", sog, cog, heading, imo, callsign]
    fields += [name, ship_type, "", width, length, "GPS", "", destination, "", "AIS", *dims]
    return ",".join(fields)


def noaa_2015_row(
    mmsi: str = "366123456",
    ts: str = "2017-01-01T00:00:01",
    lat: str = "37.80",
    lon: str = "-122.40",
    sog: str = "10.5",
    cog: str = "162.0",
    heading: str = "511.0",
    name: str = "SEABRIDGE ONE",
    imo: str = "IMO9321483",
    callsign: str = "WDA1234",
    vessel_type: str = "70",
    status: str = "0",
    length: str = "200",
    width: str = "30",
) -> str:
    fields = [mmsi, ts, lat, lon, sog, cog, heading, name, imo, callsign, vessel_type, status]
    return ",".join([*fields, length, width, "10.0", "70"])


def noaa_2025_row(
    mmsi: str = "367000001",
    ts: str = "2025-01-01 00:00:00",
    lat: str = "29.7",
    lon: str = "-90.0",
    sog: str = "8.0",
    cog: str = "90.0",
    heading: str = "91",
    name: str = "GULF RUNNER",
    imo: str = "",
    callsign: str = "WDB1234",
    vessel_type: str = "31",
    status: str = "",
    length: str = "20",
    width: str = "8",
    transceiver: str = "A",
) -> str:
    fields = [mmsi, ts, lon, lat, sog, cog, heading, name, imo, callsign, vessel_type]
    return ",".join([*fields, status, length, width, "3.3", "", transceiver])


@dataclass
class Result:
    positions: pa.Table
    statics: pa.Table
    summary: IngestSummary
    rejects: list[dict[str, object]]
    batches: list[tuple[pa.RecordBatch, pa.RecordBatch]]

    def rejected(self, reason: str) -> list[int]:
        return [int(str(r["line"])) for r in self.rejects if r["reason"] == reason]


def write(path: Path, lines: list[str], *, newline: str = "\n") -> Path:
    path.write_bytes((newline.join(lines) + newline).encode())
    return path


def read(path: Path, fmt: str, tmp_path: Path, batch_rows: int = 65536) -> Result:
    quarantine_path = tmp_path / f"{path.name}.quarantine.jsonl"
    quarantine_path.unlink(missing_ok=True)
    quarantine = Quarantine(quarantine_path)
    summary = IngestSummary(rejected=quarantine.counts)
    batches = list(
        read_csv_archive(
            path,
            fmt,
            source=path.name,
            quarantine=quarantine,
            summary=summary,
            batch_rows=batch_rows,
        )
    )
    quarantine.close()
    rejects = []
    if quarantine_path.exists():
        rejects = [json.loads(line) for line in quarantine_path.read_text().splitlines()]
    positions = pa.Table.from_batches([p for p, _ in batches], schema=POSITION_SCHEMA)
    statics = pa.Table.from_batches([s for _, s in batches], schema=STATIC_SCHEMA)
    return Result(positions, statics, summary, rejects, batches)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


# --- sniffing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (DMA_HEADER, "dma-csv"),
        (DMA_HEADER + "\r\n", "dma-csv"),
        ("\ufeff" + DMA_HEADER, "dma-csv"),
        (DMA_HEADER.split(",A,B,C,D")[0], "dma-csv"),  # files before the A-D columns
        (NOAA_2015_HEADER, "noaa-csv"),
        (NOAA_2021_HEADER + "\n", "noaa-csv"),
        (NOAA_2025_HEADER, "noaa-csv"),
        ("!AIVDM,1,1,,A,13@oLv@P1s0qR7`Onro3JjhuP000,0*75", None),
        ("mmsi,lat,lon", None),
        ("", None),
        ("18/03/2023 00:00:00,Class A,219012345,55.6,12.5", None),
    ],
)
def test_sniff(line: str, expected: str | None) -> None:
    assert sniff_csv_format(line) == expected


# --- DMA --------------------------------------------------------------------------------


def test_dma_values_round_trip(tmp_path: Path) -> None:
    lines = [
        DMA_HEADER,
        dma_row(),
        dma_row(
            ts="18/03/2023 00:00:05",
            mmsi="219472000",
            lat="91",
            lon="0",
            status="Unknown value",
            sog="",
            cog="",
            heading="",
            imo="9686429",
            callsign="OWMI2",
            name="GUARDVESSEL ADVANCER",
            ship_type="Other",
            width="8",
            length="23",
            destination="GUARD VESSEL FEMARN",
            dims=("16", "7", "5", "3"),
        ),
        dma_row(
            ts="18/03/2023 00:00:07",
            mobile="Class B",
            mmsi="431000001",
            status="Moored",
            sog="102.3",
            cog="360",
            heading="511",
        ),
        dma_row(mobile="Base Station", mmsi="2190064", status="Unknown value", sog="", cog=""),
    ]
    result = read(write(tmp_path / "aisdk.csv", lines), "dma-csv", tmp_path)
    positions = result.positions.to_pylist()
    assert [p["mmsi"] for p in positions] == [219012345, 431000001, 2190064]
    first, class_b, base = positions
    assert first["ts"] == utc(2023, 3, 18)
    assert (first["lat"], first["lon"]) == (55.6761, 12.5683)
    assert first["sog_kn"] == pytest.approx(12.3)
    assert first["cog_deg"] == pytest.approx(87.5)
    assert first["heading_deg"] == 88.0
    assert (first["nav_status"], first["msg_type"], first["source"]) == (0, 1, "aisdk.csv")
    assert math.isnan(class_b["sog_kn"]) and math.isnan(class_b["cog_deg"])
    assert math.isnan(class_b["heading_deg"])
    assert (class_b["nav_status"], class_b["msg_type"]) == (5, 18)
    assert (base["msg_type"], base["nav_status"]) == (4, -1)

    # the lat-91 row is a static message, not a rejected position
    assert result.rejects == []
    assert result.statics.to_pylist() == [
        {
            "mmsi": 219472000,
            "ts": utc(2023, 3, 18, 0, 0, 5),
            "msg_type": 5,
            "imo": 9686429,
            "callsign": "OWMI2",
            "name": "GUARDVESSEL ADVANCER",
            "ship_type": 90,
            "dim_bow_m": 16,
            "dim_stern_m": 7,
            "dim_port_m": 5,
            "dim_starboard_m": 3,
            "destination": "GUARD VESSEL FEMARN",
            "flag": "DK",
            "source": "aisdk.csv",
        }
    ]
    assert (result.summary.lines, result.summary.messages) == (4, 4)
    assert (result.summary.positions, result.summary.statics) == (3, 1)
    # the lat-91 row is counted as what it is, a type 5 message from a Class A station
    assert result.summary.types == {1: 1, 5: 1, 18: 1, 4: 1}


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Cargo", 70),
        ("Tanker", 80),
        ("Fishing", 30),
        ("Passenger", 60),
        ("Tug", 52),
        ("Pleasure", 37),
        ("Law enforcement", 55),
        ("HSC", 40),
        ("Undefined", None),
        ("Something new", None),
    ],
)
def test_dma_ship_type_text(tmp_path: Path, text: str, code: int | None) -> None:
    row = dma_row(name="X", ship_type=text)
    result = read(write(tmp_path / "s.csv", [DMA_HEADER, row]), "dma-csv", tmp_path)
    assert result.statics.column("ship_type").to_pylist() == [code]


def test_dma_without_dimension_columns_uses_length_and_width(tmp_path: Path) -> None:
    header = DMA_HEADER.split(",A,B,C,D")[0]
    row = dma_row(name="OLD FORMAT", width="12", length="99").rsplit(",", 4)[0]
    result = read(write(tmp_path / "old.csv", [header, row]), "dma-csv", tmp_path)
    static = result.statics.to_pylist()[0]
    dims = [static[k] for k in ("dim_bow_m", "dim_stern_m", "dim_port_m", "dim_starboard_m")]
    assert dims == [0, 99, 0, 12]
    assert result.positions.num_rows == 1


# --- NOAA -------------------------------------------------------------------------------


def test_noaa_2015_values_and_static_changes(tmp_path: Path) -> None:
    lines = [
        NOAA_2015_HEADER,
        noaa_2015_row(),
        noaa_2015_row(ts="2017-01-01T00:01:01", lat="37.81"),  # same statics: none emitted
        noaa_2015_row(ts="2017-01-01T00:02:01", name="SEABRIDGE 1"),  # renamed: emitted
        noaa_2015_row(mmsi="412000001", imo="", status="under way sailing", vessel_type="1001"),
    ]
    result = read(write(tmp_path / "AIS_2017_01_01.csv", lines), "noaa-csv", tmp_path)
    positions = result.positions.to_pylist()
    assert len(positions) == 4
    assert positions[0]["ts"] == utc(2017, 1, 1, 0, 0, 1)
    assert (positions[0]["lat"], positions[0]["lon"]) == (37.8, -122.4)
    assert math.isnan(positions[0]["heading_deg"])
    assert positions[0]["msg_type"] == 0  # the 2015 layout has no transceiver class
    assert positions[3]["nav_status"] == 8
    statics = result.statics.to_pylist()
    assert [(s["mmsi"], s["name"]) for s in statics] == [
        (366123456, "SEABRIDGE ONE"),
        (366123456, "SEABRIDGE 1"),
        (412000001, "SEABRIDGE ONE"),
    ]
    first = statics[0]
    assert (first["imo"], first["callsign"], first["ship_type"]) == (9321483, "WDA1234", 70)
    dims = [first[k] for k in ("dim_bow_m", "dim_stern_m", "dim_port_m", "dim_starboard_m")]
    assert dims == [0, 200, 0, 30]
    assert (first["flag"], first["msg_type"], first["destination"]) == ("US", 0, None)
    assert (statics[2]["flag"], statics[2]["imo"], statics[2]["ship_type"]) == ("CN", None, None)


def test_noaa_2021_transceiver_class(tmp_path: Path) -> None:
    lines = [NOAA_2021_HEADER, noaa_2015_row() + ",A", noaa_2015_row(mmsi="338000001") + ",B"]
    result = read(write(tmp_path / "AIS_2021_06_21.csv", lines), "noaa-csv", tmp_path)
    assert result.positions.column("msg_type").to_pylist() == [1, 18]
    assert result.statics.column("msg_type").to_pylist() == [5, 24]


def test_noaa_2025_layout(tmp_path: Path) -> None:
    lines = [
        NOAA_2025_HEADER,
        noaa_2025_row(),
        noaa_2025_row(ts="2025-01-01 00:00:10", sog="", cog="", heading="", status="15"),
        noaa_2025_row(mmsi="367000002", transceiver="B", status="7", length="", width=""),
    ]
    result = read(write(tmp_path / "ais-2025-01-01.csv", lines), "noaa-csv", tmp_path)
    positions = result.positions.to_pylist()
    assert [(p["lat"], p["lon"]) for p in positions] == [(29.7, -90.0)] * 3
    assert positions[1]["ts"] == utc(2025, 1, 1, 0, 0, 10)
    assert math.isnan(positions[1]["sog_kn"]) and math.isnan(positions[1]["heading_deg"])
    assert [p["nav_status"] for p in positions] == [-1, -1, 7]
    assert [p["msg_type"] for p in positions] == [1, 1, 18]
    statics = result.statics.to_pylist()
    assert [s["mmsi"] for s in statics] == [367000001, 367000002]
    assert statics[0]["ship_type"] == 31 and statics[0]["dim_stern_m"] == 20
    assert statics[1]["dim_stern_m"] is None and statics[1]["msg_type"] == 24


def test_quoted_fields(tmp_path: Path) -> None:
    lines = [NOAA_2025_HEADER, noaa_2025_row(name='"SMITH, JONES"'), noaa_2025_row(name='"A""B"')]
    result = read(write(tmp_path / "q.csv", lines), "noaa-csv", tmp_path)
    assert result.statics.column("name").to_pylist() == ["SMITH, JONES", 'A"B']
    assert result.rejects == []


# --- bad rows ---------------------------------------------------------------------------


def test_bad_rows_are_quarantined_with_line_numbers(tmp_path: Path) -> None:
    lines = [
        NOAA_2025_HEADER,  # 1
        noaa_2025_row(),  # 2
        "367000001,2025-01-01 00:00:01,-90.0",  # 3: too few columns
        noaa_2025_row(ts="yesterday"),  # 4: unparseable time
        noaa_2025_row(ts=""),  # 5: no time
        noaa_2025_row(lat="north"),  # 6: non-numeric
        noaa_2025_row(mmsi="12345678901"),  # 7: not 9 digits
        noaa_2025_row(mmsi="ABC"),  # 8
        noaa_2025_row(lat="91", lon="181"),  # 9: not available
        noaa_2025_row(lat="0", lon="0"),  # 10: (0, 0)
        noaa_2025_row(lat="-95"),  # 11: out of range
        noaa_2025_row() + ",extra",  # 12: too many columns
        "",  # 13: blank, skipped
        noaa_2025_row(ts="2025-02-30 00:00:00"),  # 14: impossible date
        noaa_2025_row(ts="2025-01-01 00:00:02", sog="fast"),  # 15
        noaa_2025_row(ts="2025-01-01 00:00:03"),  # 16
    ]
    result = read(write(tmp_path / "bad.csv", lines, newline="\r\n"), "noaa-csv", tmp_path)
    assert result.rejected("bad_row") == [3, 4, 6, 12, 14, 15]
    assert result.rejected("no_timestamp") == [5]
    assert result.rejected("invalid_mmsi") == [7, 8]
    assert result.rejected("invalid_position") == [9, 10, 11]
    all_lines = [int(str(r["line"])) for r in result.rejects]
    assert all_lines == sorted(all_lines)  # the quarantine is written in line order
    by_line = {r["line"]: r for r in result.rejects}
    assert by_line[3]["raw"] == "367000001,2025-01-01 00:00:01,-90.0"
    assert by_line[3]["source"] == "bad.csv"
    assert result.positions.column("ts").to_pylist() == [
        utc(2025, 1, 1),
        utc(2025, 1, 1, 0, 0, 3),
    ]
    # 14 data rows (not the blank line); messages are the rows that parsed: 2 and 16, and
    # 9-11, whose positions are unusable, as a decoded NMEA message with such a position is
    assert (result.summary.lines, result.summary.messages) == (14, 5)
    assert sum(result.summary.types.values()) == result.summary.messages
    assert result.summary.rejected == {
        "bad_row": 6,
        "no_timestamp": 1,
        "invalid_mmsi": 2,
        "invalid_position": 3,
    }
    # invalid positions still carry the vessel's static data (one record: it never changes)
    assert result.statics.num_rows == 1


@pytest.mark.parametrize(
    ("mmsi", "valid"),
    [
        ("0", False),
        ("1", False),
        ("999999", False),
        ("2009999", False),  # 002009999: a coast station with MID 200, which is never allocated
        ("2010000", True),  # 002010000: the smallest coast station MMSI (MID 201)
        ("2190064", True),  # DMA writes coast station 002190064 without its zeros
        ("002190064", True),
        ("111431001", True),  # SAR aircraft
        ("999999999", True),
        ("1000000000", False),
        ("12345678901", False),
        ("-1", False),
        ("4.31e8", False),
    ],
)
def test_mmsi_rule_is_the_shared_one(tmp_path: Path, mmsi: str, valid: bool) -> None:
    path = write(tmp_path / "m.csv", [NOAA_2025_HEADER, noaa_2025_row(mmsi=mmsi)])
    result = read(path, "noaa-csv", tmp_path)
    assert result.rejected("invalid_mmsi") == ([] if valid else [2])
    assert result.positions.num_rows == int(valid)
    assert result.summary.messages == int(valid)
    if valid:
        assert is_valid_mmsi(result.positions.column("mmsi")[0].as_py())


def test_odd_bytes_take_the_line_by_line_path(tmp_path: Path) -> None:
    header = NOAA_2025_HEADER.encode()
    good = noaa_2025_row().encode()
    latin1 = noaa_2025_row(mmsi="367000009", name="SK\xc6RGAARD").encode("latin-1")
    data = b"\n".join([header, good, b"not,a,row", latin1, b'"unclosed,quote', good]) + b"\n"
    path = tmp_path / "odd.csv"
    path.write_bytes(data)
    result = read(path, "noaa-csv", tmp_path)
    assert result.rejected("bad_row") == [3, 5]
    assert result.positions.num_rows == 3
    assert result.statics.column("name").to_pylist() == ["GULF RUNNER", "SK\ufffdRGAARD"]


def test_line_by_line_path_agrees_with_the_fast_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = [DMA_HEADER, dma_row(), "x,y", "", dma_row(ts="bad"), dma_row(lat="91", lon="181")]
    lines += [dma_row(mmsi="431000001", name='"MARU, NO 1"', dims=("1", "2", "3", "4"))]
    path = write(tmp_path / "same.csv", lines)
    fast = read(path, "dma-csv", tmp_path)
    # the fallback is private; forcing it is the only way to compare the two parsers
    monkeypatch.setattr(_csvlines, "_parse_fast", lambda *args: False)
    slow = read(path, "dma-csv", tmp_path)
    assert fast.rejects == slow.rejects and len(fast.rejects) == 3
    assert fast.positions.equals(slow.positions) and fast.statics.equals(slow.statics)
    assert fast.statics.column("name").to_pylist() == ["MARU, NO 1"]


def test_gzip_gives_the_same_records(tmp_path: Path) -> None:
    lines = [DMA_HEADER, dma_row(), "broken", dma_row(mmsi="431000001", name="MARU")]
    plain = write(tmp_path / "aisdk.csv", lines)
    zipped = tmp_path / "aisdk.csv.gz"
    zipped.write_bytes(gzip.compress(plain.read_bytes()))
    a, b = read(plain, "dma-csv", tmp_path), read(zipped, "dma-csv", tmp_path)
    assert a.positions.equals(b.positions.set_column(9, "source", a.positions.column(9)))
    assert b.positions.num_rows == 2 and b.statics.column("flag").to_pylist() == ["JP"]
    assert [r["line"] for r in b.rejects] == [3]


def test_many_blocks_keep_line_numbers_and_static_state(tmp_path: Path) -> None:
    lines = [NOAA_2025_HEADER]
    bad_lines = []
    for i in range(3000):  # about 300 kB: several 64 KiB blocks
        if i % 97 == 5:
            lines.append(f"garbage {i}")
            bad_lines.append(len(lines))
        else:
            ts = f"2025-01-01 {i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}"
            lines.append(noaa_2025_row(mmsi=f"36700{i % 5:04d}", ts=ts))
    result = read(write(tmp_path / "big.csv", lines), "noaa-csv", tmp_path, batch_rows=500)
    assert result.rejected("bad_row") == bad_lines
    assert result.positions.num_rows == 3000 - len(bad_lines)
    assert result.statics.num_rows == 5  # one per MMSI across all blocks
    assert all(p.num_rows <= 500 and s.num_rows <= 500 for p, s in result.batches)
    assert len(result.batches) > 6


_good = st.builds(
    lambda i: noaa_2025_row(mmsi=f"3670{i:05d}", ts=f"2025-01-01 00:00:{i % 60:02d}"),
    st.integers(0, 99_999),
)
_bad = st.sampled_from(
    [
        "x,y",
        noaa_2025_row() + ",1",
        '"quoted, comma",1,2',
        noaa_2025_row(ts="2025-13-01 00:00:00"),
        noaa_2025_row(heading="north"),
        noaa_2025_row(mmsi="-1"),
        noaa_2025_row(lat="nan"),
        noaa_2025_row(mmsi="36700\udcff01"),  # invalid UTF-8 in the MMSI
    ]
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.tuples(st.booleans(), _good, _bad), min_size=1, max_size=40))
def test_every_line_is_accounted_for(tmp_path: Path, rows: list[tuple[bool, str, str]]) -> None:
    lines = [NOAA_2025_HEADER] + [good if ok else bad for ok, good, bad in rows]
    path = tmp_path / "prop.csv"
    path.write_bytes("\n".join(lines).encode("utf-8", "surrogateescape"))  # no final newline
    result = read(path, "noaa-csv", tmp_path)
    expected_bad = [n + 2 for n, (ok, _, _) in enumerate(rows) if not ok]
    assert sorted(int(str(r["line"])) for r in result.rejects) == expected_bad
    assert result.positions.num_rows == len(rows) - len(expected_bad)
    assert result.summary.lines == len(rows)
    # a rejected row is not a message, unless it parsed and only its position is unusable
    unparsed = [r for r in result.rejects if r["reason"] != "invalid_position"]
    assert result.summary.messages == len(rows) - len(unparsed)
    assert sum(result.summary.types.values()) == result.summary.messages


# --- unusable files ---------------------------------------------------------------------


def test_missing_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"nowhere\.csv"):
        read(tmp_path / "nowhere.csv", "dma-csv", tmp_path)


def test_unknown_header(tmp_path: Path) -> None:
    path = write(tmp_path / "other.csv", ["time,ship,x,y", "1,2,3,4"])
    with pytest.raises(FormatError, match=r"other\.csv"):
        read(path, "dma-csv", tmp_path)


def test_forced_format_must_match(tmp_path: Path) -> None:
    path = write(tmp_path / "dma.csv", [DMA_HEADER, dma_row()])
    with pytest.raises(FormatError, match="not the forced format noaa-csv"):
        read(path, "noaa-csv", tmp_path)
    with pytest.raises(FormatError, match="unknown CSV format"):
        read(path, "nmea", tmp_path)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(FormatError, match="empty"):
        read(path, "noaa-csv", tmp_path)


def test_header_only(tmp_path: Path) -> None:
    result = read(write(tmp_path / "h.csv", [NOAA_2021_HEADER]), "noaa-csv", tmp_path)
    assert result.batches == [] and result.summary.lines == 0


def test_corrupt_gzip_raises_source_error(tmp_path: Path) -> None:
    body = "\n".join([DMA_HEADER] + [dma_row()] * 2000).encode()
    data = gzip.compress(body)
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(SourceError, match=r"cut\.csv\.gz"):
        read(path, "dma-csv", tmp_path)
