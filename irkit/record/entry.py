"""Journal entries: how one is built and signed, and how a stored line is read back.

Field names are chosen so that `sig` sorts last in canonical JSON (actor, body, format, kind,
prev, recorded, seq, sig): the signed bytes are then the stored line minus its final member.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from irkit import FORMAT_VERSION
from irkit.formats.canonical import signed_bytes
from irkit.formats.ed25519 import Signer
from irkit.formats.timefmt import is_utc_stamp
from irkit.record import kinds
from irkit.record.journal import entry_hash

ENTRY_FIELDS = ("actor", "body", "format", "kind", "prev", "recorded", "seq", "sig")
_FIELD_SET = frozenset(ENTRY_FIELDS)
_SIG_MARKER = b',"sig":"'
SIG_B64_LEN = 88  # base64 of 64 bytes


@dataclass(slots=True)
class Entry:
    """A complete entry as read from the journal; `line` is the stored bytes, never rebuilt.

    Treat it as read-only. (Not a frozen dataclass only because verification builds one per
    journal line and frozen initialisation costs several times more.)
    """

    seq: int
    recorded: str
    kind: str
    actor: str
    prev: str
    body: dict[str, Any]
    sig: str
    line: bytes

    @property
    def hash(self) -> str:
        return entry_hash(self.line)

    @classmethod
    def from_obj(cls, obj: dict[str, Any], line: bytes) -> Entry:
        return cls(
            seq=obj["seq"],
            recorded=obj["recorded"],
            kind=obj["kind"],
            actor=obj["actor"],
            prev=obj["prev"],
            body=obj["body"],
            sig=obj["sig"],
            line=line,
        )

    @classmethod
    def validated(cls, obj: dict[str, Any], line: bytes) -> Entry:
        """The entry of a parsed line once its envelope and its body have the shapes
        docs/FORMAT.md states (the kind's body model); ValueError naming what is wrong.

        The one validating parse every reader shares (`Case.read_entries`), so that no fold,
        listing or report ever meets a body that is a list or a seq that is a string. No
        signature or chain check: that is `verify`'s job.
        """
        if obj.keys() != _FIELD_SET:
            missing = sorted(_FIELD_SET - obj.keys())
            raise ValueError(f"fields missing {missing}" if missing else "unexpected fields")
        seq, kind, body = obj["seq"], obj["kind"], obj["body"]
        if type(seq) is not int or seq < 0:
            raise ValueError("seq is not a non-negative integer")
        for name in ("recorded", "kind", "actor", "prev", "sig"):
            if type(obj[name]) is not str:
                raise ValueError(f"{name} is not a string")
        if type(body) is not dict:
            raise ValueError("body is not an object")
        if type(obj["format"]) is not int:
            raise ValueError("format is not an integer")
        if not is_utc_stamp(obj["recorded"]) or not "1970" <= obj["recorded"][:4] <= "9998":
            raise ValueError("recorded is not a UTC time from 1970 to 9998")
        if not kinds.known(kind):
            raise ValueError(f"unknown entry kind {kind!r}")
        try:
            kinds.validator(kind)(body)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "body"
            raise ValueError(f"{kind} body: {where}: {first['msg']}") from None
        return cls(seq, obj["recorded"], kind, obj["actor"], obj["prev"], body, obj["sig"], line)

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "recorded": self.recorded,
            "kind": self.kind,
            "actor": self.actor,
            "prev": self.prev,
            "hash": self.hash,
            "body": self.body,
            "sig": self.sig,
        }


def build_line(
    signer: Signer, *, seq: int, prev: str, kind: str, body: dict[str, Any], recorded: str
) -> bytes:
    """Sign a new entry and return its stored line (canonical JSON, no newline)."""
    entry: dict[str, Any] = {
        "actor": signer.fingerprint,
        "body": body,
        "format": FORMAT_VERSION,
        "kind": kind,
        "prev": prev,
        "recorded": recorded,
        "seq": seq,
    }
    signed = signed_bytes(entry)
    # `sig` sorts after every other top-level key, so the canonical line is the signed bytes
    # with the member added before the closing brace (split_signature's inverse): the body
    # is serialised once, not twice.
    return signed[:-1] + _SIG_MARKER + base64.b64encode(signer.sign(signed)) + b'"}'


def split_signature(line: bytes) -> tuple[bytes, bytes] | None:
    """(signed bytes, raw signature) cut from a stored line, or None if it has no sig member.

    This is the byte-level twin of `signed_bytes` for canonical lines; verification uses it so
    that it checks exactly what is stored.
    """
    tail = len(_SIG_MARKER) + SIG_B64_LEN + 2
    if len(line) < tail or not line.endswith(b'"}'):
        return None
    start = len(line) - tail
    if line[start : start + len(_SIG_MARKER)] != _SIG_MARKER:
        return None
    encoded = line[start + len(_SIG_MARKER) : -2]
    try:
        signature = base64.b64decode(encoded, validate=True)
    except ValueError:
        return None
    # base64 leaves two unused bits in the last character: insist on the one canonical
    # spelling so that no stored byte can change without verification noticing.
    if len(signature) != 64 or base64.b64encode(signature) != encoded:
        return None
    return line[:start] + b"}", signature


def actor_of(line: bytes) -> str | None:
    """The actor fingerprint read from its fixed place at the start of a canonical line."""
    prefix = b'{"actor":"'
    if not line.startswith(prefix):
        return None
    end = line.find(b'"', len(prefix))
    if end < 0:
        return None
    return line[len(prefix) : end].decode("ascii", "replace")
