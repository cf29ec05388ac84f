"""Canonical JSON (RFC 8785): the only bytes irkit ever signs or hashes as an entry.

The on-disk line of an entry *is* its canonical JSON. Because `sig` sorts after every other
top-level key, the signed bytes are the line with its final `,"sig":"..."` member cut out,
which lets an auditor rebuild them with `sed` and check them with `openssl`.
"""

from __future__ import annotations

import json
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


def _reject_float(text: str) -> float:
    raise _FloatSeen(text)


def _reject_constant(text: str) -> float:
    raise _FloatSeen(text)


def _safe_int(text: str) -> int:
    value = int(text)
    if -_SAFE_INT <= value <= _SAFE_INT:
        return value
    raise _FloatSeen(text)


class _FloatSeen(Exception):
    pass


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
        obj = json.loads(
            text, parse_float=_reject_float, parse_int=_safe_int, parse_constant=_reject_constant
        )
    except _FloatSeen:
        exact = True
        try:
            obj = json.loads(text)
        except ValueError as exc:
            return None, f"line is not valid JSON ({exc.args[0].split(':')[0]})"
    except ValueError as exc:
        return None, f"line is not valid JSON ({exc.args[0].split(':')[0]})"
    if not isinstance(obj, dict):
        return None, "line is not a JSON object"
    if not exact and max(line, default=0) < 0xF0:
        fast = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        if fast.encode("utf-8") == line:
            return obj, None
    try:
        if canonical_bytes(obj) == line:
            return obj, None
    except ValueError as exc:
        return obj, str(exc)
    return obj, "line is not in RFC 8785 canonical form"
