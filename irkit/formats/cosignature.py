"""C2SP tlog-cosignature `cosignature/v1` (Ed25519) and signed-note verifier keys.

A cosignature is a signed-note signature line on a checkpoint:
    — <name> base64(key ID || u64 timestamp, big-endian || Ed25519 signature)
with key ID = SHA-256(name || 0x0A || 0x04 || 32-byte public key)[:4], over the message
    "cosignature/v1\\ntime <timestamp>\\n" || the checkpoint's whole note text.
The message does not commit to the name, so a key is recognised by (name, key ID) as the
signed-note rules say, and one key serves one cosigner only.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass

from irkit.errors import InputError
from irkit.formats.ed25519 import PublicKey, Signer, public_key_problem
from irkit.formats.signednote import ED25519_ALG, EM_DASH, NoteSignature

COSIGNATURE_ALG = b"\x04"
LOG_ALG = ED25519_ALG  # a log's own checkpoint signatures (signed-note Ed25519)
HEADER = b"cosignature/v1\n"
BLOB_LEN = 4 + 8 + 64
MAX_TIMESTAMP = 2**63 - 1
_NAME_RE = re.compile(r"^[^\s+]+$")


def key_id(name: str, public_raw: bytes) -> bytes:
    """The 4-byte key ID of an Ed25519 cosigner key (signature type 0x04)."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + COSIGNATURE_ALG + public_raw).digest()[:4]


def signed_message(body: bytes, timestamp: int) -> bytes:
    """What the cosigner signs: header line, time line, then the checkpoint text."""
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise ValueError("a cosignature timestamp is 0 .. 2^63-1")
    if not body.endswith(b"\n"):
        raise ValueError("a checkpoint's text ends with a newline")
    return HEADER + f"time {timestamp}\n".encode("ascii") + body


def sign(body: bytes, signer: Signer, name: str, timestamp: int) -> str:
    """One cosignature line (ending in a newline) over the checkpoint text `body`."""
    if not _NAME_RE.match(name):
        raise ValueError("a key name is non-empty, without spaces or '+'")
    if timestamp <= 0:
        raise ValueError("a witness's cosignature carries a non-zero time")
    sig = signer.sign(signed_message(body, timestamp))
    blob = key_id(name, signer.public.raw) + timestamp.to_bytes(8, "big") + sig
    return f"{EM_DASH} {name} {base64.b64encode(blob).decode('ascii')}\n"


@dataclass(frozen=True)
class Cosignature:
    name: str
    key_id: bytes
    timestamp: int
    signature: bytes


def decode(sig: NoteSignature) -> Cosignature | None:
    """The cosignature a note signature line carries, or None when it is not shaped as one
    (another signature type: signed-note verifiers ignore what they do not know)."""
    if len(sig.signature) != BLOB_LEN - 4:
        return None
    timestamp = int.from_bytes(sig.signature[:8], "big")
    if timestamp > MAX_TIMESTAMP:
        return None
    return Cosignature(sig.name, sig.key_id, timestamp, sig.signature[8:])


def by_key(sig: NoteSignature, key: PublicKey) -> bool:
    """Whether the line claims to be a cosignature by `key`: its key ID is that of `key`
    under the line's own name (the rule for recognising a known key)."""
    return sig.key_id == key_id(sig.name, key.raw)


def verify(body: bytes, sig: NoteSignature, key: PublicKey) -> int | None:
    """The timestamp of a valid cosignature by `key` on checkpoint text `body`, else None."""
    cosig = decode(sig)
    if cosig is None or not by_key(sig, key):
        return None
    if not key.verify(cosig.signature, signed_message(body, cosig.timestamp)):
        return None
    return cosig.timestamp


# -- verifier keys (signed-note "vkeys"): <name>+<hex key ID>+base64(type || public key) ------


def vkey(name: str, public_raw: bytes, alg: bytes = COSIGNATURE_ALG) -> str:
    """The verifier key text of an Ed25519 key: type 0x04 for a cosigner, 0x01 for a log."""
    if alg == COSIGNATURE_ALG:
        kid = key_id(name, public_raw)
    else:
        from irkit.formats.signednote import key_id as note_key_id

        kid = note_key_id(name, public_raw)
    return f"{name}+{kid.hex()}+{base64.b64encode(alg + public_raw).decode('ascii')}"


@dataclass(frozen=True)
class VerifierKey:
    name: str
    alg: bytes
    key: PublicKey


_VKEY_RE = re.compile(r"[^\s+]+\+[0-9a-f]{8}\+[A-Za-z0-9+/]+={0,2}")


def is_vkey(text: str) -> bool:
    """Whether `text` is written as a vkey (the base64 part may hold '+' itself)."""
    return _VKEY_RE.fullmatch(text.strip()) is not None


def parse_vkey(text: str) -> VerifierKey:
    """A vkey of an Ed25519 signer (type 0x01) or cosigner (0x04), checked whole: the key ID
    must be the one its name and key give, and the key must pass irkit's key checks."""
    parts = text.strip().split("+", 2)
    if (
        len(parts) != 3
        or not _NAME_RE.match(parts[0])
        or not re.fullmatch(r"[0-9a-f]{8}", parts[1])
    ):
        raise InputError("not a verifier key (NAME+<8 hex key ID>+<base64 key>)")
    try:
        raw = base64.b64decode(parts[2], validate=True)
    except ValueError as exc:
        raise InputError("verifier key: the key is not base64") from exc
    if len(raw) != 33 or raw[:1] not in (ED25519_ALG, COSIGNATURE_ALG):
        raise InputError("verifier key: not an Ed25519 (0x01) or cosignature/v1 (0x04) key")
    alg, public_raw = raw[:1], raw[1:]
    problem = public_key_problem(public_raw)
    if problem is not None:
        raise InputError(f"verifier key: {problem}")
    if vkey(parts[0], public_raw, alg) != text.strip():
        raise InputError("verifier key: its key ID does not match its name and key")
    return VerifierKey(parts[0], alg, PublicKey(public_raw))
