"""A failure of this machine while restoring (scratch disk full...) is no verdict on the
backup: exit 2, one line naming the scratch directory and the errno, nothing signed, no
scratch left. A damaged archive stays a FAIL."""

from __future__ import annotations

import base64
import errno
import hashlib
import os
import random
import shlex
import shutil
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from irkit.backup import extract, postgres, testrestore
from irkit.errors import EnvironmentFailure
from irkit.record.case import Case


def _store_files(case: Case) -> list[Path]:
    return sorted(p for p in (case.root / "evidence").rglob("*") if p.is_file())


@pytest.fixture
def scratch_parent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """TMPDIR for this test: where the scratch directory is made (and must not remain)."""
    parent = tmp_path / "scratch-parent"
    parent.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(parent))
    return parent


def _full_disk_under(parent: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ENOSPC from every write into a file below PARENT, as a full file system gives it
    (the journal and the store, elsewhere, write as usual)."""
    real_write = os.write

    def write(fd: int, data: Any) -> int:
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            target = ""
        if target.startswith(str(parent) + os.sep):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", write)


def _tree(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    testrestore.build_five_databases(data)
    return data


def _tar(data: Path, out: Path) -> Path:
    with tarfile.open(out, "w:gz") as tf:
        for p in sorted(data.iterdir()):
            tf.add(p, arcname=p.name)
    return out


def _zip(data: Path, out: Path) -> Path:
    with zipfile.ZipFile(out, "w") as zf:
        for p in sorted(data.iterdir()):
            zf.write(p, p.name)
    return out


ARTIFACTS: dict[str, Callable[[Path, Path], Path]] = {
    "tar.gz": lambda data, tmp: _tar(data, tmp / "b.tar.gz"),
    "zip": lambda data, tmp: _zip(data, tmp / "b.zip"),
    "directory": lambda data, tmp: data,
    "sqlite file": lambda data, tmp: data / "billing.sqlite",
}


@pytest.mark.parametrize("kind", list(ARTIFACTS))
def test_full_scratch_disk_is_not_signed_as_a_fail(
    kind: str,
    tmp_path: Path,
    irkit: Any,
    case: Case,
    key_files: Any,
    scratch_parent: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = _tree(tmp_path)
    artifact = ARTIFACTS[kind](data, tmp_path)
    source = data if kind != "sqlite file" else None
    where = ("--source", str(source)) if source else ("--manifest", str(tmp_path / "m.json"))
    if source is None:
        one = tmp_path / "one"
        one.mkdir()
        shutil.copy(artifact, one / artifact.name)
        assert irkit("backup", "manifest", str(one), "-o", str(tmp_path / "m.json")).exit_code == 0
    journal = (case.root / "journal.jsonl").read_bytes()
    stored = _store_files(case)
    _full_disk_under(scratch_parent, monkeypatch)
    r = irkit(
        *("backup", "verify", str(artifact), *where, "--sign-off"),
        case=case.root,
        key=key_files.bob,
    )
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output
    line = r.output.splitlines()[0]
    assert line.startswith("irkit: error: scratch space ")
    assert str(scratch_parent) in line and "ENOSPC" in line and "no verdict" in line
    assert (case.root / "journal.jsonl").read_bytes() == journal  # nothing signed
    assert _store_files(case) == stored
    assert list(scratch_parent.iterdir()) == []  # scratch removed


def test_keep_folder_of_a_failed_restore_is_removed(
    tmp_path: Path, irkit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _tree(tmp_path)
    archive = _tar(data, tmp_path / "b.tar.gz")
    keep = tmp_path / "kept"
    _full_disk_under(tmp_path / "kept", monkeypatch)
    r = irkit("backup", "verify", str(archive), "--source", str(data), "--keep", str(keep))
    assert r.exit_code == 2 and "ENOSPC" in r.output, r.output
    assert not keep.exists()


def test_damaged_archive_is_still_a_signed_fail(
    tmp_path: Path, irkit: Any, case: Case, key_files: Any, scratch_parent: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.txt").write_bytes(base64.b64encode(random.Random(0).randbytes(3 << 20)))
    archive = _tar(data, tmp_path / "b.tar.gz")
    damaged = bytearray(archive.read_bytes())
    damaged[1 << 20 : (1 << 20) + 4096] = b"\xff" * 4096  # mid-stream: inflate stops here
    archive.write_bytes(damaged)
    r = irkit(
        *("backup", "verify", str(archive), "--source", str(data), "--sign-off"),
        case=case.root,
        key=key_files.bob,
    )
    assert r.exit_code == 1, r.output
    assert "archive is damaged" in r.output and "sign-off refused: verdict FAIL" in r.output
    body = case.read_entries().entries[-1].body
    assert body["verdict"] == "FAIL" and body["signed_off"] is False
    # the digest signed is the whole artifact's, not that of the part read before the damage
    assert body["artifact_sha256"] == hashlib.sha256(damaged).hexdigest()
    assert list(scratch_parent.iterdir()) == []


def test_archive_cut_before_its_first_member_is_a_fail_not_a_crash(tmp_path: Path) -> None:
    data = _tree(tmp_path)
    archive = _tar(data, tmp_path / "b.tar.gz")
    archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    got = testrestore.run_verify(archive, source=data)
    assert got.verdict == "FAIL" and "archive is damaged" in got.failures[0]


def test_a_name_the_scratch_file_system_refuses_is_a_refused_member(tmp_path: Path) -> None:
    """Not every write-side error is the machine's: a member name too long for the file
    system is the archive's doing, refused like any other bad member."""
    archive = tmp_path / "long.tar"
    payload = tmp_path / "p"
    payload.write_text("x")
    with tarfile.open(archive, "w") as tf:
        tf.add(payload, arcname="n" * 300)
        tf.add(payload, arcname="ok.txt")
    dest = tmp_path / "dest"
    dest.mkdir()
    got = extract.restore(archive, dest)
    assert [r[0] for r in got.refused] == ["n" * 300]
    assert "longer than 255 bytes" in got.refused[0][1]
    assert list(got.files) == ["ok.txt"]


def _nearly_full(monkeypatch: pytest.MonkeyPatch) -> None:
    real = os.statvfs

    class Full:
        def __init__(self, st: os.statvfs_result) -> None:
            self.f_frsize, self.f_files, self.f_favail = st.f_frsize, st.f_files, st.f_favail
            self.f_bavail = 3  # three blocks left, as a disk a tool has just filled

    monkeypatch.setattr(os, "statvfs", lambda p: Full(real(p)))


def test_failing_restore_command_on_a_full_scratch_disk(
    tmp_path: Path, scratch_parent: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _tree(tmp_path)
    cmd = f"{shlex.quote(sys.executable)} -c 'import sys; sys.exit(1)'"
    got = testrestore.run_verify(data, source=data, restore_cmd=cmd)
    assert got.verdict == "FAIL"  # room to spare: the tool's exit status is a finding
    _nearly_full(monkeypatch)
    with pytest.raises(EnvironmentFailure, match=r"scratch space .* is full"):
        testrestore.run_verify(data, source=data, restore_cmd=cmd)
    assert list(scratch_parent.iterdir()) == []


def test_postgres_restore_on_a_full_scratch_disk(
    pg_dumps: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "cut.dump"
    broken.write_bytes(pg_dumps.custom.read_bytes()[:-200])  # pg_restore fails on it
    scratch = Path(os.path.realpath(tmp_path)) / "s"
    scratch.mkdir()
    assert postgres.restore_dump(broken, scratch=scratch).error is not None  # a finding
    _nearly_full(monkeypatch)
    with pytest.raises(EnvironmentFailure, match="is full"):
        postgres.restore_dump(broken, scratch=scratch)
    assert list(scratch.iterdir()) == []


def test_sqlite_out_of_room_is_no_verdict(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite reports a full temp store as SQLITE_FULL: no verdict on the database."""
    import sqlite3

    from irkit.backup import spec as plausibility

    data = _tree(tmp_path)
    spec = plausibility.Spec.model_validate({"sqlite": [{"glob": "*.sqlite"}]})
    assert all(f.ok for f in plausibility.run_checks(data, spec))
    real = sqlite3.connect

    def connect(*args: Any, **kwargs: Any) -> Any:
        con = real(*args, **kwargs)
        con.close()
        exc = sqlite3.OperationalError("database or disk is full")
        exc.sqlite_errorcode = sqlite3.SQLITE_FULL
        raise exc

    monkeypatch.setattr(sqlite3, "connect", connect)
    with pytest.raises(EnvironmentFailure, match="no verdict"):
        plausibility.run_checks(data, spec)


def test_archive_check_failing_on_this_machine_is_no_verdict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gzip

    from irkit.backup import spec as plausibility

    (tmp_path / "a.gz").write_bytes(gzip.compress(b"x" * 1000))
    (tmp_path / "bad.gz").write_bytes(b"\x1f\x8b not gzip")
    spec = plausibility.Spec.model_validate({"archives": [{"glob": "*.gz"}]})
    assert [f.ok for f in plausibility.run_checks(tmp_path, spec)] == [True, False]

    def no_descriptors(*_a: Any, **_k: Any) -> Any:
        raise OSError(errno.EMFILE, os.strerror(errno.EMFILE))

    monkeypatch.setattr(extract, "PipelinedStream", no_descriptors)
    with pytest.raises(EnvironmentFailure, match="EMFILE"):
        plausibility.run_checks(tmp_path, spec)


def test_restore_tool_output_that_is_not_utf8(tmp_path: Path) -> None:
    """What a tool prints is not ours to trust either: stored with replacement characters."""
    script = "import sys; sys.stdout.buffer.write(b'\\xff\\xfe restored\\n')"
    got = extract.restore_cmd([sys.executable, "-c", script], tmp_path, 30)
    assert got.findings == [] and "restored" in got.output
