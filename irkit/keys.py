"""Identities: Ed25519 keys, their fingerprints, and passphrase-protected key files.

PKCS#8 encryption in `cryptography` stretches passphrases with PBKDF2 at 2,048 iterations,
which an attacker barely notices. irkit key files instead derive the wrapping key with
scrypt (memory-hard) and seal the 32-byte seed with ChaCha20-Poly1305; the file's header is
the AEAD's associated data, so editing it (name, KDF cost, fingerprint) breaks the unlock.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from irkit.canonical import canonical_bytes
from irkit.errors import InputError, KeyFileError

KEY_FILE_TYPE = "irkit-private-key"
KEY_FILE_FORMAT = 1
FINGERPRINT_PREFIX = "ed25519:"
# scrypt N=2^17, r=8, p=1: 128 MiB and about 0.4 s per unlock on a 2020s core (OWASP's
# recommended minimum); recorded in each file so stronger settings can come later.
SCRYPT_N = 2**17
SCRYPT_R = 8
SCRYPT_P = 1
_MAX_SCRYPT_N = 2**22

PassphraseSource = Callable[[], str | None]


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


def _seed(signer: Signer) -> bytes:
    return signer._private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )


def _derive(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))


def write_key_file(
    path: Path,
    signer: Signer,
    passphrase: str | None,
    *,
    created: str,
    scrypt_n: int = SCRYPT_N,
) -> None:
    """Create a new key file, 0600, refusing to overwrite anything."""
    header: dict[str, Any] = {
        "type": KEY_FILE_TYPE,
        "format": KEY_FILE_FORMAT,
        "algorithm": "ed25519",
        "name": signer.name,
        "role": signer.role,
        "fingerprint": signer.fingerprint,
        "public_key": b64e(signer.public.raw),
        "created": created,
    }
    doc = dict(header)
    if passphrase is None:
        header["encryption"] = None
        doc = dict(header)
        doc["private_key"] = b64e(_seed(signer))
    else:
        if not passphrase:
            raise InputError("an empty passphrase is no passphrase: use --no-passphrase")
        salt, nonce = os.urandom(16), os.urandom(12)
        header["encryption"] = {
            "kdf": "scrypt",
            "n": scrypt_n,
            "r": SCRYPT_R,
            "p": SCRYPT_P,
            "salt": b64e(salt),
            "cipher": "chacha20-poly1305",
            "nonce": b64e(nonce),
        }
        wrap = _derive(passphrase, salt, scrypt_n, SCRYPT_R, SCRYPT_P)
        sealed = ChaCha20Poly1305(wrap).encrypt(nonce, _seed(signer), canonical_bytes(header))
        doc = dict(header)
        doc["ciphertext"] = b64e(sealed)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode("utf-8")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError as exc:
        raise KeyFileError(f"{path} already exists; refusing to overwrite a key") from exc
    except OSError as exc:
        raise KeyFileError(f"cannot create key file {path}: {exc.strerror}") from exc
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def _read_key_doc(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise KeyFileError(
            f"no key at {path}",
            hint="create one with `irkit key generate --name NAME`, or pass --key / IRKIT_KEY",
        ) from exc
    except OSError as exc:
        raise KeyFileError(f"cannot read key {path}: {exc.strerror}") from exc
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise KeyFileError(f"{path} is not an irkit key file") from exc
    if not isinstance(doc, dict) or doc.get("type") != KEY_FILE_TYPE:
        raise KeyFileError(f"{path} is not an irkit key file")
    if doc.get("format") != KEY_FILE_FORMAT or doc.get("algorithm") != "ed25519":
        raise KeyFileError(f"{path}: unsupported key file format or algorithm")
    return doc


def read_public(path: Path) -> PublicKey:
    """Public half of an irkit key file, or a PEM SubjectPublicKeyInfo Ed25519 key."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"cannot read public key {path}: {exc.strerror}") from exc
    if raw.lstrip().startswith(b"-----BEGIN PUBLIC KEY-----"):
        try:
            key = serialization.load_pem_public_key(raw)
        except ValueError as exc:
            raise KeyFileError(f"{path}: malformed PEM public key") from exc
        if not isinstance(key, Ed25519PublicKey):
            raise KeyFileError(f"{path}: not an Ed25519 public key")
        return PublicKey(
            key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        )
    if raw.lstrip().startswith(b"-----BEGIN"):
        raise KeyFileError(f"{path}: expected a PUBLIC KEY PEM (never share a private key)")
    doc = _read_key_doc(path)
    public_raw = b64d(str(doc.get("public_key", "")), what=f"{path}: public_key")
    if len(public_raw) != 32 or fingerprint_of(public_raw) != doc.get("fingerprint"):
        raise KeyFileError(f"{path}: public key does not match its fingerprint")
    return PublicKey(public_raw, name=str(doc.get("name", "")), role=str(doc.get("role", "")))


def is_encrypted(path: Path) -> bool:
    return _read_key_doc(path).get("encryption") is not None


def load_signer(path: Path, passphrase: PassphraseSource) -> Signer:
    """Unlock a key file. `passphrase` is only called when the key is encrypted."""
    doc = _read_key_doc(path)
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise KeyFileError(f"cannot stat key {path}: {exc.strerror}") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(
            f"key file {path} is readable by others (mode {stat.S_IMODE(mode):04o})",
            hint=f"chmod 600 {path}",
        )
    name, role = str(doc.get("name", "")), str(doc.get("role", ""))
    enc = doc.get("encryption")
    if enc is None:
        seed = b64d(str(doc.get("private_key", "")), what=f"{path}: private_key")
    else:
        seed = _unseal(path, doc, enc, passphrase)
    if len(seed) != 32:
        raise KeyFileError(f"{path}: malformed private key")
    signer = signer_from_seed(seed, name=name, role=role)
    if signer.fingerprint != doc.get("fingerprint"):
        raise KeyFileError(f"{path}: private key does not match the fingerprint in the file")
    return signer


def _unseal(path: Path, doc: dict[str, Any], enc: Any, passphrase: PassphraseSource) -> bytes:
    if (
        not isinstance(enc, dict)
        or enc.get("kdf") != "scrypt"
        or enc.get("cipher") != ("chacha20-poly1305")
    ):
        raise KeyFileError(f"{path}: unsupported key encryption")
    try:
        n, r, p = int(enc["n"]), int(enc["r"]), int(enc["p"])
    except (KeyError, TypeError, ValueError) as exc:
        raise KeyFileError(f"{path}: malformed KDF parameters") from exc
    if not (2 <= n <= _MAX_SCRYPT_N and n & (n - 1) == 0 and 1 <= r <= 32 and 1 <= p <= 16):
        raise KeyFileError(f"{path}: KDF parameters out of range")
    secret = passphrase()
    if secret is None:
        raise KeyFileError(
            f"key {path} is passphrase-protected and no passphrase was given",
            hint="set IRKIT_PASSPHRASE, pass --passphrase-file, or run in a terminal",
        )
    header = {k: v for k, v in doc.items() if k != "ciphertext"}
    salt = b64d(str(enc.get("salt", "")), what=f"{path}: salt")
    nonce = b64d(str(enc.get("nonce", "")), what=f"{path}: nonce")
    sealed = b64d(str(doc.get("ciphertext", "")), what=f"{path}: ciphertext")
    wrap = _derive(secret, salt, n, r, p)
    try:
        return ChaCha20Poly1305(wrap).decrypt(nonce, sealed, canonical_bytes(header))
    except (InvalidTag, ValueError) as exc:
        raise KeyFileError(
            f"wrong passphrase for key {path} (or the key file was altered)"
        ) from exc
