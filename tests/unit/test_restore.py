"""Hostile archives: refused members recorded with reasons, nothing written outside scratch.

Cases after the jwilk traversal-archives list and snyk's zip-slip examples, built in code.
"""

from __future__ import annotations

import gzip
import io
import os
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest

from irkit.backup import extract


def _snapshot(root: Path, skip: Path) -> set[str]:
    out = set()
    for dirpath, dirnames, filenames in os.walk(root):
        if Path(dirpath) == skip or skip in Path(dirpath).parents:
            continue
        for name in dirnames + filenames:
            out.add(str(Path(dirpath) / name))
    return out


def _tar(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]], mode: str = "w") -> Path:
    with tarfile.open(path, mode) as tf:  # type: ignore[call-overload]
        for info, data in members:
            if data is not None:
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
            else:
                tf.addfile(info)
    return path


def _info(name: str, kind: bytes = tarfile.REGTYPE, link: str = "", mode: int = 0o644):  # type: ignore[no-untyped-def]
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.mode = mode
    return info


@pytest.fixture
def area(tmp_path: Path) -> tuple[Path, Path, Path]:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim").write_text("untouched")
    scratch = tmp_path / "work" / "scratch"
    scratch.mkdir(parents=True)
    return tmp_path, outside, scratch


def test_hostile_tar_all_refused_nothing_outside(area: tuple[Path, Path, Path]) -> None:
    top, outside, scratch = area
    before = _snapshot(top, scratch)
    archive = _tar(
        top / "evil.tar",
        [
            (_info("good.txt"), b"fine"),
            (_info(str(outside / "abs.txt")), b"x"),
            (_info("../../outside/dotdot.txt"), b"x"),
            (_info("esc", tarfile.SYMTYPE, str(outside)), None),
            (_info("esc/through.txt"), b"x"),
            (_info("up", tarfile.SYMTYPE, "../../outside"), None),
            (_info("inner", tarfile.DIRTYPE, mode=0o755), None),
            (_info("alias", tarfile.SYMTYPE, "inner"), None),
            (_info("alias/write-through.txt"), b"x"),
            (_info("hard", tarfile.LNKTYPE, str(outside / "victim")), None),
            (_info("hard2", tarfile.LNKTYPE, "../outside/victim"), None),
            (_info("a", tarfile.DIRTYPE, mode=0o755), None),
            (_info("a/self", tarfile.SYMTYPE, "."), None),
            (_info("chain", tarfile.SYMTYPE, "a/self/../.."), None),
            (_info("dev", tarfile.CHRTYPE), None),
            (_info("fifo", tarfile.FIFOTYPE), None),
            (_info("suid", mode=0o4755), b"#!/bin/sh\n"),
            (_info("good2.txt"), b"also fine"),
        ],
    )
    got = extract.restore(archive, scratch)
    reasons = dict(got.refused)
    assert reasons[str(outside / "abs.txt")] == "absolute path"
    assert reasons["../../outside/dotdot.txt"] == "'..' path traversal"
    notes = dict(got.notices)
    # links out of the tree are recorded with their target, never created (issue 15)
    assert notes["esc"].startswith("symlink to outside the tree recorded, not created")
    assert notes["up"].startswith("symlink to outside the tree recorded")
    assert got.links["esc"] == str(outside) and not (scratch / "up").is_symlink()
    assert "write-through" in reasons["alias/write-through.txt"]
    assert reasons["hard"].startswith("hardlink")
    assert reasons["hard2"].startswith("hardlink")
    assert reasons["chain"] == "symlink chain resolves outside the scratch directory"
    assert notes["dev"] == "device file recorded, not created"
    assert notes["fifo"] == "FIFO recorded, not created"
    assert "setuid bit recorded and stripped" in notes["suid"] and "suid" not in reasons
    # extraction went on past every refusal
    assert {"good.txt", "good2.txt", "suid"} <= set(got.files)
    assert not os.stat(scratch / "suid").st_mode & (stat.S_ISUID | stat.S_ISGID)
    assert (outside / "victim").read_text() == "untouched"
    assert _snapshot(top, scratch) == before | {str(top / "evil.tar")}
    # esc/through.txt landed in a real directory inside scratch, never in outside/
    assert not (scratch / "esc").is_symlink()


