"""Canonical JSON: equal to RFC 8785 (package ``rfc8785``) on our subset (S11); strict parser."""

from __future__ import annotations

import json

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from seabridge.errors import MalformedError
from seabridge.hotline.canonical import MAX_DEPTH, MAX_INT, canonical_json, parse_canonical

ascii_keys = st.text(st.characters(codec="ascii"), max_size=8)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-MAX_INT, MAX_INT)
    | st.sampled_from([MAX_INT, -MAX_INT, 0, -1, 2**31, 10**15])
    | st.text(max_size=12)
    | st.text(st.characters(max_codepoint=0x7F), max_size=6)  # control characters and escapes
)


def _nest(inner: st.SearchStrategy[object], size: int) -> st.SearchStrategy[object]:
    arrays = st.lists(inner, max_size=size)
    return inner | arrays | st.dictionaries(ascii_keys, inner, max_size=size)


# Three levels of nesting composed by hand: st.recursive is ~4x slower to draw from, and S11
# wants 10,000 objects in a couple of seconds.
json_values = _nest(_nest(_nest(scalars, 3), 3), 2)
json_objects = st.dictionaries(ascii_keys, json_values, max_size=5)


S11_BATCH = 25
S11_EXAMPLES = 400  # x 25 values per example = 10,000 objects, without per-example overhead


@settings(max_examples=S11_EXAMPLES, deadline=None)
@given(st.lists(json_values, min_size=S11_BATCH, max_size=S11_BATCH))
def test_s11_equals_rfc8785_on_the_subset(values: list[object]) -> None:
    for value in values:
        assert canonical_json(value) == rfc8785.dumps(value)  # type: ignore[arg-type]


def test_s11_covers_ten_thousand_objects() -> None:
    assert S11_BATCH * S11_EXAMPLES >= 10_000


@settings(max_examples=200, deadline=None)
@given(json_objects)
def test_parse_round_trip(value: dict[str, object]) -> None:
    data = canonical_json(value)
    assert parse_canonical(data) == value


def test_known_encodings() -> None:
    assert canonical_json({"b": 1, "a": [True, None, "é\n\x01"]}) == (
        '{"a":[true,null,"é\\n\\u0001"],"b":1}'.encode()
    )
    assert canonical_json("\u2028/\x7f") == '"\u2028/\x7f"'.encode()
    assert canonical_json((1, 2)) == b"[1,2]"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (1.0, "floats"),
        ({"a": [0.5]}, r"\$\.a\[0\]: floats"),
        (float("nan"), "floats"),
        (MAX_INT + 1, "outside"),
        (-MAX_INT - 1, "outside"),
        ({"é": 1}, "not ASCII"),
        ({1: 1}, "not a string"),
        ("\ud800", "surrogate"),
        (b"bytes", "bytes is not a JSON value"),
        ({1, 2}, "set is not a JSON value"),
    ],
)
def test_rejects_values_outside_the_subset(value: object, reason: str) -> None:
    with pytest.raises(MalformedError, match=reason):
        canonical_json(value)


def test_depth_limit() -> None:
    deep: object = []
    for _ in range(MAX_DEPTH):
        deep = [deep]
    with pytest.raises(MalformedError, match="deeper"):
        canonical_json(deep)
    with pytest.raises(MalformedError, match="deeper"):
        parse_canonical(b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b'{"a":1, "b":2}', "canonical"),
        (b' {"a":1}', "canonical"),
        (b'{"a":1}\n', "canonical"),
        (b'{"b":1,"a":2}', "canonical"),
        (b'{"a":"\\u0041"}', "canonical"),
        (b'{"a":"\\/"}', "canonical"),
        (b'{"a":1e0}', "floats"),
        (b'{"a":1.0}', "floats"),
        (b'{"a":-0}', "canonical"),
        (b'{"a":NaN}', "NaN"),
        (b'{"a":Infinity}', "Infinity"),
        (b'{"a":1,"a":1}', "duplicate key 'a'"),
        (b'{"a":9007199254740992}', "outside"),
        (b'{"\xc3\xa9":1}', "not ASCII"),
        (b'{"a":"\xff"}', "not UTF-8 at byte 6"),
        (b'\xef\xbb\xbf{"a":1}', "not JSON"),
        (b'{"a":"\\ud800"}', "surrogate"),
        (b"[1]", "object is expected"),
        (b"", "not JSON"),
        (b'{"a":1', "not JSON"),
        (b'{"a":' + b"9" * 5000 + b"}", "not JSON"),
    ],
)
def test_parse_rejects_non_canonical_bytes(data: bytes, reason: str) -> None:
    with pytest.raises(MalformedError, match=reason):
        parse_canonical(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64) | json_objects.map(lambda v: json.dumps(v).encode()))
def test_parse_only_ever_raises_malformed(data: bytes) -> None:
    try:
        value = parse_canonical(data)
    except MalformedError:
        return
    assert canonical_json(value) == data
