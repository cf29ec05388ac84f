"""Canonical-form checks that a mutation run showed untested (bench/mutation.py).

The fast paths (orjson, json's sorted encoder) sort keys by code point; RFC 8785 sorts by
UTF-16 code units, so they may only vouch for lines without non-BMP characters. A line in
code-point order that differs from RFC 8785 must never pass. The problems are pinned
exactly: they are what `irkit verify` prints.
"""

from __future__ import annotations

import pytest

from irkit.formats.canonical import canonical_bytes, parse_canonical, parse_fast

# U+FB01 sorts before U+1F600 by code point, after it by UTF-16 code units (D83D < FB01)
CODE_POINT_ORDER = '{"\ufb01":1,"\U0001f600":2}'.encode()
FLOAT_CODE_POINT_ORDER = '{"\ufb01":1.5,"\U0001f600":2}'.encode()


def test_a_code_point_ordered_line_with_non_bmp_keys_is_not_canonical() -> None:
    doc = {"\ufb01": 1, "\U0001f600": 2}
    assert canonical_bytes(doc) != CODE_POINT_ORDER  # RFC 8785 puts U+1F600 first
    assert parse_fast(CODE_POINT_ORDER) is None
    assert parse_canonical(CODE_POINT_ORDER) == (doc, "line is not in RFC 8785 canonical form")
    assert parse_canonical(canonical_bytes(doc)) == (doc, None)


def test_the_exact_path_does_not_trust_code_point_order_either() -> None:
    # a float keeps the line off the orjson path: the exact path alone decides
    obj, problem = parse_canonical(FLOAT_CODE_POINT_ORDER)
    assert obj == {"\ufb01": 1.5, "\U0001f600": 2}
    assert problem == "line is not in RFC 8785 canonical form"


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (b"\xff{}", "line is not valid UTF-8"),
        (b"[1]", "line is not a JSON object"),
        (b'{"a":', "line is not valid JSON (Expecting value)"),
        # a float first sends the parse to the second decoder, which names the error too
        (
            b'{"a":1.5,',
            "line is not valid JSON (Expecting property name enclosed in double quotes)",
        ),
        (b'{"a":"\\ud800"}', "line holds a lone surrogate escape (not Unicode text)"),
    ],
)
def test_problems_are_named_exactly(line: bytes, problem: str) -> None:
    assert parse_canonical(line)[1] == problem
