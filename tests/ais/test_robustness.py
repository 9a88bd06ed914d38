"""Property tests: corrupted input never raises and never loses the valid lines around it."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support import decode_lines

# Real type 1/3/18 sentences (gpsd sample.aivdm), each given its own tag-block time.
VALID = [
    b"!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A",
    b"!AIVDM,1,1,,A,16SteH0P00Jt63hHaa6SagvJ087r,0*42",
    b"!AIVDM,1,1,,A,38Id705000rRVJhE7cl9n;160000,0*40",
    b"!AIVDM,1,1,,A,B52K>;h00Fc>jpUlNV@ikwpUoP06,0*4C",
]
MULTIPART = [
    b"!AIVDM,2,1,1,A,55?MbV02;H;s<HtKR20EHE:0@T4@Dn2222222216L961O5Gf0NSQEp6ClRp8,0*1C",
    b"!AIVDM,2,2,1,A,88888888880,2*25",
]


def _tagged(sentence: bytes, second: int) -> bytes:
    body = f"s:test,c:{1_700_000_000 + second}".encode()
    check = 0
    for byte in body:
        check ^= byte
    return b"\\" + body + f"*{check:02X}".encode() + b"\\" + sentence


corruption = st.one_of(
    st.binary(max_size=120),
    st.tuples(st.sampled_from(VALID + MULTIPART), st.integers(0, 80), st.binary(max_size=4)).map(
        lambda t: t[0][: t[1]] + t[2] + t[0][t[1] + len(t[2]) :]
    ),
    st.tuples(st.sampled_from(VALID + MULTIPART), st.integers(0, 80)).map(lambda t: t[0][: t[1]]),
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    picks=st.lists(st.integers(0, len(VALID) - 1), min_size=1, max_size=12),
    bad=st.lists(st.tuples(st.integers(0, 12), corruption), max_size=6),
)
def test_corruption_never_raises_nor_loses_valid_lines(
    tmp_path: Path, picks: list[int], bad: list[tuple[int, bytes]]
) -> None:
    good = [_tagged(VALID[pick], index) for index, pick in enumerate(picks)]
    lines = list(good)
    for where, garbage in sorted(bad, reverse=True):
        lines.insert(min(where, len(lines)), garbage)
    decoded = decode_lines(lines, tmp_path)
    stored = {(row["mmsi"], row["ts"].timestamp()) for row in decoded.positions.to_pylist()}
    expected = decode_lines(good, tmp_path, source="clean")
    wanted = {(row["mmsi"], row["ts"].timestamp()) for row in expected.positions.to_pylist()}
    assert len(wanted) == len(good)
    assert wanted <= stored
    rejected = sum(decoded.summary.rejected.values())
    assert rejected + decoded.summary.messages >= len(good)
