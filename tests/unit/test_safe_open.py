"""Nothing in a case is opened through a symlink or in a way a FIFO, socket or device can
block: every command on such a case ends promptly with one clear line and the right exit code.

Each CLI run is a subprocess with a timeout, so a regression fails the test instead of
hanging the suite."""

from __future__ import annotations

import errno
import os
import socket
import stat
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from irkit.formats.ed25519 import Signer
from irkit.notes.notes import add_note
from irkit.record import safefile
from irkit.record.case import Case
from tests.conftest import KeyFiles

TIMEOUT = 20


def _guarded(fn: Callable[[], object], fifo: Path | None = None) -> object:
    """Run `fn` on a thread; fail (and unblock it through `fifo`) if it does not return."""
    box: dict[str, object] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 -- handed to the test thread
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(TIMEOUT)
    if thread.is_alive():
        if fifo is not None:  # a writer lets a blocked open return, so the thread ends
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            os.close(fd)
        pytest.fail(f"blocked for {TIMEOUT} s")
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box.get("value")


# -- the helper itself --------------------------------------------------------------------


@pytest.fixture
def unix_socket(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "sock"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    yield path
    sock.close()


def _specials(tmp_path: Path, sock_path: Path) -> list[tuple[str, Path]]:
    found: list[tuple[str, Path]] = [("a socket", sock_path)]
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    found.append(("a FIFO", fifo))
    folder = tmp_path / "folder"
    folder.mkdir()
    found.append(("a folder", folder))
    target = tmp_path / "real"
    target.write_bytes(b"data")
    link = tmp_path / "link"
    link.symlink_to(target)
    found.append(("a symbolic link", link))
    if os.geteuid() == 0:
        device = tmp_path / "null"
        os.mknod(device, stat.S_IFCHR | 0o600, os.makedev(1, 3))  # /dev/null's numbers
        found.append(("a device", device))
    return found


@pytest.mark.parametrize("flags", [os.O_RDONLY, os.O_RDWR | os.O_APPEND, os.O_WRONLY])
def test_open_regular_refuses_every_special_file_without_blocking(
    tmp_path: Path, unix_socket: Path, flags: int
) -> None:
    seen = []
    for what, path in _specials(tmp_path, unix_socket):
        with pytest.raises(safefile.NotRegularFile) as caught:
            _guarded(lambda p=path: safefile.open_regular(p, flags), path)  # type: ignore[misc]
        assert what in str(caught.value.strerror), (what, caught.value)
        assert isinstance(caught.value, OSError)  # reported wherever an OSError is
        seen.append(what)
    assert {"a FIFO", "a socket", "a folder", "a symbolic link"} <= set(seen)


def test_open_regular_reads_a_file_blocking_as_usual(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * 100_000)
    fd = safefile.open_regular(path)
    try:
        import fcntl

        assert not fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_NONBLOCK
    finally:
        os.close(fd)
    assert safefile.read_bytes(path) == b"x" * 100_000
    with pytest.raises(FileNotFoundError):
        safefile.read_bytes(tmp_path / "missing")


def test_atomic_write_leaves_no_temporary_on_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "out.txt"
    target.write_bytes(b"old")
    real_write = os.write

    def full(fd: int, data: bytes) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(OSError, match="No space left"):
        safefile.atomic_write(target, b"new")
    monkeypatch.setattr(os, "write", real_write)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]
    assert target.read_bytes() == b"old"
    with pytest.raises(FileExistsError):
        safefile.atomic_write(target, b"new", replace=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]
    safefile.atomic_write(target, b"new")
    assert target.read_bytes() == b"new"
    name = safefile.temp_name("00000003-abcd.txt")
    assert name.startswith(".") and safefile.is_temp_name(name)
    assert not safefile.is_temp_name("00000003-abcd.txt")


# -- commands on a case with a special file where a file belongs ------------------------


@pytest.fixture
def filled(case: Case, alice: Signer, tmp_path: Path) -> Case:
    """The shared test case with a note carrying an attachment, and a kept checkpoint."""
    from irkit.record import checkpoints

    attachment = tmp_path / "auth.log"
    attachment.write_bytes(b"Accepted publickey for deploy\n")
    add_note(case, alice, "copied the auth log", attach=[attachment])
    checkpoints.issue(case, alice)
    return case


