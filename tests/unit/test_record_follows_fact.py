"""The record follows the fact: a command that writes a file and signs something about it
(report, member add, checkpoint, exhibit, init) writes first and signs after, so a failure
at any step leaves the journal as it was, no temporary behind, and a true exit code.

A full disk is simulated two ways: truthfully, on a small tmpfs filled to the last byte
(needs mount(2), i.e. root), and by making the real `os.write` fail with ENOSPC for files
in one folder, which is what a full disk does to the call irkit makes."""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from irkit.audit.verify import VerifyReport, verify_case
from irkit.formats import ed25519
from irkit.record import keyfiles
from irkit.record.case import Case
from tests.conftest import KeyFiles, Runner


def _fail_writes(monkeypatch: pytest.MonkeyPatch, hit: Callable[[str], bool]) -> None:
    """os.write raises ENOSPC for every descriptor whose file `hit` selects (by path)."""
    real = os.write

    def write(fd: int, data: bytes) -> int:
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            target = ""
        if hit(target):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(fd, data)

    monkeypatch.setattr(os, "write", write)


def _under(folder: Path) -> Callable[[str], bool]:
    prefix = str(folder.resolve()) + os.sep
    return lambda target: target.startswith(prefix)


def _journal_of(case: Case) -> Callable[[str], bool]:
    path = str(case.journal_path.resolve())
    return lambda target: target == path


def _snapshot(root: Path) -> dict[str, bytes]:
    """Every file of the case (but the disposable append cache) and its bytes."""
    out = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.name != ".irkit-state.json":
            out[str(path.relative_to(root))] = path.read_bytes()
    return out


def _clean(case: Case) -> VerifyReport:
    report = verify_case(case.root, jobs=1)
    assert report.ok, report.problems
    assert not [w for w in report.warnings if w.code in ("leftover-temp", "keys-dir")], (
        report.warnings
    )
    return report


@pytest.fixture
def mallory_pub(tmp_path: Path, mallory: ed25519.Signer) -> Path:
    path = tmp_path / "mallory.pub"
    path.write_bytes(mallory.public.pem())
    return path


# -- report -o -----------------------------------------------------------------------------


def test_report_into_a_missing_folder_records_nothing(
    case: Case, irkit: Runner, key_files: KeyFiles, tmp_path: Path
) -> None:
    before = _snapshot(case.root)
    result = irkit(
        "report", "-o", str(tmp_path / "nope" / "r.pdf"), key=key_files.alice, case=case.root
    )
    assert result.exit_code == 2, result.output
    assert "cannot write" in result.output and "nothing was recorded" in result.output
    assert _snapshot(case.root) == before
    assert not (tmp_path / "nope").exists()


