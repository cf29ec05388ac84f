"""Reading a JSON document someone handed irkit: one loader, one line on any defect.

Python's json accepts what JSON does not (NaN, Infinity), keeps the last of two equal keys
(so what a checksum covered and what a reader sees can differ) and raises RecursionError,
not ValueError, for deep nesting, which then surfaces as a traceback wherever a caller
only caught ValueError. `loads` refuses all three and anything nested deeper than
MAX_DEPTH (irkit's own documents are a few levels deep; code that walks a document may
recurse), raising InputError. The stdlib parser, not orjson: only it reports duplicates.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from irkit.errors import InputError

MAX_DEPTH = 64
# a JSON string (the document already parsed, so every one is closed): linear to skip
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_INNERMOST = re.compile(rb"\{\}|\[\]")


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise ValueError(f"duplicate key {key!r}")
            seen.add(key)
    return out


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if value in (math.inf, -math.inf):
        raise ValueError(f"number {text[:40]} is out of range")
    return value


def _passes(brackets: bytes) -> int:
    """Passes that each remove the innermost bracket pairs until none is left (the depth),
    or MAX_DEPTH + 1 when that many do not suffice."""
    level = 0
    while brackets and level <= MAX_DEPTH:
        brackets = _INNERMOST.sub(b"", brackets)
        level += 1
    return level


def depth(data: bytes) -> int:
    """Nesting depth of the valid JSON document DATA, capped at MAX_DEPTH + 1. Brackets
    inside strings are first counted too (a fast upper bound: a few C-speed passes); only
    when that bound is too deep are the strings taken out and the count made exact."""
    bound = _passes(data.translate(None, _NOT_BRACKET))
    if bound <= MAX_DEPTH:
        return bound
    return _passes(_STRING.sub(b"", data).translate(None, _NOT_BRACKET))


def loads(data: bytes | str, *, what: str = "document") -> Any:
    """Parse DATA as strict JSON; InputError naming WHAT for any defect."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    too_deep = InputError(f"{what} is nested too deeply (more than {MAX_DEPTH} levels)")
    try:
        doc = json.loads(
            raw, object_pairs_hook=_unique, parse_constant=_constant, parse_float=_finite
        )
    except RecursionError as exc:
        raise too_deep from exc
    except ValueError as exc:  # also UnicodeDecodeError
        raise InputError(f"{what} is not valid JSON: {exc}") from exc
    if depth(raw) > MAX_DEPTH:  # after parsing: every string is closed, the scan is linear
        raise too_deep
    if b"\\u" in raw:
        try:  # a \ud800-style escape is valid JSON but no text: refused like bad UTF-8
            json.dumps(doc, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InputError(f"{what} holds a lone surrogate escape (not Unicode text)") from exc
    return doc
