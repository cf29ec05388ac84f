"""`irkit backup verify` on damaged, empty and hostile artifacts: a verdict, recorded inside
a case as a signed FAIL (exit 1); member names cannot forge lines of the output."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from pathlib import Path
from typing import Any

from irkit.record.case import Case


def _tar(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_damaged_and_empty_artifacts_are_recorded_fails(
    tmp_path: Path, irkit: Any, case: Case, key_files: Any
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "f.txt").write_bytes(b"data\n" * 1000)
    good = gzip.compress(_tar({"f.txt": b"data\n" * 1000}))
    artifacts = {
        "cut.tar.gz": good[: len(good) // 2],
        "empty.tar.gz": b"",
        "junk.bin": b"\x00\x01 not a backup",
    }
    before = len(case.read_entries().entries)
    for name, data in artifacts.items():
        path = tmp_path / name
        path.write_bytes(data)
        r = irkit(
            "backup",
            "verify",
            str(path),
            "--source",
            str(src),
            "--json",
            case=case.root,
            key=key_files.bob,
        )
        assert r.exit_code == 1, (name, r.output)
        out = json.loads(r.stdout)
        assert out["verdict"] == "FAIL" and out["entry"] is not None
        assert out["restore_findings"], name
    entries = case.read_entries().entries[before:]
    assert [e.kind for e in entries] == ["backup.verified"] * 3
    assert {e.body["verdict"] for e in entries} == {"FAIL"}
    assert irkit("verify", case=case.root).exit_code == 0


def test_member_names_cannot_forge_output(tmp_path: Path, irkit: Any) -> None:
    src = tmp_path / "src"
    src.mkdir()
    archive = tmp_path / "forge.tar"
    archive.write_bytes(_tar({"x\nPASS: fake.txt": b"x", "y\r\x1b[2Kz": b"y"}))
    r = irkit("backup", "verify", str(archive), "--source", str(src))
    assert r.exit_code == 1
    lines = r.stdout.splitlines()
    assert not any(line.startswith("PASS") for line in lines), r.stdout
    assert "\x1b" not in r.stdout and "\r" not in r.stdout
    assert "x\\nPASS: fake.txt" in r.stdout or "x\\x0aPASS: fake.txt" in r.stdout


def test_type_and_limit_options(tmp_path: Path, irkit: Any) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "big.log").write_bytes(b"A" * (8 << 20))
    archive = tmp_path / "logs.tar.gz"
    archive.write_bytes(gzip.compress(_tar({"big.log": b"A" * (8 << 20)})))
    r = irkit("backup", "verify", str(archive), "--source", str(src))
    assert r.exit_code == 1 and "member 'big.log'" in r.stdout and "--max-ratio" in r.stdout
    r = irkit("backup", "verify", str(archive), "--source", str(src), "--max-ratio", "100000")
    assert r.exit_code == 0, r.output
    r = irkit("backup", "verify", str(archive), "--source", str(src), "--max-total", "lots")
    assert r.exit_code == 2 and "not a size" in r.output
    r = irkit("backup", "verify", str(archive), "--source", str(src), "--type", "rar")
    assert r.exit_code == 2