def test_report_on_a_full_disk_records_nothing_and_leaves_no_temporary(
    case: Case,
    irkit: Runner,
    key_files: KeyFiles,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    before = _snapshot(case.root)
    _fail_writes(monkeypatch, _under(out_dir))
    result = irkit("report", "-o", str(out_dir / "r.pdf"), key=key_files.alice, case=case.root)
    assert result.exit_code == 2, result.output
    assert "No space left on device" in result.output
    assert _snapshot(case.root) == before
    assert list(out_dir.iterdir()) == []


def test_report_written_but_not_recorded_says_so(
    case: Case,
    irkit: Runner,
    key_files: KeyFiles,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = _snapshot(case.root)
    out = tmp_path / "r.pdf"
    _fail_writes(monkeypatch, _journal_of(case))
    result = irkit("report", "-o", str(out), key=key_files.alice, case=case.root)
    assert result.exit_code == 2, result.output
    assert f"wrote {out}, but could not record it in the journal" in result.output
    assert out.read_bytes().startswith(b"%PDF")
    assert _snapshot(case.root) == before
    monkeypatch.undo()
    _clean(case)


# -- member add ----------------------------------------------------------------------------


def test_member_add_on_a_full_keys_folder_appends_nothing(
    case: Case,
    irkit: Runner,
    key_files: KeyFiles,
    mallory_pub: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = _snapshot(case.root)
    _fail_writes(monkeypatch, _under(case.keys_dir))
    result = irkit(
        "member", "add", str(mallory_pub), "--name", "M", "--role", "responder",
        key=key_files.alice, case=case.root,
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "No space left on device" in result.output
    assert _snapshot(case.root) == before  # no entry, no key, no *.tmp in keys/
    monkeypatch.undo()
    _clean(case)


def test_member_add_whose_entry_fails_removes_the_new_key_file(
    case: Case,
    irkit: Runner,
    key_files: KeyFiles,
    mallory_pub: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = _snapshot(case.root)
    _fail_writes(monkeypatch, _journal_of(case))
    result = irkit(
        "member", "add", str(mallory_pub), "--name", "M", "--role", "responder",
        key=key_files.alice, case=case.root,
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert _snapshot(case.root) == before
    monkeypatch.undo()
    _clean(case)
    # and done for real: the key file is there when the entry is
    result = irkit(
        "member", "add", str(mallory_pub), "--name", "M", "--role", "responder",
        key=key_files.alice, case=case.root,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert case.key_path(keyfiles.read_public(mallory_pub).fingerprint).is_file()
    _clean(case)


def test_member_add_refused_signer_writes_no_key_file(
    case: Case, irkit: Runner, key_files: KeyFiles, mallory_pub: Path
) -> None:
    before = _snapshot(case.root)
    result = irkit(
        "member", "add", str(mallory_pub), "--name", "M", "--role", "lead",
        key=key_files.bob, case=case.root,
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert _snapshot(case.root) == before


def test_a_key_file_of_a_non_member_is_a_warning_not_a_problem(
    case: Case, mallory: ed25519.Signer
) -> None:
    """What a concurrent add may leave: verify says so and still passes."""
    case.key_path(mallory.fingerprint).write_bytes(mallory.public.pem())
    report = verify_case(case.root, jobs=1)
    assert report.ok, report.problems
    assert any("is not a member's key" in w.message for w in report.warnings)


# -- checkpoint and exhibit ---------------------------------------------------------------


def test_checkpoint_into_a_missing_folder_keeps_nothing(
    case: Case, irkit: Runner, key_files: KeyFiles, tmp_path: Path
) -> None:
    before = _snapshot(case.root)
    result = irkit(
        "checkpoint", "-o", str(tmp_path / "nope" / "cp.txt"), key=key_files.alice, case=case.root
    )
    assert result.exit_code == 2, result.output
    assert "no checkpoint was kept" in result.output
    assert _snapshot(case.root) == before


def test_checkpoint_on_a_full_disk_leaves_no_temporary(
    case: Case,
    irkit: Runner,
    key_files: KeyFiles,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = _snapshot(case.root)
    _fail_writes(monkeypatch, _under(case.checkpoints_dir))
    result = irkit("checkpoint", key=key_files.alice, case=case.root)
    assert result.exit_code == 2, result.output
    assert _snapshot(case.root) == before
    assert list(case.checkpoints_dir.iterdir()) == []
    out = tmp_path / "cp.txt"
    result = irkit("checkpoint", "-o", str(out), key=key_files.alice, case=case.root)
    assert result.exit_code == 2, result.output
    assert f"wrote {out}, but could not keep the checkpoint" in result.output
    assert out.read_bytes().startswith(b"irkit.case/TEST-1/")
    assert list(case.checkpoints_dir.iterdir()) == []
    monkeypatch.undo()
    _clean(case)


def test_exhibit_into_a_missing_folder_keeps_no_checkpoint(
    case: Case, irkit: Runner, key_files: KeyFiles, tmp_path: Path
) -> None:
    before = _snapshot(case.root)
    result = irkit(
        "exhibit",
        "create",
        "1",
        "-o",
        str(tmp_path / "nope" / "x.json"),
        key=key_files.alice,
        case=case.root,
    )
    assert result.exit_code == 2, result.output
    assert "cannot write" in result.output
    assert _snapshot(case.root) == before


# -- leftovers -----------------------------------------------------------------------------


def test_verify_warns_about_leftover_temporaries_and_passes(
    case: Case, alice: ed25519.Signer
) -> None:
    from irkit.record import checkpoints, safefile

    checkpoints.issue(case, alice)
    leftovers = [
        case.checkpoints_dir / safefile.temp_name("00000002-0badc0de.txt"),
        case.keys_dir / safefile.temp_name("ab" * 32 + ".pub"),
        case.checkpoints_dir / "00000002-0badc0de.tmp",  # what older versions left
        case.keys_dir / ("cd" * 32 + ".tmp"),
    ]
    for path in leftovers:
        path.write_bytes(b"")
    report = verify_case(case.root, jobs=1)
    assert report.ok, report.problems
    warned = [w.message for w in report.warnings if w.code == "leftover-temp"]
    assert len(warned) == 4 and all("(0 bytes)" in w for w in warned)


def test_init_whose_marker_cannot_be_written_leaves_nothing(
    irkit: Runner, key_files: KeyFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "new-case"
    _fail_writes(monkeypatch, lambda t: "irkit-case.json" in t)
    result = irkit("init", str(target), "--title", "t", key=key_files.alice)
    assert result.exit_code == 2, result.output
    assert not target.exists()


# -- a real full disk ----------------------------------------------------------------------


@pytest.fixture
def full_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs; the test fills it. Needs mount(2): skipped, saying why, without it."""
    where = tmp_path / "small"
    where.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(where)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()}): covered by injection")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def _fill(folder: Path) -> None:
    with (folder / "filler").open("wb", buffering=0) as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
        try:
            while True:
                fh.write(b"\0")
        except OSError as exc:
            assert exc.errno == errno.ENOSPC


def test_a_full_disk_fails_commands_cleanly(
    full_tmpfs: Path,
    irkit: Runner,
    key_files: KeyFiles,
    mallory_pub: Path,
    alice: ed25519.Signer,
    bob: ed25519.Signer,
) -> None:
    from irkit.record.case import add_member, init_case

    case = init_case(full_tmpfs / "case", title="t", case_id="FULL-1", signer=alice)
    add_member(case, alice, bob.public, name="Bob", role="responder")
    _fill(full_tmpfs)
    before = _snapshot(case.root)
    runs = [
        ("member", "add", str(mallory_pub), "--name", "M", "--role", "responder"),
        ("checkpoint",),
        ("report", "-o", str(full_tmpfs / "r.pdf")),
        ("exhibit", "create", "1", "-o", str(full_tmpfs / "x.json")),
    ]  # (a note may still fit in the journal's last, partly used page: not tried)
    for args in runs:
        result = irkit(*args, key=key_files.alice, case=case.root)
        assert result.exit_code == 2, (args, result.output)
        assert "No space left on device" in result.output, (args, result.output)
        assert _snapshot(case.root) == before, args
        assert sorted(p.name for p in full_tmpfs.iterdir()) == ["case", "filler"], args
    _clean(case)
    (full_tmpfs / "filler").unlink()
    for args in runs:
        result = irkit(*args, key=key_files.alice, case=case.root)
        assert result.exit_code == 0, (args, result.output)
    _clean(case)


def test_key_generate_on_a_full_disk_leaves_no_partial_key(
    irkit: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A truncated key file left behind would make every retry say "already exists"."""
    folder = tmp_path / "ids"
    folder.mkdir()
    out = folder / "me.key"
    _fail_writes(monkeypatch, _under(folder))
    result = irkit("key", "generate", "--name", "Me", "--out", str(out), "--no-passphrase")
    assert result.exit_code == 2, result.output
    assert list(folder.iterdir()) == []
    monkeypatch.undo()
    result = irkit("key", "generate", "--name", "Me", "--out", str(out), "--no-passphrase")
    assert result.exit_code == 0, result.output
    assert keyfiles.read_public(out).name == "Me"


def test_a_collection_on_a_full_disk_leaves_no_working_folder(
    full_tmpfs: Path, irkit: Runner, key_files: KeyFiles, alice: ed25519.Signer, tmp_path: Path
) -> None:
    """Not even an empty evidence/tmp: the case is as it was, folders included."""
    from irkit.record.case import init_case

    case = init_case(full_tmpfs / "case", title="t", case_id="FULL-2", signer=alice)
    src = tmp_path / "big.bin"
    src.write_bytes(os.urandom(64 * 1024))
    _fill(full_tmpfs)
    before = sorted(str(p.relative_to(case.root)) for p in case.root.rglob("*"))
    for args in (("evidence", "collect", str(src)), ("note", "add", "x", "--attach", str(src))):
        result = irkit(*args, key=key_files.alice, case=case.root)
        assert result.exit_code == 2, (args, result.output)
        after = sorted(str(p.relative_to(case.root)) for p in case.root.rglob("*"))
        assert [p for p in after if p != ".irkit-state.json"] == [
            p for p in before if p != ".irkit-state.json"
        ], args
