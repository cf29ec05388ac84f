"""A folder that cannot be listed is an error like an unreadable file (exit 1), named as
such; in --audit its files are unchecked, not missing. Root reads every folder, so the
refusal comes from os.scandir itself, for one folder, in the forked and the threaded run."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from typing import Any

import pytest

from irkit.backup import manifest as backupmanifest
from irkit.errors import InputError
from irkit.hashing import files

FILES = 80  # enough for forked workers (32 files per worker at least)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    (root / "locked" / "deeper").mkdir(parents=True)
    for i in range(FILES):
        (root / f"f{i:03}").write_text(f"file {i}")
    (root / "locked" / "inside").write_text("cannot be seen")
    (root / "locked" / "deeper" / "more").write_text("nor this")
    return root


def _lock(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """os.scandir refuses FOLDER as a mode-000 folder refuses a non-root user."""
    real = os.scandir
    locked = os.fsencode(folder)

    def scandir(path: Any = ".") -> Any:
        if not isinstance(path, int) and os.fsencode(path).rstrip(b"/") == locked:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)


def _count_forks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    forks: list[int] = []
    real = os.fork

    def fork() -> int:
        forks.append(1)
        return real()

    monkeypatch.setattr(os, "fork", fork)
    return forks


@pytest.mark.parametrize("jobs", ["1", "2"])  # one thread; forked workers
def test_unreadable_folder_is_an_error(
    jobs: str, tree: Path, irkit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _lock(monkeypatch, tree / "locked")
    forks = _count_forks(monkeypatch)
    r = irkit("hash", "-j", jobs, str(tree))
    assert (len(forks) > 0) == (jobs == "2")  # each path really taken
    assert r.exit_code == 1, r.output
    assert f"{tree / 'locked'}: unreadable folder: Permission denied" in r.output
    assert "special file" not in r.output
    assert r.stdout.count("  ") >= FILES, r.stdout  # every readable file still hashed


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_audit_counts_the_folder_unreadable_and_its_files_unchecked(
    jobs: str, tree: Path, tmp_path: Path, irkit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = tmp_path / "m.sha256"
    assert irkit("hash", str(tree), "-o", str(manifest)).exit_code == 0
    _lock(monkeypatch, tree / "locked")
    r = irkit("hash", "-j", jobs, "--audit", str(manifest), "--json", str(tree))
    assert r.exit_code == 1
    data = json.loads(r.stdout)
    assert data["summary"]["missing"] == 0
    assert data["summary"]["unreadable"] == 1 and data["summary"]["matched"] == FILES
    assert data["unreadable"] == [str(tree / "locked")]
    assert sorted(data["unchecked"]) == [
        str(tree / "locked" / "deeper" / "more"),
        str(tree / "locked" / "inside"),
    ]
    r = irkit("hash", "-j", jobs, "--audit", str(manifest), str(tree))
    assert r.exit_code == 1
    assert "missing 0, unreadable 1, unchecked 2" in r.output
    assert f"unchecked (in an unreadable folder): {tree / 'locked' / 'inside'}" in r.output


def test_a_copy_elsewhere_is_no_move_out_of_an_unreadable_folder(
    tree: Path, tmp_path: Path, irkit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = tmp_path / "m.sha256"
    assert irkit("hash", str(tree), "-o", str(manifest)).exit_code == 0
    (tree / "copy").write_text("cannot be seen")  # same content as locked/inside
    _lock(monkeypatch, tree / "locked")
    data = json.loads(irkit("hash", "--audit", str(manifest), "--json", str(tree)).stdout)
    assert data["moved"] == [] and data["new"] == [str(tree / "copy")]
    assert len(data["unchecked"]) == 2


def test_unreadable_root_folder(tree: Path, irkit: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _lock(monkeypatch, tree)
    r = irkit("hash", str(tree))
    assert r.exit_code == 1 and f"{tree}: unreadable folder" in r.output


def test_walk_hands_an_unreadable_folder_to_onerror(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """For callers that must stop (evidence collection): the error, never a silent gap."""
    _lock(monkeypatch, tree / "locked")
    failed: list[bytes] = []
    paths = list(files.walk([os.fsencode(tree)], onerror=lambda p, _e: failed.append(p)))
    assert failed == [os.fsencode(tree / "locked")]
    assert os.fsencode(tree / "locked") not in paths and len(paths) == FILES


def test_backup_manifest_refuses_an_unreadable_folder(
    tree: Path, tmp_path: Path, irkit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A backup manifest that silently left a folder out would later call its files extra."""
    _lock(monkeypatch, tree / "locked")
    with pytest.raises(InputError, match="unreadable folder"):
        backupmanifest.scan(tree)
    out = tmp_path / "m.json"
    r = irkit("backup", "manifest", str(tree), "-o", str(out))
    assert r.exit_code == 2 and "unreadable folder" in r.output and "Traceback" not in r.output
    assert not out.exists() and list(tmp_path.glob("m.json*")) == []


def test_backup_verify_of_a_folder_with_an_unreadable_subfolder(
    tree: Path, tmp_path: Path, irkit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not a FAIL with the folder's files "missing": what was not read has no verdict."""
    manifest = tmp_path / "m.json"
    backupmanifest.write(tree, manifest)
    _lock(monkeypatch, tree / "locked")
    r = irkit("backup", "verify", str(tree), "--manifest", str(manifest))
    assert r.exit_code == 2, r.output
    assert "unreadable folder in the artifact" in r.output and "missing" not in r.output


def test_evidence_collect_refuses_a_folder_it_cannot_list(
    tree: Path, irkit: Any, key_files: Any, case: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A collection that silently lacked a folder's files would be signed as complete."""
    _lock(monkeypatch, tree / "locked")
    before = (case.root / "journal.jsonl").read_bytes()
    r = irkit("evidence", "collect", str(tree), key=key_files.bob, case=case.root)
    assert r.exit_code == 2, r.output
    assert "unreadable folder" in r.output and "locked" in r.output
    assert (case.root / "journal.jsonl").read_bytes() == before
    assert [p for p in (case.root / "evidence").rglob("*") if p.is_file()] == []
