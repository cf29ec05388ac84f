"""The journal file: append-only lines, one canonical JSON entry each.

This module knows bytes, offsets, locks and fsync; what an entry means lives elsewhere.
Appending takes an exclusive lock, looks only at the file's tail, writes one line with a
single `write`, and fsyncs before returning, so its cost does not grow with the journal.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from irkit.errors import JournalError, TornTailError
from irkit.record import safefile

JOURNAL_NAME = "journal.jsonl"
HASH_PREFIX = "sha256:"
GENESIS_PREV = HASH_PREFIX + "0" * 64


def entry_hash(line: bytes) -> str:
    """Hash that the next entry's `prev` carries: SHA-256 of the line without its newline."""
    return HASH_PREFIX + hashlib.sha256(line).hexdigest()


@dataclass(frozen=True)
class TornTail:
    offset: int
    data: bytes


@dataclass
class Scan:
    """Every complete line of a journal, with byte offsets, and a torn tail if there is one."""

    lines: list[bytes] = field(default_factory=list)
    offsets: list[int] = field(default_factory=list)
    torn: TornTail | None = None
    size: int = 0


def scan_bytes(data: bytes) -> Scan:
    scan = Scan(size=len(data))
    pos = 0
    end = len(data)
    lines, offsets = scan.lines, scan.offsets
    while pos < end:
        nl = data.find(b"\n", pos)
        if nl < 0:
            scan.torn = TornTail(pos, data[pos:])
            break
        lines.append(data[pos:nl])
        offsets.append(pos)
        pos = nl + 1
    return scan


class NotAJournal(JournalError):
    """journal.jsonl is a symlink, FIFO, folder or other non-file: never read, never written."""


def read(path: Path) -> Scan:
    """Every line of the journal at `path`; a symlink, FIFO or other non-file is refused."""
    try:
        data = safefile.read_bytes(path)
    except FileNotFoundError as exc:
        raise JournalError(f"journal missing: {path}") from exc
    except safefile.NotRegularFile as exc:
        raise NotAJournal(f"cannot read journal {path}: {exc.strerror}") from exc
    except OSError as exc:
        raise JournalError(f"cannot read journal {path}: {exc.strerror}") from exc
    return scan_bytes(data)


class LockedJournal:
    """A journal held under a lock; only valid inside `Journal.locked()` (exclusive, may
    append) or `Journal.reading()` (shared, read-only)."""

    def __init__(self, fd: int, path: Path, *, writable: bool = True) -> None:
        self._fd = fd
        self.path = path
        self.writable = writable

    def size(self) -> int:
        return os.fstat(self._fd).st_size

    def read_range(self, start: int, end: int) -> bytes:
        return os.pread(self._fd, end - start, start)

    def check_tail(self) -> None:
        """Refuse to append after a torn line: the new entry would be glued onto it."""
        size = self.size()
        if size and self.read_range(size - 1, size) != b"\n":
            raise TornTailError(
                "the journal's last line is incomplete (a crash mid-write); nothing was written",
                hint="run `irkit repair` to set it aside, then retry",
            )

    def append_line(self, line: bytes) -> int:
        """Write `line` + newline at the end and fsync; on failure, cut back what was written."""
        return self.append_lines([line])

    def append_lines(self, lines: list[bytes]) -> int:
        """Write several whole lines at the end with one fsync (a pull's incoming entries);
        on failure, cut back what was written. Returns the offset of the first."""
        if any(b"\n" in line for line in lines):
            raise ValueError("a journal line cannot contain a newline")
        if not self.writable:
            raise ValueError("a journal opened for reading cannot be appended to")
        start = self.size()
        data = memoryview(b"".join(line + b"\n" for line in lines))
        written = 0
        try:
            while written < len(data):
                written += os.write(self._fd, data[written:])
            os.fsync(self._fd)
        except BaseException:
            if written:
                os.ftruncate(self._fd, start)
                os.fsync(self._fd)
            raise
        return start

    def truncate(self, size: int) -> None:
        if not self.writable:
            raise ValueError("a journal opened for reading cannot be truncated")
        os.ftruncate(self._fd, size)
        os.fsync(self._fd)


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def locked(self, *, create: bool = False) -> Iterator[LockedJournal]:
        """The journal under an exclusive lock, for appending."""
        flags = os.O_RDWR | os.O_APPEND
        if create:
            flags |= os.O_CREAT | os.O_EXCL
        with self._open(flags, fcntl.LOCK_EX) as fd:
            yield LockedJournal(fd, self.path)

    @contextmanager
    def reading(self) -> Iterator[LockedJournal]:
        """The journal under a shared lock, opened read-only: for commands that only read,
        so they work on read-only media and never wait for one another."""
        with self._open(os.O_RDONLY, fcntl.LOCK_SH) as fd:
            yield LockedJournal(fd, self.path, writable=False)

    @contextmanager
    def _open(self, flags: int, lock: int) -> Iterator[int]:
        try:
            fd = safefile.open_regular(self.path, flags, 0o644)
        except FileNotFoundError as exc:
            raise JournalError(f"journal missing: {self.path}") from exc
        except FileExistsError as exc:
            raise JournalError(f"journal already exists: {self.path}") from exc
        except safefile.NotRegularFile as exc:
            raise NotAJournal(f"cannot open journal {self.path}: {exc.strerror}") from exc
        except OSError as exc:
            raise JournalError(f"cannot open journal {self.path}: {exc.strerror}") from exc
        try:
            fcntl.flock(fd, lock)
            # A sync that rebased local work renames a new journal into place under the
            # exclusive lock: whoever waited on the old file must not append to it.
            while not _same_file(fd, self.path):
                os.close(fd)
                fd = -1
                fd = safefile.open_regular(self.path, flags & ~(os.O_CREAT | os.O_EXCL), 0o644)
                fcntl.flock(fd, lock)
            yield fd
        finally:
            if fd >= 0:
                os.close(fd)  # closing releases the lock


def _same_file(fd: int, path: Path) -> bool:
    """Whether the open `fd` is still the file at `path` (not renamed over meanwhile)."""
    try:
        st = path.lstat()
    except OSError:
        return True  # gone: the next operation on the descriptor reports what it can
    mine = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (mine.st_dev, mine.st_ino)


fsync_dir = safefile.fsync_dir