def _run(key_files: KeyFiles, case: Case, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "IRKIT_HOME": str(case.root.parent / "home"),
        "IRKIT_KEY": str(key_files.alice),
        "IRKIT_CASE": str(case.root),
    }
    if "PYTHONPATH" in os.environ:
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    try:
        return subprocess.run(
            [sys.executable, "-m", "irkit", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"`irkit {' '.join(args)}` blocked for {TIMEOUT} s")


def _replace_with_fifo(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


def _blob(case: Case) -> Path:
    (blob,) = (p for p in (case.store.root / "sha256").rglob("*") if p.is_file())
    return blob


def test_fifo_journal_blocks_nothing(filled: Case, key_files: KeyFiles) -> None:
    _replace_with_fifo(filled.journal_path)
    result = _run(key_files, filled, "verify")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "journal.jsonl is not a regular file: a FIFO" in result.stdout
    for args in (("note", "add", "still here"), ("log",), ("member", "list"), ("checkpoint",)):
        result = _run(key_files, filled, *args)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert "a FIFO" in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr


def test_fifo_marker_and_state_cache_block_nothing(filled: Case, key_files: KeyFiles) -> None:
    state = filled.root / ".irkit-state.json"
    if state.exists():
        state.unlink()
    os.mkfifo(state)
    result = _run(key_files, filled, "note", "add", "the cache is only a cache")
    assert result.returncode == 0, result.stderr
    _replace_with_fifo(filled.root / "irkit-case.json")
    result = _run(key_files, filled, "log")
    assert result.returncode == 2, result.stderr
    assert "irkit-case.json is not a regular file: a FIFO" in result.stderr


def test_fifo_or_socket_in_keys_and_checkpoints_is_a_problem(
    filled: Case, key_files: KeyFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    os.mkfifo(filled.keys_dir / ("ab" * 32 + ".pub"))
    os.mkfifo(filled.checkpoints_dir / "00000009-deadbeef.txt")
    sock = socket.socket(socket.AF_UNIX)
    monkeypatch.chdir(filled.keys_dir)  # a socket's path is limited to 108 bytes
    sock.bind("cd" * 32 + ".pub")
    try:
        result = _run(key_files, filled, "verify")
    finally:
        sock.close()
    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    assert f"keys/{'ab' * 32}.pub is not a readable public key (not a regular file: a FIFO)" in out
    assert "(not a regular file: a socket)" in out
    assert "checkpoints/00000009-deadbeef.txt: unreadable checkpoint" in out
    # an exhibit on the same case picks the kept checkpoint and ignores the FIFO
    result = _run(key_files, filled, "exhibit", "create", "1", "-o", str(filled.root.parent / "x"))
    assert result.returncode == 0, result.stderr


def test_fifo_as_stored_evidence_is_a_problem(filled: Case, key_files: KeyFiles) -> None:
    blob = _blob(filled)
    os.chmod(blob, 0o644)
    _replace_with_fifo(blob)
    result = _run(key_files, filled, "verify")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "stored copy refused (not a regular file: a FIFO)" in result.stdout


def test_verify_refuses_a_symlinked_journal(filled: Case, key_files: KeyFiles) -> None:
    elsewhere = filled.root.parent / "journal-copy.jsonl"
    before = filled.journal_path.read_bytes()
    elsewhere.write_bytes(before)
    filled.journal_path.unlink()
    filled.journal_path.symlink_to(elsewhere)
    result = _run(key_files, filled, "verify")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "journal.jsonl is not a regular file: a symbolic link" in result.stdout
    result = _run(key_files, filled, "note", "add", "x")
    assert result.returncode == 2 and "symbolic link" in result.stderr
    assert elsewhere.read_bytes() == before  # the link's target was not written


def test_verify_refuses_stored_evidence_replaced_by_a_symlink(
    filled: Case, key_files: KeyFiles
) -> None:
    """Even a link to a file holding exactly the right bytes: the store holds copies."""
    blob = _blob(filled)
    outside = filled.root.parent / "same-bytes"
    outside.write_bytes(blob.read_bytes())
    os.chmod(blob, 0o644)
    blob.unlink()
    blob.symlink_to(outside)
    result = _run(key_files, filled, "verify")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "stored copy refused (not a regular file: a symbolic link" in result.stdout


def test_folder_as_journal_is_reported_not_crashed(filled: Case, key_files: KeyFiles) -> None:
    filled.journal_path.unlink()
    filled.journal_path.mkdir()
    result = _run(key_files, filled, "verify")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "journal.jsonl is not a regular file: a folder" in result.stdout
    result = _run(key_files, filled, "note", "add", "x")
    assert result.returncode == 2 and "a folder" in result.stderr
