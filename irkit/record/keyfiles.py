"""Identities: Ed25519 keys, their fingerprints, and passphrase-protected key files.

PKCS#8 encryption in `cryptography` stretches passphrases with PBKDF2 at 2,048 iterations,
which an attacker barely notices. irkit key files instead derive the wrapping key with
scrypt (memory-hard) and seal the 32-byte seed with ChaCha20-Poly1305; the file's header is
the AEAD's associated data, so editing it (name, KDF cost, fingerprint) breaks the unlock.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from irkit.errors import InputError, KeyFileError
from irkit.formats import jsonload
from irkit.formats.canonical import canonical_bytes
from irkit.formats.ed25519 import (
    FINGERPRINT_PREFIX,
    PublicKey,
    Signer,
    b64d,
    b64e,
    check_public_key,
    fingerprint_of,
    signer_from_seed,
)
from irkit.record import safefile

KEY_FILE_TYPE = "irkit-private-key"
KEY_FILE_FORMAT = 1
# scrypt N=2^17, r=8, p=1: 128 MiB and about 0.4 s per unlock on a 2020s core (OWASP's
# recommended minimum); recorded in each file so stronger settings can come later.
SCRYPT_N = 2**17
SCRYPT_R = 8
SCRYPT_P = 1
_MAX_SCRYPT_N = 2**22

PassphraseSource = Callable[[], str | None]


_HEX_RE = re.compile(r"[0-9a-f]+")


def fingerprint_hex(text: str) -> str | None:
    """The hex digits of what a person typed for a fingerprint or a prefix of one (with or
    without `ed25519:`, either case), or None when it is not written that way."""
    digits = text.strip().lower().removeprefix(FINGERPRINT_PREFIX)
    return digits if _HEX_RE.fullmatch(digits) and len(digits) <= 64 else None


def full_fingerprint(text: str) -> str | None:
    """`ed25519:<64 hex>` for a whole fingerprint however it was spelled (bare 64 hex,
    upper case, with the prefix), else None: a trust anchor is only ever a whole one."""
    digits = fingerprint_hex(text)
    return FINGERPRINT_PREFIX + digits if digits is not None and len(digits) == 64 else None


def _seed(signer: Signer) -> bytes:
    return signer._private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )


def _derive(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))


# NIST SP 800-63B's floor for a secret a person chooses; `key generate --weak-passphrase`
# lets a user go below it knowingly (a throwaway key for a lab exercise).
MIN_PASSPHRASE_LENGTH = 8


def passphrase_problem(passphrase: str) -> str | None:
    """Why `passphrase` is too weak to seal a key with, or None."""
    if len(passphrase) < MIN_PASSPHRASE_LENGTH:
        return (
            f"the passphrase has {len(passphrase)} character{'s' if len(passphrase) != 1 else ''};"
            f" a key's passphrase needs at least {MIN_PASSPHRASE_LENGTH}"
        )
    return None


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
    from irkit.record import safefile

    try:
        # whole or not at all: a full disk must not leave a truncated key blocking a retry
        safefile.atomic_write(path, data, mode=0o600, exact_mode=True, replace=False)
    except FileExistsError as exc:
        raise KeyFileError(f"{path} already exists; refusing to overwrite a key") from exc
    except OSError as exc:
        raise KeyFileError(f"cannot create key file {path}: {exc.strerror}") from exc


# What a key file may ask scrypt for (docs/FORMAT.md section 2): the file sets the cost of
# every unlock, so a crafted one must not make irkit allocate gigabytes or spin for minutes.
# Memory is 128·n·r bytes; the default (2^17, 8, 1) takes 128 MiB.
SCRYPT_MAX_MEMORY = 256 * 2**20
SCRYPT_MAX_WORK = 2**30  # 128·n·r·p: eight times the default


def scrypt_cost_problem(n: int, r: int, p: int) -> str | None:
    """Why scrypt parameters are not acceptable in a key file, or None."""
    if not (2 <= n <= _MAX_SCRYPT_N and n & (n - 1) == 0):
        return "n must be a power of two from 2 to 2^22"
    if not (1 <= r <= 32 and 1 <= p <= 16):
        return "r must be 1..32 and p 1..16"
    if 128 * n * r > SCRYPT_MAX_MEMORY:
        cap = SCRYPT_MAX_MEMORY // 2**20
        return f"needs {128 * n * r // 2**20} MiB, more than the {cap} MiB allowed"
    if 128 * n * r * p > SCRYPT_MAX_WORK:
        return "n·r·p asks for more than eight times the default work"
    return None


def _read_key_doc(path: Path) -> dict[str, Any]:
    try:
        raw = safefile.read_input(path, what="key", limit=1 << 20)
    except InputError as exc:
        if not os.path.lexists(path):
            raise KeyFileError(
                f"no key at {path}",
                hint="create one with `irkit key generate --name NAME`, or pass --key / IRKIT_KEY",
            ) from exc
        raise KeyFileError(exc.message) from exc
    try:
        doc = jsonload.loads(raw, what=str(path))
    except InputError as exc:
        raise KeyFileError(f"{path} is not an irkit key file") from exc
    if not isinstance(doc, dict) or doc.get("type") != KEY_FILE_TYPE:
        raise KeyFileError(f"{path} is not an irkit key file")
    if doc.get("format") != KEY_FILE_FORMAT or doc.get("algorithm") != "ed25519":
        raise KeyFileError(f"{path}: unsupported key file format or algorithm")
    return doc


def read_public(path: Path) -> PublicKey:
    """Public half of an irkit key file, or a PEM SubjectPublicKeyInfo Ed25519 key."""
    try:
        raw = safefile.read_input(path, what="public key", limit=1 << 20)
    except InputError as exc:
        raise KeyFileError(exc.message) from exc
    if raw.lstrip().startswith(b"-----BEGIN PUBLIC KEY-----"):
        try:
            key = serialization.load_pem_public_key(raw)
        except ValueError as exc:
            raise KeyFileError(f"{path}: malformed PEM public key") from exc
        if not isinstance(key, Ed25519PublicKey):
            raise KeyFileError(f"{path}: not an Ed25519 public key")
        pem_raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        check_public_key(pem_raw, what=str(path))
        return PublicKey(pem_raw)
    if raw.lstrip().startswith(b"-----BEGIN"):
        raise KeyFileError(f"{path}: expected a PUBLIC KEY PEM (never share a private key)")
    doc = _read_key_doc(path)
    public_raw = b64d(str(doc.get("public_key", "")), what=f"{path}: public_key")
    if len(public_raw) != 32 or fingerprint_of(public_raw) != doc.get("fingerprint"):
        raise KeyFileError(f"{path}: public key does not match its fingerprint")
    check_public_key(public_raw, what=str(path))
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
    n, r, p = enc.get("n"), enc.get("r"), enc.get("p")
    if type(n) is not int or type(r) is not int or type(p) is not int:  # not bool, not "8"
        raise KeyFileError(f"{path}: malformed KDF parameters")
    problem = scrypt_cost_problem(n, r, p)
    if problem is not None:  # refused before any derivation: the file sets the cost
        raise KeyFileError(f"{path}: KDF parameters out of range ({problem})")
    secret = passphrase()
    if secret is None:
        raise KeyFileError(
            f"key {path} is passphrase-protected and no passphrase was given",
            hint="set IRKIT_PASSPHRASE, pass --passphrase-file, or run in a terminal",
        )
    if not secret.isascii():
        try:
            secret.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise KeyFileError("the passphrase is not valid UTF-8") from exc
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
