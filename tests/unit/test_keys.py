"""Key files: 0600, scrypt-sealed, tamper-evident headers, clear errors."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from irkit.errors import KeyFileError
from irkit.formats import ed25519
from irkit.record import keyfiles

FAST_N = 2**10  # the format records N; tests use a cheap one, production uses SCRYPT_N


def _write(path: Path, passphrase: str | None, name: str = "Alice") -> ed25519.Signer:
    signer = ed25519.generate(name, "lead")
    keyfiles.write_key_file(
        path, signer, passphrase, created="2026-01-01T00:00:00.000000Z", scrypt_n=FAST_N
    )
    return signer


def test_round_trip_with_passphrase(tmp_path: Path) -> None:
    path = tmp_path / "k.key"
    signer = _write(path, "correct horse")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = keyfiles.load_signer(path, lambda: "correct horse")
    assert loaded.fingerprint == signer.fingerprint
    assert loaded.sign(b"m") == signer.sign(b"m")  # Ed25519 is deterministic
    doc = json.loads(path.read_text())
    assert doc["encryption"]["kdf"] == "scrypt" and doc["encryption"]["n"] == FAST_N
    assert "private_key" not in doc
    seed_b64 = ed25519.b64e(signer._private.private_bytes_raw())
    assert seed_b64 not in path.read_text()


def test_default_cost_is_memory_hard() -> None:
    assert keyfiles.SCRYPT_N >= 2**17 and keyfiles.SCRYPT_R == 8


def test_wrong_passphrase(tmp_path: Path) -> None:
    path = tmp_path / "k.key"
    _write(path, "right")
    with pytest.raises(KeyFileError, match="wrong passphrase"):
        keyfiles.load_signer(path, lambda: "wrong")


def test_missing_passphrase(tmp_path: Path) -> None:
    path = tmp_path / "k.key"
    _write(path, "right")
    with pytest.raises(KeyFileError, match="passphrase-protected"):
        keyfiles.load_signer(path, lambda: None)


def test_unencrypted_never_asks(tmp_path: Path) -> None:
    path = tmp_path / "k.key"
    _write(path, None)

    def boom() -> str:
        raise AssertionError("asked for a passphrase")

    keyfiles.load_signer(path, boom)


@pytest.mark.parametrize(
    "field,value", [("name", "Mallory"), ("fingerprint", "ed25519:" + "0" * 64)]
)
def test_header_is_bound_to_the_sealed_key(tmp_path: Path, field: str, value: str) -> None:
    path = tmp_path / "k.key"
    _write(path, "pw")
    doc = json.loads(path.read_text())
    doc[field] = value
    path.write_text(json.dumps(doc))
    path.chmod(0o600)
    with pytest.raises(KeyFileError):
        keyfiles.load_signer(path, lambda: "pw")


def test_refuses_group_readable_key(tmp_path: Path) -> None:
    path = tmp_path / "k.key"
    _write(path, None)
    path.chmod(0o640)
    with pytest.raises(KeyFileError, match="readable by others"):
        keyfiles.load_signer(path, lambda: None)


def test_refuses_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "k.key"
    _write(path, None)
    before = path.read_bytes()
    with pytest.raises(KeyFileError, match="already exists"):
        _write(path, None)
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    "content", [b"", b"not json", b'{"type": "something-else"}', b"[1,2]", b"\xff\xfe"]
)
def test_malformed_key_files(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "k.key"
    path.write_bytes(content)
    path.chmod(0o600)
    with pytest.raises(KeyFileError):
        keyfiles.load_signer(path, lambda: None)


def test_missing_key(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="no key at"):
        keyfiles.load_signer(tmp_path / "absent.key", lambda: None)


def test_fingerprint_is_sha256_of_raw_public_key() -> None:
    import hashlib

    signer = ed25519.generate("x")
    assert signer.fingerprint == "ed25519:" + hashlib.sha256(signer.public.raw).hexdigest()
    assert ed25519.is_fingerprint(signer.fingerprint)
    assert not ed25519.is_fingerprint(signer.fingerprint.upper())


def test_public_pem_round_trip_and_openssl(tmp_path: Path) -> None:
    signer = ed25519.generate("x")
    pem = tmp_path / "x.pub"
    pem.write_bytes(signer.public.pem())
    assert keyfiles.read_public(pem).raw == signer.public.raw
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: cannot check that it reads irkit's PEM")
    out = subprocess.run(
        ["openssl", "pkey", "-pubin", "-in", str(pem), "-noout", "-text"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "ED25519 Public-Key" in out


def test_private_pem_is_refused_as_public(tmp_path: Path) -> None:
    path = tmp_path / "x.pem"
    path.write_bytes(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    with pytest.raises(KeyFileError, match="never share a private key"):
        keyfiles.read_public(path)


def test_repr_hides_secret() -> None:
    signer = ed25519.generate("x")
    seed = signer._private.private_bytes_raw()
    assert seed.hex() not in repr(signer) and ed25519.b64e(seed) not in repr(signer)
