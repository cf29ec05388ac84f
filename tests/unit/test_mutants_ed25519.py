"""Ed25519 key checks name the rule a key breaks, at each boundary (mutation testing,
bench/mutation.py); honest keys always pass."""

from __future__ import annotations

import pytest

from irkit.errors import InputError, KeyFileError
from irkit.formats import ed25519

P = 2**255 - 19


def _enc(y: int, sign: int = 0) -> bytes:
    return (y | (sign << 255)).to_bytes(32, "little")


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b"\x00" * 31, "an Ed25519 public key is 32 bytes"),
        (_enc(P), "non-canonical Ed25519 public key (y >= p)"),  # y == p, the boundary
        (_enc(P + 1), "non-canonical Ed25519 public key (y >= p)"),
        # y = p - 1: the point (0, -1), of order 2
        (_enc(P - 1), "small-order Ed25519 public key (anyone could forge its signatures)"),
        (_enc(2), "not a point on the Ed25519 curve"),  # (y^2 - 1) / (d y^2 + 1) no square
        (_enc(1, 1), "non-canonical Ed25519 public key (negative zero)"),
        (_enc(1), "small-order Ed25519 public key (anyone could forge its signatures)"),
    ],
)
def test_key_problems_are_named(raw: bytes, problem: str | None) -> None:
    assert ed25519.public_key_problem(raw) == problem


def test_honest_keys_pass() -> None:
    for i in range(64):
        key = ed25519.signer_from_seed(bytes([i]) * 32, "k")
        assert ed25519.public_key_problem(key.public.raw) is None, i


def test_check_public_key_says_what_was_checked() -> None:
    with pytest.raises(KeyFileError, match=r"^public key: an Ed25519 public key is 32 bytes$"):
        ed25519.check_public_key(b"short")
    with pytest.raises(KeyFileError, match=r"^witness key: non-canonical"):
        ed25519.check_public_key(_enc(P), what="witness key")
    ed25519.check_public_key(ed25519.signer_from_seed(bytes(32), "k").public.raw)


def test_fingerprints_and_base64() -> None:
    with pytest.raises(ValueError, match=r"^an Ed25519 public key is 32 bytes$"):
        ed25519.fingerprint_of(b"short")
    assert ed25519.b64e(b"\xff\x00") == "/wA="
    assert ed25519.b64d("/wA=", what="x") == b"\xff\x00"
    for bad in ("/wA", "/w A=", "/wA=!", "é"):
        with pytest.raises(InputError, match=r"^the seed is not valid base64$"):
            ed25519.b64d(bad, what="the seed")


def test_signers_carry_their_name_and_role() -> None:
    made = ed25519.generate("Alice")
    assert (made.name, made.role) == ("Alice", "")
    assert ed25519.generate("Bob", "lead").role == "lead"
    seeded = ed25519.signer_from_seed(bytes(32), "Carol")
    assert (seeded.name, seeded.role) == ("Carol", "")
    assert seeded.public.name == "Carol" and seeded.public.role == ""
