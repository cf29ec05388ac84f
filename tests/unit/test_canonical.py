"""The one canonical serialiser, and the byte-level cut that verification relies on."""

from __future__ import annotations

import json
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from irkit.formats.canonical import canonical_bytes, parse_canonical, signed_bytes
from irkit.record.entry import build_line, split_signature
from tests.conftest import seeded_signer

SIGNER = seeded_signer("alice")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(body=st.dictionaries(st.text(max_size=10), json_values, max_size=5))
def test_signed_bytes_equal_the_line_without_its_sig(body: dict[str, object]) -> None:
    line = build_line(
        SIGNER,
        seq=3,
        prev="sha256:" + "0" * 64,
        kind="note.added",
        body=body,
        recorded="2026-01-01T00:00:00.000000Z",
    )
    obj, problem = parse_canonical(line)
    assert problem is None and obj is not None
    assert line == rfc8785.dumps(obj)  # the line built from the signed bytes is canonical
    cut = split_signature(line)
    assert cut is not None
    assert cut[0] == signed_bytes(obj)
    assert SIGNER.public.verify(cut[1], cut[0])


@settings(max_examples=1500, deadline=None)
@given(value=json_values)
def test_fast_canonical_check_agrees_with_rfc8785(value: object) -> None:
    doc = {"k": value}
    exact = canonical_bytes(doc)
    assert parse_canonical(exact) == (doc, None)
    loose = json.dumps(doc, indent=1).encode()
    if loose != exact:
        assert parse_canonical(loose)[1] is not None


wild_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**54), 2**54)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(codec=None, min_codepoint=0))  # non-BMP and lone surrogates too
    | st.sampled_from(["\U0001f600", "\uffff", "\ud800", "\u2028", "\x00\x1f\x7f"]),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.text(max_size=4) | st.sampled_from(["\U00010000", "\uffff"]), children, max_size=4
        )
    ),
    max_leaves=12,
)


@settings(max_examples=2000, deadline=None)
@given(value=wild_values)
def test_canonical_bytes_is_rfc8785_byte_for_byte(value: object) -> None:
    """The orjson fast path must never change a signed byte: rfc8785 itself is the oracle."""
    doc = {"k": value, "\U00010000" if isinstance(value, int) else "z": [value]}
    try:
        expected: bytes | None = rfc8785.dumps(doc)  # type: ignore[arg-type]
    except Exception:  # noqa: BLE001 -- rfc8785's own error types
        expected = None
    if expected is None:
        with pytest.raises(ValueError):
            canonical_bytes(doc)
    else:
        assert canonical_bytes(doc) == expected


def test_canonical_bytes_fast_path_edges() -> None:
    import enum

    class Level(enum.IntEnum):
        HIGH = 3

    class Name(str):
        pass

    docs: list[Any] = [
        {"n": 2**53 - 1, "m": -(2**53) + 1},
        {"s": '\x00\x08\t\n\x0b\x0c\r\x1f"\\/\x7f\u2028\u00e9'},
        {"\uffff": 1, "\U00010000": 2},
        {"level": Level.HIGH, "name": Name("x")},
        {"t": [[[[[]]]]], "e": {}, "b": [True, False, None]},
    ]
    for doc in docs:
        assert canonical_bytes(doc) == rfc8785.dumps(doc)
    for bad in ({"n": 2**53}, {"s": "\ud800"}, {1: "x"}, {"f": float("nan")}):
        with pytest.raises(ValueError):
            canonical_bytes(bad)


@pytest.mark.parametrize(
    "line,needle",
    [
        (b'{"a":1.0}', "canonical"),
        (b'{"a":1e2}', "canonical"),
        (b'{"b":1,"a":2}', "canonical"),
        (b'{"a": 1}', "canonical"),
        (b'{"a":"\\u0041"}', "canonical"),
        (b'{"a":9007199254740993}', "safe integer"),
        (b'{"a":NaN}', "canonicalise"),
        (b'{"a":1,"a":2}', "canonical"),
        (b"[1]", "not a JSON object"),
        (b"\xff", "UTF-8"),
        (b'{"a":', "JSON"),
    ],
)
def test_non_canonical_lines_are_named(line: bytes, needle: str) -> None:
    _, problem = parse_canonical(line)
    assert problem is not None and needle in problem


def test_rfc8785_key_order_is_utf16() -> None:
    # RFC 8785 3.2.3 sorts by UTF-16 code units: U+10000 (surrogate D800) sorts before U+FFFF
    doc = {"\U00010000": 1, "\uffff": 2}
    line = canonical_bytes(doc)
    assert line.index("\U00010000".encode()) < line.index("\uffff".encode())
    assert parse_canonical(line) == (doc, None)


def test_fast_path_escaping_matches_rfc8785_for_every_ascii_and_special_char() -> None:
    specials = "".join(chr(c) for c in range(0x80)) + "\u2028\u2029\ufeff\u00e9\u20ac\uffff"
    doc = {"s": specials, "k\u00e9y": [specials[::-1], {"n": -(2**53) + 1}]}
    exact = canonical_bytes(doc)
    assert parse_canonical(exact) == (doc, None)


@pytest.mark.parametrize("line", [b'{"a":2.5}', b'{"a":[1,{"b":1e400}]}', b'{"a":-0.0}'])
def test_floats_never_pass_as_canonical_by_accident(line: bytes) -> None:
    obj, problem = parse_canonical(line)
    if problem is None:  # then it must really be RFC 8785 output
        assert canonical_bytes(obj) == line
