"""Issue #18, "hashing interop": manifests written from inside a case with a relative path
are read back by the real tools from the same folder, as a user would run them."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import Runner

HASHDEEP = shutil.which("hashdeep")
SHA256SUM = shutil.which("sha256sum")


def _tree(tmp_path: Path) -> Path:
    usb = tmp_path / "usb"
    (usb / "logs").mkdir(parents=True)
    (usb / "logs" / "auth.log").write_bytes(b"Failed password for root\n" * 50)
    (usb / "notes.txt").write_bytes(b"seized 14:05\n")
    (usb / "name with spaces.bin").write_bytes(bytes(range(256)))
    inside = tmp_path / "CASE-42"
    inside.mkdir()
    return inside


@pytest.mark.skipif(HASHDEEP is None, reason="hashdeep is not installed (Debian: hashdeep)")
@pytest.mark.parametrize("given", ["../usb", "../usb/", "./../usb/logs/..", "../usb/./"])
def test_hashdeep_audits_what_irkit_wrote_from_inside_a_case(
    irkit: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, given: str
) -> None:
    inside = _tree(tmp_path)
    monkeypatch.chdir(inside)
    r = irkit("hash", given, "--format", "hashdeep", "-a", "sha256,md5", "-o", "../usb.hd")
    assert r.exit_code == 0, r.output
    written = (tmp_path / "usb.hd").read_bytes()
    assert b"/.." not in written and b"/./" not in written
    assert f",{tmp_path}/usb/logs/auth.log\n".encode() in written
    audit = subprocess.run(
        [HASHDEEP, "-a", "-k", "../usb.hd", "-r", "../usb"],  # type: ignore[list-item]
        cwd=inside,
        capture_output=True,
        text=True,
    )
    assert audit.returncode == 0 and "Audit passed" in audit.stdout, audit.stdout + audit.stderr
    # and from elsewhere, with the absolute path hashdeep itself would be given
    audit = subprocess.run(
        [HASHDEEP, "-a", "-k", str(tmp_path / "usb.hd"), "-r", str(tmp_path / "usb")],  # type: ignore[list-item]
        cwd="/",
        capture_output=True,
        text=True,
    )
    assert audit.returncode == 0, audit.stdout + audit.stderr
    # irkit's own audit reads it back the same way
    back = irkit("hash", "--audit", "../usb.hd", "../usb")
    assert back.exit_code == 0 and "matched 3" in back.output, back.output


@pytest.mark.skipif(HASHDEEP is None, reason="hashdeep is not installed (Debian: hashdeep)")
def test_hashdeep_notices_a_change(
    irkit: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inside = _tree(tmp_path)
    monkeypatch.chdir(inside)
    assert irkit("hash", "../usb", "--format", "hashdeep", "-o", "../usb.hd").exit_code == 0
    (tmp_path / "usb" / "notes.txt").write_bytes(b"seized 14:06\n")
    audit = subprocess.run(
        [HASHDEEP, "-a", "-k", "../usb.hd", "-r", "../usb"],  # type: ignore[list-item]
        cwd=inside,
        capture_output=True,
        text=True,
    )
    assert audit.returncode != 0 and "Audit failed" in audit.stdout + audit.stderr


@pytest.mark.skipif(SHA256SUM is None, reason="sha256sum is not installed (Debian: coreutils)")
def test_sha256sum_checks_what_irkit_wrote_from_inside_a_case(
    irkit: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inside = _tree(tmp_path)
    monkeypatch.chdir(inside)
    r = irkit("hash", "../usb", "-o", "../usb.sha256")
    assert r.exit_code == 0
    written = (tmp_path / "usb.sha256").read_text()
    assert "  ../usb/logs/auth.log\n" in written  # the path as the user gave it
    check = subprocess.run(
        [SHA256SUM, "-c", "../usb.sha256"],  # type: ignore[list-item]
        cwd=inside,
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0 and check.stdout.count(": OK") == 3, check.stdout
    (tmp_path / "usb" / "notes.txt").write_bytes(b"changed")
    check = subprocess.run(
        [SHA256SUM, "-c", "../usb.sha256"],  # type: ignore[list-item]
        cwd=inside,
        capture_output=True,
        text=True,
    )
    assert check.returncode == 1 and "notes.txt: FAILED" in check.stdout
