"""Canonical JSON (RFC 8785): the only bytes irkit ever signs or hashes as an entry.

The on-disk line of an entry *is* its canonical JSON. Because `sig` sorts after every other
top-level key, the signed bytes are the line with its final `,"sig":"..."` member cut out,
which lets an auditor rebuild them with `sed` and check them with `openssl`.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson
import rfc8785

SIG_FIELD = "sig"


def canonical_bytes(obj: Any) -> bytes:
    """RFC 8785 serialisation; raises ValueError for what JSON cannot carry exactly.

    Plain documents (dicts with str keys, lists, str, int, bool, None: no float, nothing
    beyond 2^53, no non-BMP character) go through orjson, whose sorted compact output is then
    byte-identical to RFC 8785 (tests/unit/test_canonical.py checks this against rfc8785 on
    random documents) and ten times faster: a folder collection's entry carries thousands
    of items. Everything else takes rfc8785 itself.
    """
    if _plain(obj):
        try:
            fast = orjson.dumps(obj, option=_ORJSON_CANONICAL)
        except TypeError:  # an integer beyond 2^53, a lone surrogate: rfc8785 decides
            pass
        else:
            if fast.isascii() or _NON_BMP.search(fast) is None:
                return fast
    try:
        return bytes(rfc8785.dumps(obj))
    except Exception as exc:  # rfc8785 raises its own error types
        raise ValueError(f"cannot canonicalise: {exc}") from exc


def signed_bytes(entry: dict[str, Any]) -> bytes:
    """The bytes a signature covers: the canonical entry without `sig`."""
    unsigned = {k: v for k, v in entry.items() if k != SIG_FIELD}
    return canonical_bytes(unsigned)


_SAFE_INT = 2**53 - 1


class _Inexact(Exception):
    """The fast path cannot decide: a float, a constant or an out-of-range integer."""


def _inexact(text: str) -> float:
    raise _Inexact(text)


def _safe_int(text: str) -> int:
    value = int(text)
    if -_SAFE_INT <= value <= _SAFE_INT:
        return value
    raise _Inexact(text)


# Built once: constructing a decoder per line costs as much as the comparison itself.
_FAST_DECODER = json.JSONDecoder(parse_float=_inexact, parse_int=_safe_int, parse_constant=_inexact)
_PLAIN_DECODER = json.JSONDecoder()
_FAST_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
_ORJSON_CANONICAL = orjson.OPT_SORT_KEYS | orjson.OPT_STRICT_INTEGER
# 4-byte UTF-8 sequences (non-BMP characters) sort differently under UTF-16 code units.
_NON_BMP = re.compile(rb"[\xf0-\xf4]")


def _plain(value: Any) -> bool:
    """Only the exact JSON types, floats excluded (subclasses such as IntEnum or a str
    subclass may serialise differently in the two libraries)."""
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is dict:
            for key in item:
                if type(key) is not str:
                    return False
            stack.extend(item.values())
        elif kind is list:
            stack.extend(item)
        elif kind is not str and kind is not int and kind is not bool and item is not None:
            return False
    return True


def has_float(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is dict:
            stack.extend(item.values())
        elif kind is list:
            stack.extend(item)
        elif kind is float:
            return True
    return False


def parse_fast(line: bytes) -> dict[str, Any] | None:
    """The object of `line` when orjson's sorted compact output reproduces it exactly.

    Canonical only once floats are ruled out (orjson and RFC 8785 spell some floats
    differently): the caller either scans with `has_float` or knows from a strict schema
    that none can occur. None means: use `parse_canonical`.
    """
    if line.isascii() or _NON_BMP.search(line) is None:
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError:
            return None
        if type(obj) is dict:
            try:
                fast = orjson.dumps(obj, option=_ORJSON_CANONICAL)
            except TypeError:
                return None  # an integer beyond 2^53
            if fast == line:
                return obj
    return None


def parse_canonical(line: bytes) -> tuple[dict[str, Any] | None, str | None]:
    """Parse one journal line and check that it is exactly its canonical form.

    Returns (object, None) or (object-or-None, problem). Verification runs this on every
    entry, so it tries orjson first: for objects without floats, without integers beyond
    2^53 and without non-BMP characters, orjson's sorted compact output is byte-identical to
    RFC 8785 (tests/unit/test_canonical.py checks this against rfc8785 on random documents).
    Anything else takes the exact path, which also names the problem.
    """
    obj = parse_fast(line)
    if obj is not None and not has_float(obj):
        return obj, None
    return _parse_exact(line)


def _parse_exact(line: bytes) -> tuple[dict[str, Any] | None, str | None]:
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return None, "line is not valid UTF-8"
    exact = False
    try:
        obj = _FAST_DECODER.decode(text)
    except _Inexact:
        exact = True
        try:
            obj = _PLAIN_DECODER.decode(text)
        except ValueError as exc:
            return None, f"line is not valid JSON ({exc.args[0].split(':')[0]})"
    except ValueError as exc:
        return None, f"line is not valid JSON ({exc.args[0].split(':')[0]})"
    if not isinstance(obj, dict):
        return None, "line is not a JSON object"
    try:
        _FAST_ENCODER.encode(obj).encode("utf-8")
    except UnicodeEncodeError:
        # a \ud800-style escape: valid JSON, but no Unicode text, and nothing can sign it
        return None, "line holds a lone surrogate escape (not Unicode text)"
    fast_path_valid = not exact and (line.isascii() or _NON_BMP.search(line) is None)
    if fast_path_valid and _FAST_ENCODER.encode(obj).encode("utf-8") == line:
        return obj, None
    try:
        if canonical_bytes(obj) == line:
            return obj, None
    except ValueError as exc:
        return obj, str(exc)
    return obj, "line is not in RFC 8785 canonical form"
