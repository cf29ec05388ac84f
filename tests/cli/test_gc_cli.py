"""Crash leftovers: `irkit verify` reports them as warnings with their size (exit code
unchanged), `irkit gc` removes them and never a stored file any journal line names."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from irkit.record.case import Case
from tests.conftest import KeyFiles, Runner

OLD = time.time() - 3 * 86400


@pytest.fixture
def scratch_base(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """TMPDIR for this test only (tempfile caches it, so set it there too)."""
    base = tmp_path / "tmpdir"
    base.mkdir()
    monkeypatch.setenv("TMPDIR", str(base))
    monkeypatch.setattr(tempfile, "tempdir", str(base))
    return base


def put_orphan(case: Case, data: bytes) -> Path:
    digest = hashlib.sha256(data).hexdigest()
    path = case.store.path_for(digest)
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    path.chmod(0o444)
    return path


def old_scratch(base: Path, name: str, size: int) -> Path:
    folder = base / f"irkit-restore-{name}"
    (folder / "restored").mkdir(parents=True)
    (folder / "restored" / "db.sqlite").write_bytes(b"\0" * size)
    for p in (folder / "restored" / "db.sqlite", folder / "restored", folder):
        os.utime(p, (OLD, OLD))
    return folder


def make_leftovers(case: Case, base: Path) -> dict[str, Path]:
    tmp = case.root / "evidence" / "tmp"
    tmp.mkdir(exist_ok=True)
    incoming = tmp / "incoming-4242-0123456789ab"
    incoming.write_bytes(b"x" * 5000)
    empty = case.root / "evidence" / "sha256" / "ff"
    empty.mkdir()
    return {
        "incoming": incoming,
        "orphan": put_orphan(case, b"copied by a collection that was killed\n"),
        "empty": empty,
        "scratch": old_scratch(base, "killed", 3000),
    }


@pytest.fixture
def named(irkit: Runner, key_files: KeyFiles, case: Case, tmp_path: Path) -> list[Path]:
    """Stored files the journal names: a collected item and a note's attachment."""
    item, attachment = tmp_path / "auth.log", tmp_path / "shot.png"
    item.write_bytes(b"Failed password for root\n")
    attachment.write_bytes(b"\x89PNG screenshot")
    assert irkit("evidence", "collect", str(item), key=key_files.bob, case=case.root).exit_code == 0
    r = irkit(
        "note", "add", "see shot", "--attach", str(attachment), key=key_files.bob, case=case.root
    )
    assert r.exit_code == 0, r.output
    return [
        case.store.path_for(hashlib.sha256(p.read_bytes()).hexdigest()) for p in (item, attachment)
    ]


def test_verify_reports_leftovers_as_warnings_with_their_size(
    irkit: Runner, case: Case, named: list[Path], scratch_base: Path
) -> None:
    make_leftovers(case, scratch_base)
    r = irkit("verify", case=case.root)
    assert r.exit_code == 0, r.output
    assert "VERIFIED" in r.stdout
    assert "1 partial copy in evidence/tmp (5.0 kB), left by interrupted commands" in r.stderr
    assert "1 stored file that no entry names (39 B)" in r.stderr
    assert "1 empty folder in evidence/sha256" in r.stderr
    assert f"1 irkit-restore-* scratch folder in {scratch_base} (3.0 kB)" in r.stderr
    assert r.stderr.count("`irkit gc` removes them") == 4
    doc = json.loads(irkit("verify", "--json", case=case.root).stdout)
    assert doc["ok"] and sum(w["code"] == "leftovers" for w in doc["warnings"]) == 4


def test_gc_dry_run_then_gc_removes_leftovers_and_never_a_named_file(
    irkit: Runner, case: Case, named: list[Path], scratch_base: Path
) -> None:
    left = make_leftovers(case, scratch_base)
    young = scratch_base / "irkit-restore-running"
    young.mkdir()  # a backup verify at work right now: not a leftover
    r = irkit("gc", "--dry-run", case=case.root)
    assert r.exit_code == 0, r.output
    assert "would remove 1 stored file that no entry names (39 B)" in r.stdout
    assert str(left["orphan"].relative_to(case.root)) in r.stdout
    assert all(p.exists() for p in left.values())

    r = irkit("gc", case=case.root)
    assert r.exit_code == 0, r.output
    assert "removed 1 partial copy in evidence/tmp (5.0 kB)" in r.stdout
    assert "removed 1 irkit-restore-* scratch folder" in r.stdout
    assert "freed 8.0 kB" in r.stdout
    assert not any(p.exists() for p in left.values())
    assert young.is_dir() and all(p.is_file() for p in named)
    r = irkit("verify", case=case.root)
    assert r.exit_code == 0 and "warning: 1" not in r.stderr and "leftovers" not in r.output
    assert irkit("gc", case=case.root).stdout.strip() == "nothing to remove"


