"""Manifest input rules (issue 15): non-UTF-8 names survive a round trip, duplicate keys
and paths escaping the root are refused, a CRLF-converted copy gets its own message."""

from __future__ import annotations

import hashlib
import os
import tarfile
from pathlib import Path

import pytest

from irkit.backup import manifest, testrestore
from irkit.errors import InputError


def _signed(body: bytes) -> bytes:
    digest = hashlib.sha256(body).hexdigest()
    return body + b'"Manifest-Checksum": "' + digest.encode() + b'"}\n'


def _entry(path: str) -> bytes:
    return (
        b'{"Manifest-Version": 1,\n"Files": [\n{"Path": "' + path.encode() + b'", "Size": 0, '
        b'"Checksum-Algorithm": "SHA256", "Checksum": "'
        + hashlib.sha256(b"").hexdigest().encode()
        + b'"}\n],\n'
    )


def test_non_utf8_file_name_round_trip(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    name = os.fsdecode(b"caf\xe9.txt")  # Latin-1 on disk: not UTF-8
    (src / name).write_bytes(b"coffee")
    out = tmp_path / "m.json"
    files = manifest.write(src, out)
    assert [f.path for f in files] == [name]
    assert b'"Encoded-Path": "636166e92e747874"' in out.read_bytes()
    assert [f.path for f in manifest.load(out)] == [name]
    archive = tmp_path / "b.tar"
    with tarfile.open(archive, "w") as tf:
        tf.add(src / name, arcname=name)
    result = testrestore.run_verify(archive, manifest=out)
    assert result.verdict == "PASS", result.failures


def test_duplicate_keys_are_refused() -> None:
    body = _entry("a.txt").replace(b'"Size": 0,', b'"Size": 0, "Size": 0,')
    with pytest.raises(InputError, match="duplicate"):
        manifest.parse(_signed(body))


@pytest.mark.parametrize("path", ["../etc/passwd", "/etc/passwd", "a/../../b"])
def test_paths_escaping_the_root_are_refused(path: str) -> None:
    with pytest.raises(InputError, match="escapes the backup"):
        manifest.parse(_signed(_entry(path)))


def test_crlf_copy_gets_a_specific_message(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text("x")
    out = tmp_path / "m.json"
    manifest.write(src, out)
    manifest.load(out)  # the original is fine
    out.write_bytes(out.read_bytes().replace(b"\n", b"\r\n"))
    with pytest.raises(InputError, match=r"CRLF.*binary mode"):
        manifest.load(out)