def test_internal_links_kept_and_hardlink_copies(area: tuple[Path, Path, Path]) -> None:
    top, _outside, scratch = area
    archive = _tar(
        top / "ok.tar",
        [
            (_info("d", tarfile.DIRTYPE, mode=0o755), None),
            (_info("d/f.txt"), b"data"),
            (_info("ln", tarfile.SYMTYPE, "d/f.txt"), None),
            (_info("hl", tarfile.LNKTYPE, "d/f.txt"), None),
        ],
    )
    got = extract.restore(archive, scratch)
    assert got.refused == []
    assert (scratch / "ln").is_symlink()
    assert got.files["hl"] == got.files["d/f.txt"]


def test_zip_slip_refused(area: tuple[Path, Path, Path]) -> None:
    top, outside, scratch = area
    before = _snapshot(top, scratch)
    archive = top / "slip.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../../outside/slip.txt", b"x")
        zf.writestr(str(outside / "abs.txt"), b"x")
        zf.writestr("..\\..\\outside\\win.txt", b"x")
        zf.writestr("fine/ok.txt", b"ok")
    got = extract.restore(archive, scratch)
    assert len(got.refused) == 3
    assert set(got.files) == {"fine/ok.txt"}
    assert _snapshot(top, scratch) == before | {str(archive)}


def test_bomb_limits(area: tuple[Path, Path, Path]) -> None:
    top, _outside, scratch = area
    bomb = _tar(top / "bomb.tar.gz", [(_info("aaaa"), b"a" * (8 << 20))], mode="w:gz")
    got = extract.restore(bomb, scratch)
    assert any("'aaaa'" in f and "compression ratio" in f for f in got.findings)
    assert "aaaa" not in got.files and not (scratch / "aaaa").exists()

    many = _tar(top / "many.tar", [(_info(f"f{i}"), b"x") for i in range(20)])
    (top / "work" / "s2").mkdir()
    got = extract.restore(many, top / "work" / "s2", extract.Limits(max_entries=10))
    assert any("entry count" in f for f in got.findings)
    assert len(got.files) == 10

    (top / "work" / "s3").mkdir()
    big = _tar(top / "big.tar", [(_info("a"), os.urandom(3000)), (_info("b"), os.urandom(3000))])
    got = extract.restore(big, top / "work" / "s3", extract.Limits(max_total=4000))
    assert any("'b'" in f and "total data written exceeds" in f for f in got.findings)
    assert set(got.files) == {"a"}


def test_damaged_archive_is_a_finding_not_a_crash(area: tuple[Path, Path, Path]) -> None:
    top, _outside, scratch = area
    good = _tar(top / "g.tar.gz", [(_info("f"), os.urandom(200_000))], mode="w:gz")
    cut = top / "cut.tar.gz"
    cut.write_bytes(good.read_bytes()[:-5000])
    got = extract.restore(cut, scratch)
    assert got.findings and "damaged" in got.findings[0]


def test_restore_cmd_failure_and_timeout(tmp_path: Path) -> None:
    failed = extract.restore_cmd(["sh", "-c", "echo boom >&2; exit 3"], tmp_path, 10)
    assert failed.findings == ["restore command exited 3"] and "boom" in failed.output
    (tmp_path / "t").mkdir()
    slow = extract.restore_cmd(["sh", "-c", "echo started; sleep 10"], tmp_path / "t", 0.5)
    assert "timed out" in slow.findings[0]


def test_unknown_artifact_is_a_finding(tmp_path: Path) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(gzip.compress(b"not a tar at all, just text")[:10])
    found = extract.detect(junk)
    assert found.kind == "unknown" and found.compression == "gzip"
    assert found.problem is not None and "damaged" in found.problem


def test_restore_cmd_links_out_are_removed(tmp_path: Path) -> None:
    dest = tmp_path / "d"
    dest.mkdir()
    got = extract.restore_cmd(["ln", "-s", str(tmp_path), "out"], dest, 10)
    assert got.refused == [("out", "symlink chain resolves outside the scratch directory")]
    assert not (dest / "out").exists()


def test_overlapping_zip_entries_refused(area: tuple[Path, Path, Path]) -> None:
    top, _outside, scratch = area
    archive = top / "overlap.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a", bytes(100_000))
        zf.writestr("b", b"small")
    raw = bytearray(archive.read_bytes())
    second = raw.index(b"PK\x01\x02", raw.index(b"PK\x01\x02") + 4)
    raw[second + 42 : second + 46] = (0).to_bytes(4, "little")  # "b" now points at "a"
    archive.write_bytes(bytes(raw))
    got = extract.restore(archive, scratch)
    assert got.refused == [("b", "overlapping zip entry (bomb)")]
    assert set(got.files) == {"a"}
