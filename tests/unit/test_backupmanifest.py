"""Backup manifests: round trip and every malformed form rejected (pg_verifybackup's list)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from irkit.backup import manifest
from irkit.errors import InputError


def _tree(root: Path) -> Path:
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_bytes(b"alpha")
    (root / "sub" / "b.bin").write_bytes(b"\x00" * 10)
    return root


def _resign(body_lines: list[str]) -> bytes:
    """Re-checksum an edited manifest so only the defect under test remains."""
    body = "".join(body_lines).encode()
    return body + b'"Manifest-Checksum": "' + hashlib.sha256(body).hexdigest().encode() + b'"}\n'


def test_round_trip(tmp_path: Path) -> None:
    out = tmp_path / "m.json"
    files = manifest.write(_tree(tmp_path / "src"), out)
    assert manifest.load(out) == files
    assert {f.path: f.size for f in files} == {"a.txt": 5, "sub/b.bin": 10}
    assert files[0].sha256 == hashlib.sha256(b"alpha").hexdigest()


def _good(tmp_path: Path) -> bytes:
    return manifest.render(manifest.scan(_tree(tmp_path / "src")))


def test_truncated(tmp_path: Path) -> None:
    data = _good(tmp_path)
    for cut in (len(data) // 2, len(data) - 5):
        with pytest.raises(InputError, match=r"Manifest-Checksum|JSON"):
            manifest.parse(data[:cut])


def test_wrong_checksum(tmp_path: Path) -> None:
    data = _good(tmp_path).replace(b'"Size": 5', b'"Size": 6')
    with pytest.raises(InputError, match="checksum mismatch"):
        manifest.parse(data)


def _lines(tmp_path: Path) -> list[str]:
    text = _good(tmp_path).decode()
    return text[: text.rindex('"Manifest-Checksum"')].splitlines(keepends=True)


def test_unknown_version(tmp_path: Path) -> None:
    lines = _lines(tmp_path)
    lines[0] = lines[0].replace("1", "2")
    with pytest.raises(InputError, match="version"):
        manifest.parse(_resign(lines))


def test_duplicate_path(tmp_path: Path) -> None:
    lines = _lines(tmp_path)
    lines.insert(2, lines[2] if lines[2].endswith(",\n") else lines[2].rstrip("\n") + ",\n")
    with pytest.raises(InputError, match="duplicate path"):
        manifest.parse(_resign(lines))


def test_checksum_without_algorithm(tmp_path: Path) -> None:
    lines = _lines(tmp_path)
    item = json.loads(lines[2].rstrip(",\n"))
    del item["Checksum-Algorithm"]
    lines[2] = json.dumps(item) + ",\n"
    with pytest.raises(InputError, match="without SHA256"):
        manifest.parse(_resign(lines))


def test_unknown_key_and_resigned_good_manifest_accepted(tmp_path: Path) -> None:
    lines = _lines(tmp_path)
    assert len(manifest.parse(_resign(lines))) == 2  # the re-signer itself is sound
    item = json.loads(lines[2].rstrip(",\n"))
    item["Owner"] = 1  # (Mode, Uid, Gid, Mtime are --meta fields)
    lines[2] = json.dumps(item) + ",\n"
    with pytest.raises(InputError, match="unknown keys"):
        manifest.parse(_resign(lines))
