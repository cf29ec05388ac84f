"""Checkpoints as C2SP signed notes (tlog-checkpoint over signed-note).

Body: origin line, tree size in decimal, base64 Merkle root, each ending in a newline.
Signature line: U+2014 EM DASH, space, key name, space, base64(key ID || Ed25519 signature),
where key ID = first 4 bytes of SHA-256(name || 0x0A || 0x01 || 32-byte public key) and the
signature covers the body bytes. irkit names a key by its fingerprint (`ed25519:<hex>`).
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass

from irkit.errors import InputError
from irkit.formats.ed25519 import PublicKey, Signer

EM_DASH = "\u2014"
ED25519_ALG = b"\x01"
_NAME_RE = re.compile(r"^[^\s+]+\Z")


def key_id(name: str, public_raw: bytes) -> bytes:
    return hashlib.sha256(name.encode("utf-8") + b"\n" + ED25519_ALG + public_raw).digest()[:4]


@dataclass(frozen=True)
class NoteSignature:
    name: str
    key_id: bytes
    signature: bytes


@dataclass(frozen=True)
class SignedNote:
    text: bytes  # the signed body, ending in a newline
    signatures: tuple[NoteSignature, ...]


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def body(self) -> bytes:
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode("ascii")]
        lines.extend(self.extensions)
        return ("\n".join(lines) + "\n").encode("utf-8")


def sign_note(text: bytes, signer: Signer, name: str | None = None) -> bytes:
    """Append a signature line; irkit names its keys by fingerprint unless told otherwise."""
    if not text.endswith(b"\n"):
        raise ValueError("a note's text ends with a newline")
    name = name or signer.fingerprint
    if not _NAME_RE.match(name):
        raise ValueError("a key name is non-empty, without spaces or '+'")
    blob = key_id(name, signer.public.raw) + signer.sign(text)
    line = f"{EM_DASH} {name} {base64.b64encode(blob).decode('ascii')}\n"
    return text + b"\n" + line.encode("utf-8")


def signature_line(sig: NoteSignature) -> str:
    """The text of one signature line, newline included (as parse_note read it)."""
    blob = base64.b64encode(sig.key_id + sig.signature).decode("ascii")
    return f"{EM_DASH} {sig.name} {blob}\n"


def parse_note(data: bytes) -> SignedNote:
    try:
        decoded = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError("signed note is not UTF-8") from exc
    split = decoded.rfind("\n\n")
    if split < 0 or not decoded.endswith("\n"):
        raise InputError("not a signed note: no blank line before the signatures")
    text = decoded[: split + 1]
    if any((ord(c) < 0x20 and c != "\n") or c == "\x7f" for c in decoded):
        raise InputError("signed note contains control characters")
    sigs: list[NoteSignature] = []
    for raw_line in decoded[split + 2 :].splitlines():
        parts = raw_line.split(" ")
        if len(parts) != 3 or parts[0] != EM_DASH or not _NAME_RE.match(parts[1]):
            raise InputError(f"malformed signature line: {raw_line[:60]!r}")
        try:
            blob = base64.b64decode(parts[2], validate=True)
        except ValueError as exc:
            raise InputError("signature line is not base64") from exc
        if len(blob) < 5:
            raise InputError("signature line too short")
        sigs.append(NoteSignature(parts[1], blob[:4], blob[4:]))
    if not sigs:
        raise InputError("signed note carries no signature")
    return SignedNote(text.encode("utf-8"), tuple(sigs))


def parse_checkpoint(text: bytes) -> Checkpoint:
    lines = text.decode("utf-8").split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise InputError("checkpoint body needs origin, size and root lines")
    origin, size_text, root_text = lines[0], lines[1], lines[2]
    if not origin or not re.fullmatch(r"[0-9]{1,19}", size_text):
        raise InputError("checkpoint has a malformed origin or size")
    if size_text != str(int(size_text)):
        raise InputError("checkpoint size has leading zeros")
    try:
        root = base64.b64decode(root_text, validate=True)
    except ValueError as exc:
        raise InputError("checkpoint root is not base64") from exc
    if len(root) != 32:
        raise InputError("checkpoint root is not a SHA-256 hash")
    return Checkpoint(origin, int(size_text), root, tuple(lines[3:-1]))


def verify_note(note: SignedNote, keys: dict[str, PublicKey]) -> list[str]:
    """Fingerprints (names) of the keys in `keys` whose signatures on `note` verify."""
    good: list[str] = []
    for sig in note.signatures:
        key = keys.get(sig.name)
        if key is None or key_id(sig.name, key.raw) != sig.key_id:
            continue
        if key.verify(sig.signature, note.text):
            good.append(sig.name)
    return good
