"""Salted commitments for confidential text: a redacted report proves what it withholds
without letting its reader confirm a guess.

An entry marked `confidential` carries `salt` (16 bytes, base64url, no padding) in its signed
body. Each confidential field gets its own salt, HMAC-SHA256(salt, field name), and a
redacted report prints SHA-256(field salt || UTF-8 text) instead of the text. Without the
salt (which no report prints) a guess cannot be checked; whoever holds the journal can
disclose one field's salt and text, and anyone can then check that commitment, without
learning anything about the entry's other fields.

The salt is derived, not drawn: the first 16 bytes of SHA-256 over the signer's Ed25519
signature (deterministic, RFC 8032) of a domain-separated message naming the entry's
position and body. Only the private key's holder can compute it, so it is as unpredictable
to a reader as a random one, and fixed keys and clocks still give byte-identical journals.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any, Protocol

from irkit.formats.canonical import canonical_bytes

REDACTED = "[REDACTED]"
PREFIX = "commit:"
SALT_PATTERN = r"^[A-Za-z0-9_-]{22}$"  # 16 bytes, base64url without padding
_DOMAIN = b"irkit redaction salt v1\x00"


class _Signs(Protocol):
    def sign(self, message: bytes) -> bytes: ...


def entry_salt(signer: _Signs, seq: int, prev: str, kind: str, body: dict[str, Any]) -> str:
    """The salt a confidential entry at `seq` after `prev` carries (see the module doc)."""
    message = _DOMAIN + canonical_bytes({"seq": seq, "prev": prev, "kind": kind, "body": body})
    digest = hashlib.sha256(signer.sign(message)).digest()[:16]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def field_salt(salt: str, field: str) -> bytes:
    """One field's own salt: disclosing it proves that field and nothing else."""
    raw = base64.urlsafe_b64decode(salt + "=" * (-len(salt) % 4))
    return hmac.new(raw, field.encode(), hashlib.sha256).digest()


def commitment(salt: str, field: str, text: str) -> str:
    """SHA-256(field salt || text), lowercase hex."""
    return hashlib.sha256(field_salt(salt, field) + text.encode()).hexdigest()


def withheld(text: str, salt: object, field: str) -> str:
    """What a redacted report shows instead of `text`.

    An entry written before salts existed has none: its text is withheld with no digest at
    all (an unsalted digest would let a reader confirm a guess); its entry number, shown
    next to it, is what a holder of the journal points at.
    """
    if isinstance(salt, str) and salt:
        return f"{REDACTED} {PREFIX}{commitment(salt, field, text)}"
    return f"{REDACTED} (older entry without salt: no digest shown)"


def salted(signer: _Signs, seq: int, prev: str, kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """`body` with a salt when it is marked confidential and has none yet."""
    if body.get("confidential") is not True or "salt" in body:
        return body
    return {**body, "salt": entry_salt(signer, seq, prev, kind, body)}