def test_gc_json(irkit: Runner, case: Case, named: list[Path], scratch_base: Path) -> None:
    make_leftovers(case, scratch_base)
    doc = json.loads(irkit("gc", "--json", case=case.root).stdout)
    kinds = sorted(item["kind"] for item in doc["removed"])
    # the orphan's folder is emptied by its removal and goes too
    assert kinds == ["empty-folder", "empty-folder", "incoming", "orphan", "scratch"]
    assert doc["freed"] == 5000 + 39 + 3000 and doc["failed"] == [] and not doc["dry_run"]


def test_gc_refuses_while_a_writer_is_between_its_copy_and_its_entry(
    irkit: Runner, case: Case, scratch_base: Path, tmp_path: Path
) -> None:
    orphan = put_orphan(case, b"left by a crash\n")
    src = tmp_path / "being-collected.bin"
    src.write_bytes(b"copied, entry not yet appended")
    writer = Case.open(case.root)
    with writer.store.writing():
        blob = writer.store.put_file(src)
        r = irkit("gc", case=case.root)
        assert r.exit_code == 2
        assert "in use by a running command" in r.output and "nothing was removed" in r.output
        r = irkit("verify", case=case.root)
        assert r.exit_code == 0 and "leftovers not checked" in r.stderr
    assert orphan.is_file() and writer.store.path_for(blob.sha256).is_file()


def test_gc_keeps_a_file_named_only_by_a_torn_or_quarantined_line(
    irkit: Runner, case: Case, scratch_base: Path
) -> None:
    """A torn last line may be completed by `irkit repair`; a quarantined one is kept as
    evidence of the crash: neither's blobs count as orphans."""
    torn_blob = put_orphan(case, b"attached to the note the crash tore\n")
    with case.journal_path.open("ab") as fh:
        fh.write(b'{"actor":"ed25519:00","body":{"attachments":[{"sha256":"')
        fh.write(torn_blob.name.encode())
    assert "nothing to remove" in irkit("gc", case=case.root).stdout
    assert irkit("repair", "--yes", case=case.root).exit_code == 0
    assert list(case.root.glob("journal.quarantine-*.bin"))
    assert "nothing to remove" in irkit("gc", case=case.root).stdout
    assert torn_blob.is_file()


def test_gc_leaves_scratch_folders_in_use_or_not_ours(
    irkit: Runner, case: Case, scratch_base: Path
) -> None:
    live = old_scratch(scratch_base, "pg", 10)
    pg = live / "irkit-pg-x" / "data"
    pg.mkdir(parents=True)
    (pg / "postmaster.pid").write_text(f"{os.getpid()}\n/some/data\n")
    for p in (pg / "postmaster.pid", pg, pg.parent, live):
        os.utime(p, (OLD, OLD))
    theirs = old_scratch(scratch_base, "theirs", 10)
    os.chown(theirs, 12345, 12345)  # the tests run as root in CI; anyone else's stays
    gone = old_scratch(scratch_base, "gone", 10)
    r = irkit("gc", case=case.root)
    assert r.exit_code == 0, r.output
    assert live.is_dir() and theirs.is_dir() and not gone.exists()


_KILLED_COLLECTION = """
import os, sys, time
from pathlib import Path
from irkit.record.case import Case
from irkit.evidence.collect import collect
from irkit.record.keyfiles import load_signer

case = Case.open(Path(sys.argv[1]))
def stop(*args, **kwargs):  # every copy made, the entry not yet written: killed here
    print("copied", flush=True)
    time.sleep(60)
case.store.sync_all = stop
collect(case, load_signer(Path(sys.argv[2]), lambda: None), [Path(sys.argv[3])])
"""


def test_gc_removes_what_a_killed_collection_left(
    irkit: Runner,
    key_files: KeyFiles,
    case: Case,
    named: list[Path],
    tmp_path: Path,
    scratch_base: Path,
) -> None:
    folder = tmp_path / "big-folder"
    folder.mkdir()
    for i in range(50):
        (folder / f"f{i:02d}.log").write_bytes(f"line {i}\n".encode())
    (folder / "auth.log").write_bytes(b"Failed password for root\n")  # already collected
    argv = [sys.executable, "-c", _KILLED_COLLECTION, str(case.root), str(key_files.bob)]
    errors = tmp_path / "stderr.txt"
    with (
        errors.open("wb") as err,
        subprocess.Popen([*argv, str(folder)], stdout=subprocess.PIPE, stderr=err) as proc,
    ):
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline() == b"copied\n", errors.read_text()
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
    r = irkit("verify", case=case.root)
    assert r.exit_code == 0 and "50 stored files that no entry names" in r.stderr
    r = irkit("gc", case=case.root)
    assert r.exit_code == 0 and "removed 50 stored files that no entry names" in r.stdout
    assert all(p.is_file() for p in named)
    r = irkit("verify", case=case.root)
    assert r.exit_code == 0 and "leftovers" not in r.output and "gc" not in r.stderr
