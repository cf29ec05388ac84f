"""Journal entries: how one is built and signed, and how a stored line is read back.

Field names are chosen so that `sig` sorts last in canonical JSON (actor, body, format, kind,
prev, recorded, seq, sig): the signed bytes are then the stored line minus its final member.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from irkit import FORMAT_VERSION
from irkit.canonical import signed_bytes
from irkit.journal import entry_hash
from irkit.keys import Signer

ENTRY_FIELDS = ("actor", "body", "format", "kind", "prev", "recorded", "seq", "sig")
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
