"""Hashing files fast: several digests from one read, many files at once.

A tree of many files is hashed by forked worker processes, one per core, each pulling
batches of files: threads measured well below the cores' combined speed here (every file's
open, stat and read loop runs under the GIL, and the handoffs between threads cost more than
the per-file work). Each worker reads 64 KiB at a time into one reusable buffer (larger
reads measured slower: the data no longer fits the CPU cache between read and hash). Without
fork, or for a handful of files, a thread pool does the work.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import stat
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

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


_CONSTRUCTORS = {name: getattr(hashlib, name) for name in ALGORITHMS}  # faster than new()


def hash_fd(fd: int, algorithms: Sequence[str], expected: int = -1) -> tuple[dict[str, str], int]:
    """Digest everything readable from `fd` in one pass.

    `expected`: the size fstat gave; a short read that reaches it is taken as the end
    (one system call less per small file). The caller's fstat after reading still
    catches a file that grew meanwhile.
    """
    hashers = [_CONSTRUCTORS[name]() for name in algorithms]
    buf = _buffer()
    size = 0
    readinto = os.readv
    while True:
        n = readinto(fd, [buf])
        if not n:
            break
        if n < CHUNK and size + n == expected:
            for h in hashers:
                h.update(buf[:n])
            size += n
            break
        size += n
        chunk = buf[:n]
        for h in hashers:
            h.update(chunk)
    return {name: h.hexdigest() for name, h in zip(algorithms, hashers, strict=True)}, size


def hash_path(
    path: bytes,
    algorithms: Sequence[str],
    *,
    follow_symlinks: bool = False,
    known_regular: bool = False,
) -> FileRecord:
    """Hash one path; never raises for what the file system does, records it instead.

    `known_regular`: the directory listing already said regular file, so the lstat is
    skipped (a tenth of the cost of a small file); O_NOFOLLOW and the fstat after open
    still catch a path swapped since.
    """
    if known_regular and not follow_symlinks:
        return _hash_open(path, algorithms, os.O_NOFOLLOW, fallback=True)
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
    return _hash_open(path, algorithms, 0 if follow_symlinks else os.O_NOFOLLOW)


_NOATIME = getattr(os, "O_NOATIME", 0)
_OPEN_FLAGS = os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK | _NOATIME


def _open_ro(path: bytes, nofollow: int) -> int:
    try:
        return os.open(path, _OPEN_FLAGS | nofollow)
    except PermissionError:  # O_NOATIME needs ownership
        return os.open(path, (_OPEN_FLAGS & ~_NOATIME) | nofollow)


def _hash_open(
    path: bytes, algorithms: Sequence[str], nofollow: int, *, fallback: bool = False
) -> FileRecord:
    try:
        fd = _open_ro(path, nofollow)
    except OSError as exc:
        if fallback:  # replaced by a symlink or removed since the listing: look again
            return hash_path(path, algorithms)
        return FileRecord(path, "error", note=exc.strerror or str(exc))
    try:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode):  # swapped after lstat: never read a FIFO
            return FileRecord(path, "skipped", note="not a regular file when opened")
        digests, size = hash_fd(fd, algorithms, opened.st_size)
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
    for path, _ in walk_typed(roots, follow_symlinks=follow_symlinks):
        yield path


def walk_typed(
    roots: Iterable[bytes], *, follow_symlinks: bool = False
) -> Iterator[tuple[bytes, bool]]:
    """As `walk`, with whether the directory listing already showed a regular file."""
    seen_dirs: set[tuple[int, int]] = set()
    for root in roots:
        try:
            st = os.stat(root) if follow_symlinks else os.lstat(root)
        except OSError:
            yield root, False  # hash_path records the error
            continue
        if not stat.S_ISDIR(st.st_mode):
            yield root, False
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
                yield folder, False
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
                    try:
                        regular = entry.is_file(follow_symlinks=follow_symlinks)
                    except OSError:
                        regular = False
                    yield entry.path, regular
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


# Below this many files per worker, forking costs more than it saves.
_PROCESS_MIN_FILES = 32
_BATCHES_PER_WORKER = 24


def hash_paths(
    roots: Sequence[bytes],
    algorithms: Sequence[str],
    *,
    jobs: int | None = None,
    follow_symlinks: bool = False,
    progress: Progress | None = None,
    processes: bool | None = None,
) -> list[FileRecord]:
    """Hash every file under `roots`; records come back in walk order.

    `processes`: None chooses (forked workers for a tree of files where fork exists, else
    threads); the library's callers inside a larger program may pass False.
    """
    listed = list(walk_typed(roots, follow_symlinks=follow_symlinks))
    paths = [path for path, _ in listed]
    regular = [known for _, known in listed]
    count = len(paths)
    total = _planned_bytes(paths, follow_symlinks) if progress is not None else 0
    cores = os.cpu_count() or 1
    if processes is None:
        import multiprocessing  # not at module level: a few ms of every CLI start

        processes = "fork" in multiprocessing.get_all_start_methods()
    workers = max(1, min(jobs or cores, count // _PROCESS_MIN_FILES))
    if processes and workers > 1:
        return _hash_in_processes(
            paths, regular, algorithms, workers, follow_symlinks, progress, total
        )
    return _hash_in_threads(
        paths, regular, algorithms, jobs or min(8, cores + 1), follow_symlinks, progress, total
    )


# Set just before the workers fork, so they inherit the path list instead of receiving it.
_forked: tuple[list[bytes], list[bool], Sequence[str], bool, Any] | None = None


def _hash_batch(bounds: tuple[int, int]) -> list[FileRecord | tuple[int, list[str]]]:
    """Worker: hash paths[first:last]; bytes done go to a shared counter for the progress.

    A plain file comes back as (size, digests), not as a record: pickling 20,000 records
    and unpickling them in the parent measured as a tenth of the whole run. Anything else
    comes back as hash_path's record.
    """
    assert _forked is not None
    paths, regular, algorithms, follow, counter = _forked
    out: list[FileRecord | tuple[int, list[str]]] = []
    for i in range(*bounds):
        if regular[i] and not follow:
            quick = _hash_lean(paths[i], algorithms)
            if quick is not None:
                out.append(quick)
                if counter is not None:
                    with counter.get_lock():
                        counter.value += quick[0]
                continue
        record = hash_path(paths[i], algorithms, follow_symlinks=follow, known_regular=regular[i])
        if counter is not None:
            with counter.get_lock():
                counter.value += record.size
        out.append(record)
    return out


def _hash_lean(path: bytes, algorithms: Sequence[str]) -> tuple[int, list[str]] | None:
    """The common case of a tree with the fewest calls and objects: a regular file that
    stays put while read. None for anything else: hash_path then looks again and records
    what it finds (an error, a swapped path, a file that changed)."""
    try:
        fd = _open_ro(path, os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode):
            return None
        digests, size = hash_fd(fd, algorithms, opened.st_size)
        after = os.fstat(fd)
    except OSError:
        return None
    finally:
        os.close(fd)
    if size != opened.st_size or (after.st_size, after.st_mtime_ns) != (
        size,
        opened.st_mtime_ns,
    ):
        return None
    return size, list(digests.values())


def _hash_in_processes(
    paths: list[bytes],
    regular: list[bool],
    algorithms: Sequence[str],
    workers: int,
    follow_symlinks: bool,
    progress: Progress | None,
    total: int,
) -> list[FileRecord]:
    import multiprocessing

    global _forked
    count = len(paths)
    context = multiprocessing.get_context("fork")
    counter = context.Value("q", 0) if progress is not None else None
    # Many small batches, handed out in order: the large files even out between workers
    # and the results arrive in walk order.
    step = max(1, -(-count // (workers * _BATCHES_PER_WORKER)))
    batches = [(first, min(count, first + step)) for first in range(0, count, step)]
    records: list[FileRecord] = []
    _forked = (paths, regular, tuple(algorithms), follow_symlinks, counter)
    try:
        pool = context.Pool(workers)
    finally:
        _forked = None
    names = tuple(algorithms)
    with pool:
        pending = pool.imap(_hash_batch, batches)
        while len(records) < count:
            try:
                batch = pending.next(0.25) if progress is not None else next(pending)
            except multiprocessing.TimeoutError:
                batch = []
            for item in batch:
                if isinstance(item, FileRecord):
                    records.append(item)
                else:
                    size, digests = item
                    path = paths[len(records)]
                    records.append(
                        FileRecord(path, "file", size, dict(zip(names, digests, strict=True)))
                    )
            if progress is not None and counter is not None:
                progress(counter.value, len(records), total, count)
    return records


def _hash_in_threads(
    paths: list[bytes],
    regular: list[bool],
    algorithms: Sequence[str],
    jobs: int,
    follow_symlinks: bool,
    progress: Progress | None,
    total: int,
) -> list[FileRecord]:
    """Threads pull the next index from one shared counter instead of going through an
    executor: no Future, queue round trip or callback per file."""
    count = len(paths)
    jobs = max(1, min(jobs, count or 1))
    slots: list[FileRecord | None] = [None] * count
    done = [[0, 0] for _ in range(jobs)]  # per thread: bytes, files (no lock needed)
    indices = itertools.count()  # next() on it is atomic under the GIL
    failure: list[Exception] = []

    def work(mine: list[int]) -> None:
        try:
            for i in indices:
                if i >= count:
                    return
                record = hash_path(
                    paths[i], algorithms, follow_symlinks=follow_symlinks, known_regular=regular[i]
                )
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
