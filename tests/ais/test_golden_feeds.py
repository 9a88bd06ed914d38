"""Real feeds with odd framing and errors (../shared/data/ais: GFW ais-tools, libais, pyais).

Each bad case must be counted under the right reason with its line number, and every good
line around it must still be decoded.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from seabridge.units import iso_to_ms, ms_to_iso
from support import decode_file

START_MS = iso_to_ms("2024-01-01T00:00:00Z")


def _rejects(decoded: object) -> list[tuple[int, str]]:
    return [(r["line"], r["reason"]) for r in decoded.rejects]  # type: ignore[attr-defined]


@pytest.fixture
def gfw(shared_data: Path) -> Path:
    return shared_data / "ais" / "gfw-ais-tools"


def test_gfw_errors_bad_checksums_counted_good_lines_kept(gfw: Path, tmp_path: Path) -> None:
    decoded = decode_file(gfw / "errors.nmea", tmp_path)
    assert _rejects(decoded) == [(2, "bad_checksum"), (4, "bad_checksum")]
    assert decoded.summary.positions == 3
    assert decoded.positions["ts"].to_pylist()[0].timestamp() == 1699401684


def test_gfw_concatenated_type5_and_bare_payload_lines(gfw: Path, tmp_path: Path) -> None:
    decoded = decode_file(gfw / "bad-type5.nmea", tmp_path)
    # Lines 1-3: two tag-blocked fragments concatenated per line -> one type 5 each.
    # Lines 5-7: bare payloads with no sentence around them.
    assert decoded.statics.num_rows == 3
    assert _rejects(decoded) == [(5, "bad_framing"), (6, "bad_framing"), (7, "bad_framing")]
    assert decoded.statics["ts"].to_pylist()[0].timestamp() == 1698785948


def test_gfw_tag_block_groups_assemble_with_inherited_station(gfw: Path, tmp_path: Path) -> None:
    decoded = decode_file(gfw / "ee-multiline.nmea", tmp_path)
    assert decoded.rejects == []
    assert decoded.summary.types[5] == 2
    assert decoded.summary.positions == 6
    # The group's second sentence has no c:; the message takes the first one's time.
    times = {ms_to_iso(int(t.timestamp() * 1000)) for t in decoded.statics["ts"].to_pylist()}
    assert times == {"2022-08-29T14:12:49Z", "2022-08-29T14:14:18Z"}


def test_gfw_malformed_group_field_still_decodes(gfw: Path, tmp_path: Path) -> None:
    decoded = decode_file(gfw / "bad-tagblock-group.nmea", tmp_path)
    assert decoded.rejects == []
    assert decoded.summary.types == {21: 1}


def test_gfw_spire_concatenated_fragments_with_and_without_group(gfw: Path, tmp_path: Path) -> None:
    decoded = decode_file(gfw / "spire-test.nmea", tmp_path)
    assert decoded.rejects == []
    assert decoded.summary.types == {5: 2}


def test_gfw_millisecond_c_and_stray_character(gfw: Path, tmp_path: Path) -> None:
    decoded = decode_file(gfw / "sample.nmea", tmp_path)
    assert decoded.rejects == []
    assert decoded.summary.messages == 3
    assert decoded.positions["ts"].to_pylist()[0].timestamp() == pytest.approx(1599239526.5)


def test_gfw_single_sentence_type5_with_wrong_checksum(gfw: Path, tmp_path: Path) -> None:
    decoded = decode_file(gfw / "single-message-type-5.nmea", tmp_path)
    assert _rejects(decoded) == [(1, "bad_checksum")]


def test_gfw_long_payloads_still_decode(gfw: Path, tmp_path: Path) -> None:
    decoded = decode_file(gfw / "type1-bad-bitcount.nmea", tmp_path)
    assert decoded.rejects == []
    assert decoded.summary.positions == 12


@pytest.mark.parametrize("name", ["mixed_types.nmea", "multi-part.nmea", "type8.nmea"])
def test_gfw_untimed_files_need_start(gfw: Path, tmp_path: Path, name: str) -> None:
    lines = [ln for ln in (gfw / name).read_bytes().splitlines() if ln.strip()]
    without = decode_file(gfw / name, tmp_path)
    assert without.summary.messages == 0
    assert without.summary.rejected["no_timestamp"] == len(lines)
    with_start = decode_file(gfw / name, tmp_path, start_ms=START_MS)
    assert "no_timestamp" not in with_start.summary.rejected
    assert with_start.summary.messages > 0


def test_libais_tag_blocks_match_expected_json(shared_data: Path, tmp_path: Path) -> None:
    folder = shared_data / "ais" / "libais"
    decoded = decode_file(folder / "tagblock.nmea", tmp_path)
    assert decoded.rejects == []
    expected = [json.loads(line) for line in (folder / "tagblock.json").read_text().splitlines()]
    for record in expected:
        stamp = iso_to_ms(record["tagblock_timestamp"].replace(".000000", ""))
        if record["type"] == 5:
            (static,) = decoded.statics.to_pylist()
            assert static["callsign"] == record["callsign"]
            assert static["ts"].timestamp() * 1000 == stamp
            continue
        ours = [r for r in decoded.positions.to_pylist() if r["ts"].timestamp() * 1000 == stamp]
        assert len(ours) == 1
        assert ours[0]["lat"] == pytest.approx(record["lat"], abs=2e-5)
        assert ours[0]["lon"] == pytest.approx(record["lon"], abs=2e-5)
    assert decoded.summary.positions == len(expected) - 1  # every report but the type 5


def test_libais_uscg_trailers_give_times(shared_data: Path, tmp_path: Path) -> None:
    folder = shared_data / "ais" / "libais"
    decoded = decode_file(folder / "typeexamples.nmea", tmp_path)
    assert decoded.summary.messages == 26
    assert "no_timestamp" not in decoded.summary.rejected
    expected = [
        json.loads(line) for line in (folder / "typeexamples.json").read_text().splitlines()
    ]
    stored = {(r["msg_type"], r["mmsi"]): r for r in decoded.positions.to_pylist()}
    compared = 0
    for record in expected:
        key = (record["type"], record["mmsi"])
        if key in stored:
            assert stored[key]["lat"] == pytest.approx(record["lat"], abs=1e-4)
            assert stored[key]["lon"] == pytest.approx(record["lon"], abs=1e-4)
            compared += 1
    assert compared == len(stored) == decoded.summary.positions


def test_libais_uscg_log_unknown_types_are_unsupported(shared_data: Path, tmp_path: Path) -> None:
    decoded = decode_file(shared_data / "ais" / "libais" / "test.aivdm", tmp_path)
    unsupported = [r for r in decoded.rejects if r["reason"] == "unsupported_type"]
    # Payloads starting with L, K, ... are message ids above 27, which M.1371 does not define.
    assert unsupported
    assert all(str(r["raw"])[14] > "K" or str(r["raw"])[14] < "1" for r in unsupported)
    assert decoded.summary.messages > 100


def test_pyais_gatehouse_wrappers_time_the_next_sentence(shared_data: Path, tmp_path: Path) -> None:
    decoded = decode_file(shared_data / "ais" / "pyais" / "timestamped.ais", tmp_path)
    # Sentences right after a $PGHP wrapper take its time; the others have none.
    assert decoded.summary.positions == 2
    assert decoded.positions["ts"].to_pylist()[0].year in (2008, 2009)
    assert decoded.summary.rejected["no_timestamp"] == 2


def test_pyais_marinetraffic_empty_payloads(shared_data: Path, tmp_path: Path) -> None:
    path = shared_data / "ais" / "pyais" / "nmea_data_sample.txt"
    decoded = decode_file(path, tmp_path, start_ms=START_MS)
    empty = [r for r in decoded.rejects if r["reason"] == "undecodable"]
    assert empty and all(",," in str(r["raw"]) for r in empty)
    assert decoded.summary.messages > 600
