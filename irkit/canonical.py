"""Canonical JSON (RFC 8785): the only bytes irkit ever signs or hashes as an entry.

The on-disk line of an entry *is* its canonical JSON. Because `sig` sorts after every other
top-level key, the signed bytes are the line with its final `,"sig":"..."` member cut out,
which lets an auditor rebuild them with `sed` and check them with `openssl`.
"""

from __future__ import annotations

import json
import re
from typing import Any

import rfc8785

SIG_FIELD = "sig"


def canonical_bytes(obj: Any) -> bytes:
    """RFC 8785 serialisation; raises ValueError for what JSON cannot carry exactly."""
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
# 4-byte UTF-8 sequences (non-BMP characters) sort differently under UTF-16 code units.
_NON_BMP = re.compile(rb"[\xf0-\xf4]")


def parse_canonical(line: bytes) -> tuple[dict[str, Any] | None, str | None]:
    """Parse one journal line and check that it is exactly its canonical form.

    Returns (object, None) or (object-or-None, problem). The fast path compares with the C
    json encoder, which equals RFC 8785 output for objects without floats and without
    non-BMP characters; anything else falls back to the exact rfc8785 serialiser.
    """
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
    fast_path_valid = not exact and (line.isascii() or _NON_BMP.search(line) is None)
    if fast_path_valid and _FAST_ENCODER.encode(obj).encode("utf-8") == line:
        return obj, None
    try:
        if canonical_bytes(obj) == line:
            return obj, None
    except ValueError as exc:
        return obj, str(exc)
    return obj, "line is not in RFC 8785 canonical form"
