"""Commands that only read a case work on read-only media (a write-blocked disk, a DVD, a
read-only share): they take a shared lock on a read-only descriptor, never the write lock.

Two ways to make the case read-only, each test running under both: a real read-only bind
mount (needs mount(2), i.e. root; skipped, saying why, without it), and an `os.open` that
refuses, as a read-only file system does (EROFS), every open for writing under the case,
which runs anywhere."""

from __future__ import annotations

import errno
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from irkit.record.case import Case
from tests.conftest import KeyFiles, Runner

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


@pytest.fixture
def prepared(case: Case, irkit: Runner, key_files: KeyFiles, tmp_path: Path) -> Path:
    """The shared case with a note, a collected file, a kept checkpoint and a report."""
    root = case.root
    log = tmp_path / "auth.log"
    log.write_bytes(b"Accepted publickey for deploy from 203.0.113.45\n")
    for args in (
        ("note", "add", "web-01 looked at", "--attach", str(log)),
        ("evidence", "collect", str(log), "--description", "auth log"),
        ("checkpoint", "-o", str(tmp_path / "kept.txt")),
        ("report", "-o", str(tmp_path / "report.pdf")),
    ):
        result = irkit(*args, key=key_files.alice, case=root)
        assert result.exit_code == 0, (args, result.output)
    return root


@pytest.fixture(params=["bind-mount", "refused-writes"])
def read_only(
    request: pytest.FixtureRequest, prepared: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    if request.param == "refused-writes":
        real_open = os.open
        prefix = str(prepared.resolve()) + os.sep

        def refusing_open(path: object, flags: int, *args: object, **kw: object) -> int:
            full = os.path.abspath(os.fsdecode(path))  # type: ignore[arg-type]
            if flags & _WRITE_FLAGS and (full + os.sep).startswith(prefix):
                raise OSError(errno.EROFS, os.strerror(errno.EROFS), full)
            return real_open(path, flags, *args, **kw)  # type: ignore[arg-type]

        monkeypatch.setattr(os, "open", refusing_open)
        yield prepared
        return
    where = tmp_path / "ro"
    where.mkdir()
    bound = subprocess.run(
        ["mount", "--bind", str(prepared), str(where)], capture_output=True, text=True, check=False
    )
    if bound.returncode != 0:
        pytest.skip(f"cannot bind-mount here ({bound.stderr.strip()}): see refused-writes")
    try:
        ro = subprocess.run(
            ["mount", "-o", "remount,ro,bind", str(where)],
            capture_output=True,
            text=True,
            check=False,
        )
        if ro.returncode != 0:
            pytest.skip(f"cannot remount read-only here ({ro.stderr.strip()})")
        with pytest.raises(OSError) as caught:
            (where / "probe").write_bytes(b"")
        assert caught.value.errno == errno.EROFS
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_reading_commands_work_on_a_read_only_case(
    read_only: Path, irkit: Runner, key_files: KeyFiles, tmp_path: Path
) -> None:
    items = json.loads(irkit("evidence", "list", "--json", case=read_only).output)
    item = items[0]["id"]
    runs = [
        ("member", "list"),
        ("log",),
        ("timeline",),
        ("case", "show"),
        ("evidence", "list"),
        ("evidence", "show", item),
        ("custody", "show", item),
        ("verify",),
        ("verify", "--checkpoint", str(tmp_path / "kept.txt")),
        ("report", "--check", str(tmp_path / "report.pdf")),
        ("exhibit", "create", "2", "-o", str(tmp_path / "a.json"), "--checkpoint",
         str(tmp_path / "kept.txt")),
    ]  # fmt: skip
    for args in runs:
        result = irkit(*args, key=key_files.alice, case=read_only)
        assert result.exit_code == 0, (args, result.output)
        assert "Read-only file system" not in result.output, args


def test_exhibit_on_read_only_media_signs_a_checkpoint_it_cannot_keep(
    read_only: Path, irkit: Runner, key_files: KeyFiles, tmp_path: Path
) -> None:
    out = tmp_path / "exhibit.json"
    kept_before = sorted(p.name for p in (read_only / "checkpoints").iterdir())
    result = irkit("exhibit", "create", "2", "-o", str(out), key=key_files.alice, case=read_only)
    assert result.exit_code == 0, result.output
    assert "checkpoint was not kept" in result.output and "Read-only file system" in result.output
    assert sorted(p.name for p in (read_only / "checkpoints").iterdir()) == kept_before
    check = irkit("exhibit", "verify", str(out))
    assert check.exit_code == 0, check.output


def test_writing_commands_fail_cleanly_on_read_only_media(
    read_only: Path, irkit: Runner, key_files: KeyFiles
) -> None:
    journal = (read_only / "journal.jsonl").read_bytes()
    result = irkit("note", "add", "cannot be written", key=key_files.alice, case=read_only)
    assert result.exit_code == 2, result.output
    assert "Read-only file system" in result.output
    assert (read_only / "journal.jsonl").read_bytes() == journal
