"""Ed25519 identities: public keys, signers, fingerprints, and the checks every
key passes where it enters (canonical, on the curve, not of small order).

Pure: no files. Key files (passphrase-protected seeds) are irkit.record.keyfiles.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from irkit.errors import InputError, KeyFileError

FINGERPRINT_PREFIX = "ed25519:"


def fingerprint_of(public_raw: bytes) -> str:
    """`ed25519:` + hex SHA-256 of the 32 raw public key bytes."""
    if len(public_raw) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes")
    return FINGERPRINT_PREFIX + hashlib.sha256(public_raw).hexdigest()


_FINGERPRINT_RE = re.compile(r"ed25519:[0-9a-f]{64}")


def is_fingerprint(text: str) -> bool:
    return _FINGERPRINT_RE.fullmatch(text) is not None


def b64e(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64d(text: str, *, what: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError) as exc:
        raise InputError(f"{what} is not valid base64") from exc


# -- public key validation ----------------------------------------------------------------
# RFC 8032 verification accepts keys a forger can use without any private key: with A of
# small order, [S]B = R + [k]A holds for S = 0 and R the identity whatever the message is
# ("Taming the many EdDSAs", Chalkias et al. 2020). So every key is checked where it enters:
# its y is canonical (< p), it decodes to a curve point, x = 0 is not spelled with the sign
# bit, and eight times the point is not the identity (the eight small-order points, in all
# of their encodings). Pure integer arithmetic: about 0.1 ms for one key.
_P = 2**255 - 19


_D = (-121665 * pow(121666, _P - 2, _P)) % _P


_SQRT_M1 = pow(2, (_P - 1) // 4, _P)


def public_key_problem(raw: bytes) -> str | None:
    """Why `raw` is not an acceptable Ed25519 public key, or None when it is."""
    if len(raw) != 32:
        return "an Ed25519 public key is 32 bytes"
    value = int.from_bytes(raw, "little")
    sign, y = value >> 255, value & ((1 << 255) - 1)
    if y >= _P:
        return "non-canonical Ed25519 public key (y >= p)"
    yy = y * y % _P
    u, v = (yy - 1) % _P, (_D * yy + 1) % _P
    # x = sqrt(u/v) per RFC 8032 5.1.3
    x = u * pow(v, 3, _P) * pow(u * pow(v, 7, _P), (_P - 5) // 8, _P) % _P
    if v * x * x % _P != u:
        x = x * _SQRT_M1 % _P
        if v * x * x % _P != u:
            return "not a point on the Ed25519 curve"
    if x == 0 and sign:
        return "non-canonical Ed25519 public key (negative zero)"
    if x & 1 != sign:
        x = _P - x
    # 8P by three doublings in extended coordinates; small order iff 8P is the identity
    big_x, big_y, big_z = x, y, 1
    for _ in range(3):
        a, b = big_x * big_x % _P, big_y * big_y % _P
        c = 2 * big_z * big_z % _P
        h = (a + b) % _P
        e = (h - (big_x + big_y) ** 2) % _P
        g = (a - b) % _P
        f = (c + g) % _P
        big_x, big_y, big_z = e * f % _P, g * h % _P, f * g % _P
    if big_x == 0 and big_y == big_z:
        return "small-order Ed25519 public key (anyone could forge its signatures)"
    return None


def check_public_key(raw: bytes, *, what: str = "public key") -> None:
    """Refuse a key `public_key_problem` objects to (InputError naming `what`)."""
    problem = public_key_problem(raw)
    if problem is not None:
        raise KeyFileError(f"{what}: {problem}")


@functools.lru_cache(maxsize=4096)
def _acceptable(raw: bytes) -> bool:
    return public_key_problem(raw) is None


@dataclass(frozen=True)
class PublicKey:
    """A verifying key and who it claims to be (name/role are labels, not proof)."""

    raw: bytes
    name: str = ""
    role: str = ""

    @property
    def fingerprint(self) -> str:
        return fingerprint_of(self.raw)

    def verify(self, signature: bytes, message: bytes) -> bool:
        """Whether `signature` is valid; never for a key `public_key_problem` refuses."""
        if not _acceptable(self.raw):
            return False
        try:
            Ed25519PublicKey.from_public_bytes(self.raw).verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True

    def pem(self) -> bytes:
        """SubjectPublicKeyInfo PEM, readable by `openssl pkey -pubin`."""
        key = Ed25519PublicKey.from_public_bytes(self.raw)
        return key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


@dataclass(frozen=True)
class Signer:
    """An unlocked private key. Never serialised except through `write_key_file`."""

    _private: Ed25519PrivateKey
    name: str
    role: str

    @property
    def public(self) -> PublicKey:
        raw = self._private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return PublicKey(raw=raw, name=self.name, role=self.role)

    @property
    def fingerprint(self) -> str:
        return self.public.fingerprint

    def sign(self, message: bytes) -> bytes:
        return self._private.sign(message)

    def __repr__(self) -> str:  # keep secrets out of logs and tracebacks
        return f"Signer(name={self.name!r}, fingerprint={self.fingerprint!r})"


def generate(name: str, role: str = "") -> Signer:
    return Signer(Ed25519PrivateKey.generate(), name=name, role=role)


def signer_from_seed(seed: bytes, name: str, role: str = "") -> Signer:
    """Deterministic keys for golden tests and fixtures only."""
    return Signer(Ed25519PrivateKey.from_private_bytes(seed), name=name, role=role)
