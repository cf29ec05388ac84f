"""Hashing files fast: several digests from one read, many files at once.

hashlib releases the GIL on large updates, so a small thread pool hashes several files in
parallel; each thread reads 64 KiB at a time into one reusable buffer (larger reads measured
slower here: the data no longer fits the CPU cache between read and hash).
"""

from __future__ import annotations

import hashlib
import itertools
import os
import stat
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from irkit.errors import InputError

ALGORITHMS = ("md5", "sha1", "sha256", "sha512", "blake2b")
CHUNK = 64 * 1024

Progress = Callable[[int, int, int, int], None]  # (bytes done, files done, bytes, files)


def check_algorithms(names: Iterable[str]) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(n.strip().lower() for n in names if n.strip()))
    unknown = [n for n in chosen if n not in ALGORITHMS]
    if unknown or not chosen:
        raise InputError(
            f"unknown digest {', '.join(unknown) or '(none)'}; choose from {', '.join(ALGORITHMS)}"
        )
    return chosen


@dataclass
class FileRecord:
    """One path of a hashing run. `path` is bytes: names need not be valid UTF-8."""

    path: bytes
    kind: str  # "file", "symlink", "skipped", "error"
    size: int = 0
    digests: dict[str, str] = field(default_factory=dict)
    target: bytes | None = None  # symlink target
    note: str | None = None  # why skipped / what went wrong / changed while hashed

    @property
    def ok(self) -> bool:
        return self.kind in ("file", "symlink", "skipped") and not (
            self.kind == "file" and self.note
        )


_local = threading.local()


def _buffer() -> memoryview:
    buf = getattr(_local, "buf", None)
    if buf is None:
        buf = _local.buf = memoryview(bytearray(CHUNK))
    return buf


def hash_fd(fd: int, algorithms: Sequence[str]) -> tuple[dict[str, str], int]:
    """Digest everything readable from `fd` in one pass."""
    hashers = [hashlib.new(name) for name in algorithms]
    buf = _buffer()
    size = 0
    readinto = os.readv
    while True:
        n = readinto(fd, [buf])
        if not n:
            break
        size += n
        chunk = buf[:n]
        for h in hashers:
            h.update(chunk)
    return {name: h.hexdigest() for name, h in zip(algorithms, hashers, strict=True)}, size


def hash_path(
    path: bytes, algorithms: Sequence[str], *, follow_symlinks: bool = False
) -> FileRecord:
    """Hash one path; never raises for what the file system does, records it instead."""
    try:
        st = os.stat(path) if follow_symlinks else os.lstat(path)
    except OSError as exc:
        return FileRecord(path, "error", note=exc.strerror or str(exc))
    if stat.S_ISLNK(st.st_mode):
        try:
            return FileRecord(path, "symlink", target=os.readlink(path), note="not followed")
        except OSError as exc:
            return FileRecord(path, "error", note=exc.strerror or str(exc))
    if not stat.S_ISREG(st.st_mode):
        what = (
            "FIFO"
            if stat.S_ISFIFO(st.st_mode)
            else ("socket" if stat.S_ISSOCK(st.st_mode) else "device or special file")
        )
        return FileRecord(path, "skipped", note=f"{what} skipped")
    flags = os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK | getattr(os, "O_NOATIME", 0)
    if not follow_symlinks:
        flags |= os.O_NOFOLLOW
    try:
        try:
            fd = os.open(path, flags)
        except PermissionError:
            fd = os.open(path, flags & ~getattr(os, "O_NOATIME", 0))
    except OSError as exc:
        return FileRecord(path, "error", note=exc.strerror or str(exc))
    try:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode):  # swapped after lstat: never read a FIFO
            return FileRecord(path, "skipped", note="not a regular file when opened")
        digests, size = hash_fd(fd, algorithms)
        after = os.fstat(fd)
    except OSError as exc:
        return FileRecord(path, "error", note=exc.strerror or str(exc))
    finally:
        os.close(fd)
    record = FileRecord(path, "file", size=size, digests=digests)
    if (after.st_size, after.st_mtime_ns) != (opened.st_size, opened.st_mtime_ns) or (
        size != opened.st_size
    ):
        record.note = "changed while being hashed"
    return record


def walk(roots: Iterable[bytes], *, follow_symlinks: bool = False) -> Iterator[bytes]:
    """Every path under `roots` in a stable order, directories expanded, not followed
    through symlinks unless asked (and then never into a loop)."""
    seen_dirs: set[tuple[int, int]] = set()
    for root in roots:
        try:
            st = os.stat(root) if follow_symlinks else os.lstat(root)
        except OSError:
            yield root  # hash_path records the error
            continue
        if not stat.S_ISDIR(st.st_mode):
            yield root
            continue
        stack = [root]
        while stack:
            folder = stack.pop()
            try:
                dst = os.stat(folder)
                if (dst.st_dev, dst.st_ino) in seen_dirs:
                    continue
                seen_dirs.add((dst.st_dev, dst.st_ino))
                with os.scandir(folder) as it:
                    entries = sorted(it, key=lambda e: e.name)
            except OSError:
                yield folder
                continue
            subdirs = []
            for entry in entries:
                try:
                    is_dir = entry.is_dir(follow_symlinks=follow_symlinks)
                except OSError:
                    is_dir = False
                if is_dir:
                    subdirs.append(entry.path)
                else:
                    yield entry.path
            stack.extend(reversed(subdirs))


def _planned_bytes(paths: Sequence[bytes], follow_symlinks: bool) -> int:
    """Bytes the run expects to read (for an ETA only; one stat per file, so only when a
    progress display asked for it)."""
    total = 0
    for p in paths:
        try:
            st = os.stat(p) if follow_symlinks else os.lstat(p)
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode):
            total += st.st_size
    return total


def hash_paths(
    roots: Sequence[bytes],
    algorithms: Sequence[str],
    *,
    jobs: int | None = None,
    follow_symlinks: bool = False,
    progress: Progress | None = None,
) -> list[FileRecord]:
    """Hash every file under `roots`; records come back in walk order.

    `jobs` threads pull the next index from one shared counter instead of going through an
    executor: no Future, queue round trip or callback per file, which is what dominated a
    tree of small files.
    """
    paths = list(walk(roots, follow_symlinks=follow_symlinks))
    count = len(paths)
    jobs = max(1, min(jobs or min(8, (os.cpu_count() or 1) + 1), count or 1))
    total = _planned_bytes(paths, follow_symlinks) if progress is not None else 0
    slots: list[FileRecord | None] = [None] * count
    done = [[0, 0] for _ in range(jobs)]  # per thread: bytes, files (no lock needed)
    indices = itertools.count()  # next() on it is atomic under the GIL
    failure: list[Exception] = []

    def work(mine: list[int]) -> None:
        try:
            for i in indices:
                if i >= count:
                    return
                record = hash_path(paths[i], algorithms, follow_symlinks=follow_symlinks)
                slots[i] = record
                mine[0] += record.size
                mine[1] += 1
        except Exception as exc:  # noqa: BLE001 -- re-raised in the caller's thread
            failure.append(exc)

    if jobs == 1:
        work(done[0])
    else:
        threads = [threading.Thread(target=work, args=(d,), daemon=True) for d in done]
        for t in threads:
            t.start()
        for t in threads:
            while t.is_alive():
                t.join(0.25 if progress is not None else None)
                if progress is not None:
                    progress(sum(d[0] for d in done), sum(d[1] for d in done), total, count)
    if failure:
        raise failure[0]
    if progress is not None:
        progress(sum(d[0] for d in done), count, total, count)
    return [r for r in slots if r is not None]
