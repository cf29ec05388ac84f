"""Hashing files fast: several digests from one read, many files at once.

A tree of many files is hashed by forked worker processes, one per core, each pulling
batches of files: threads measured well below the cores' combined speed here (every file's
open, stat and read loop runs under the GIL, and the handoffs between threads cost more than
the per-file work). Each worker reads 64 KiB at a time into one reusable buffer (larger
reads measured slower: the data no longer fits the CPU cache between read and hash). Without
fork, beside other threads, or for a handful of files, a thread pool does the work.

Longer than ~500 lines on purpose: one read path. A single file, the forked worker pool
and its thread fallback share the buffer, the digest set and the error rules, and the
fast path is easier to trust read in one place.
"""

from __future__ import annotations

import hashlib
import itertools
import operator
import os
import stat
import struct
import threading
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
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


@dataclass(slots=True)
class FileRecord:
    """One path of a hashing run. `path` is bytes: names need not be valid UTF-8."""

    path: bytes
    kind: str  # "file", "symlink", "skipped", "error"
    size: int = 0
    digests: dict[str, str] = field(default_factory=dict)
    target: bytes | None = None  # symlink target
    note: str | None = None  # why skipped / what went wrong / changed while hashed
    folder: bool = False  # an error of a folder that could not be listed: nothing under it read

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
    size = _feed(fd, hashers, expected)
    return {name: h.hexdigest() for name, h in zip(algorithms, hashers, strict=True)}, size


def _feed(fd: int, hashers: list[Any], expected: int) -> int:
    buf = _buffer()
    size = 0
    readinto = os.readv
    if len(hashers) == 1:
        update = hashers[0].update
        while True:
            n = readinto(fd, [buf])
            if not n:
                return size
            size += n
            if n < CHUNK:
                update(buf[:n])
                if size == expected:
                    return size
            else:
                update(buf)
    while True:
        n = readinto(fd, [buf])
        if not n:
            return size
        size += n
        chunk = buf[:n] if n < CHUNK else buf
        for h in hashers:
            h.update(chunk)
        if n < CHUNK and size == expected:
            return size


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
    if stat.S_ISDIR(st.st_mode):  # the walk expands every folder it can list
        note = f"unreadable folder: {_list_error(path)}"
        return FileRecord(path, "error", note=note, folder=True)
    if not stat.S_ISREG(st.st_mode):
        what = (
            "FIFO"
            if stat.S_ISFIFO(st.st_mode)
            else ("socket" if stat.S_ISSOCK(st.st_mode) else "device or special file")
        )
        return FileRecord(path, "skipped", note=f"{what} skipped")
    return _hash_open(path, algorithms, 0 if follow_symlinks else os.O_NOFOLLOW)


def _list_error(path: bytes) -> str:
    """Why the folder cannot be listed (asked again: the walk only yielded its path)."""
    try:
        with os.scandir(path):
            pass
    except OSError as exc:
        return exc.strerror or str(exc)
    return "it became a folder while the tree was walked"


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


WalkError = Callable[[bytes, OSError], None]


def walk(
    roots: Iterable[bytes], *, follow_symlinks: bool = False, onerror: WalkError | None = None
) -> Iterator[bytes]:
    """Every path under `roots` in a stable order, directories expanded, not followed
    through symlinks unless asked (and then never into a loop).

    A folder that cannot be listed is yielded itself (hash_path records it as an unreadable
    folder), or, with `onerror`, handed to it with the error instead: never a silent gap."""
    for paths, _ in walk_folders(roots, follow_symlinks=follow_symlinks, onerror=onerror):
        yield from paths


_BY_NAME = operator.attrgetter("name")


def walk_folders(
    roots: Iterable[bytes], *, follow_symlinks: bool = False, onerror: WalkError | None = None
) -> Iterator[tuple[list[bytes], list[bool]]]:
    """As `walk`, a folder's non-folder entries at a time, each with whether the listing
    already showed a regular file (the lstat it saves is a tenth of a small file's cost).
    Whole folders, not paths one by one: a tree is walked before its hashing starts, so
    every step per path counts."""
    seen_dirs: set[tuple[int, int]] = set()
    for root in roots:
        try:
            st = os.stat(root) if follow_symlinks else os.lstat(root)
        except OSError:
            yield [root], [False]  # hash_path records the error
            continue
        if not stat.S_ISDIR(st.st_mode):
            yield [root], [False]
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
                    entries = sorted(it, key=_BY_NAME)
            except OSError as exc:
                if onerror is not None:
                    onerror(folder, exc)
                else:
                    yield [folder], [False]  # hash_path: "unreadable folder"
                continue
            subdirs = []
            paths = []
            regular = []
            for entry in entries:
                try:  # the question most entries answer yes to first
                    is_file = entry.is_file(follow_symlinks=follow_symlinks)
                    is_dir = not is_file and entry.is_dir(follow_symlinks=follow_symlinks)
                except OSError:
                    is_file = is_dir = False
                if is_dir:
                    subdirs.append(entry.path)
                else:
                    paths.append(entry.path)
                    regular.append(is_file)
            if paths:
                yield paths, regular
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
# Workers start on the first folders once they hold this many files, and the walk of the
# rest runs beside them: a tree of 20,000 files takes 14 ms to walk here, 2% of its hashing.
_HEAD_START = 1024
_BATCHES_PER_WORKER = 64


def hash_paths(
    roots: Sequence[bytes], algorithms: Sequence[str], **options: Any
) -> list[FileRecord]:
    """All of iter_hash_paths at once (same keyword options), in walk order."""
    return list(iter_hash_paths(roots, algorithms, **options))


def iter_hash_paths(
    roots: Sequence[bytes],
    algorithms: Sequence[str],
    *,
    jobs: int | None = None,
    follow_symlinks: bool = False,
    progress: Progress | None = None,
    processes: bool | None = None,
) -> Generator[FileRecord, None, None]:
    """As hash_paths, each record yielded in walk order as soon as it and those before it
    are done: a manifest of a million files is written while it is hashed, and memory stays
    that of the path list, not of a million records.

    `processes`: None chooses forked workers for a tree of files where fork exists and
    no other thread runs (forking a threaded program can copy a lock another thread holds),
    else threads; True forks whenever it can. Forked workers start on the first folders
    while the rest of the tree is walked, so they run before the first record is asked for.
    """
    cores = os.cpu_count() or 1
    can_fork = hasattr(os, "fork")
    if processes is None:
        processes = can_fork and threading.active_count() == 1
    fork = bool(processes) and can_fork and (jobs or cores) > 1
    walker = walk_folders(roots, follow_symlinks=follow_symlinks)
    paths: list[bytes] = []
    regular: list[bool] = []
    head: _Workers | None = None
    if fork and progress is None:  # a progress display wants the whole walk first
        for some, known in walker:
            paths += some
            regular += known
            if len(paths) >= _HEAD_START:
                head = _Workers(paths, regular, algorithms, jobs or cores, follow_symlinks)
                paths, regular = [], []
                break
    try:
        for some, known in walker:
            paths += some
            regular += known
        count = len(paths)
        total = _planned_bytes(paths, follow_symlinks) if progress is not None else 0
        workers = max(1, min(jobs or cores, count // _PROCESS_MIN_FILES))
        if head is not None or (fork and workers > 1):
            rest = (
                _Workers(paths, regular, algorithms, workers, follow_symlinks, progress, total)
                if count
                else None
            )
            return _in_turn(head, rest)
    except BaseException:  # interrupted walking or forking: the head's workers stop too
        if head is not None:
            head.stop()
        raise
    done = _hash_in_threads(
        paths, regular, algorithms, jobs or min(8, cores + 1), follow_symlinks, progress, total
    )
    return (record for record in done)


def _in_turn(*runs: _Workers | None) -> Generator[FileRecord, None, None]:
    started = [run for run in runs if run is not None]
    try:
        for run in started:
            yield from run.results()
    finally:
        for run in started:
            run.stop()


_DIGEST_SIZES = {"md5": 16, "sha1": 20, "sha256": 32, "sha512": 64, "blake2b": 64}
# A worker's verdict on one path, the first byte of its slot in the shared results.
_TODO, _DONE, _CHANGED, _LOOK_AGAIN = 0, 1, 2, 3
_SLOT_HEAD = struct.Struct("=BQ")  # verdict, bytes read


class _Workers:
    """Forked workers hashing `paths` into one shared anonymous mapping, a slot per path;
    they start at construction, `results()` yields the records in order.

    Nothing is pickled and no pool threads run in the parent: the Pool this replaced cost a
    tenth of the run. Work is handed out as batch numbers through a pipe (a 4-byte read is
    atomic), so the big files even out; a worker reports each batch it has finished through
    a second pipe, and those system calls order its writes to the mapping before the
    parent's reads on every architecture. A path a worker could not settle (an error, not a
    plain file, a worker that died) is hashed again here by hash_path, which records what
    it finds.
    """

    def __init__(
        self,
        paths: list[bytes],
        regular: list[bool],
        algorithms: Sequence[str],
        workers: int,
        follow_symlinks: bool,
        progress: Progress | None = None,
        total: int = 0,
    ) -> None:
        import mmap

        self.pids: list[int] = []
        self.fds: list[int] = []
        self.paths, self.follow, self.progress, self.total = paths, follow_symlinks, progress, total
        self.names = names = tuple(algorithms)
        self.count = count = len(paths)
        self.workers = workers
        self.width = width = _SLOT_HEAD.size + sum(_DIGEST_SIZES[a] for a in names)
        self.shared = mmap.mmap(-1, count * width + 16 * workers)  # + bytes, files per worker
        self.tally = count * width
        # At most 4 KiB of batch numbers: written before the fork, they must fit an empty
        # pipe (a pipe holds at least one page, even past the per-user pipe limits).
        batches = min(workers * _BATCHES_PER_WORKER, 1024)
        self.step = step = max(1, -(-count // batches))
        queue_r, queue_w = os.pipe()
        self.fds.append(queue_r)
        try:
            os.write(queue_w, b"".join(_BATCH.pack(first) for first in range(0, count, step)))
        finally:
            os.close(queue_w)
        done_r, done_w = os.pipe()
        self.fds += [done_r, done_w]
        self.done_r = done_r
        try:
            for number in range(workers):
                pid = os.fork()
                if pid == 0:  # pragma: no cover -- runs in the child (coverage does not follow)
                    status = 1
                    try:
                        os.close(done_r)
                        _work(
                            paths,
                            regular,
                            names,
                            follow_symlinks,
                            self.shared,
                            width,
                            step,
                            queue_r,
                            done_w,
                            self.tally + 16 * number,
                        )
                        status = 0
                    finally:
                        os._exit(status)  # never the parent's atexit handlers or buffers
                self.pids.append(pid)
        except BaseException:
            self.stop()
            raise
        os.close(done_w)  # from now on, end of file on done_r means every worker has exited
        self.fds.remove(done_w)

    def results(self) -> Generator[FileRecord, None, None]:
        count, step, shared, progress = self.count, self.step, self.shared, self.progress
        finished = bytearray(-(-count // step))  # per batch: reported done by a worker
        settled = 0  # records yielded so far
        done_bytes = 0
        try:
            pending = b""
            while True:
                if progress is not None and not _ready(self.done_r, 0.25):
                    self._report()
                    continue
                got = os.read(self.done_r, 4096)
                if not got:
                    break  # every worker has exited
                pending += got
                whole = len(pending) - len(pending) % 4
                for (first,) in _BATCH.iter_unpack(pending[:whole]):
                    finished[first // step] = 1
                pending = pending[whole:]
                upto = settled
                while upto < count and finished[upto // step]:
                    upto = min(count, upto + step)
                if upto > settled:
                    for record in self._records(settled, upto):
                        done_bytes += record.size
                        yield record
                    settled = upto
                    if progress is not None:
                        self._report()
            for pid in self.pids:
                os.waitpid(pid, 0)
            self.pids.clear()
        finally:
            self.stop()  # interrupted, or the consumer stopped early: take the workers down
        # what a dead worker left: its slots that are filled stand, the rest are hashed here
        for record in self._records(settled, count):
            done_bytes += record.size
            yield record
        shared.close()
        if progress is not None:
            progress(done_bytes, count, self.total, count)

    def stop(self) -> None:
        """Kill and reap what still runs; idempotent. Also when the stream is dropped
        unread: its workers started at construction, before anyone asked for a record."""
        for pid in self.pids:
            try:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
            except OSError:
                pass
        self.pids.clear()
        for fd in self.fds:
            os.close(fd)
        self.fds.clear()

    __del__ = stop

    def _report(self) -> None:
        assert self.progress is not None
        done_bytes = done_files = 0
        for number in range(self.workers):
            got = _TALLY.unpack_from(self.shared, self.tally + 16 * number)
            done_bytes += got[0]
            done_files += got[1]
        self.progress(done_bytes, done_files, self.total, self.count)

    def _records(self, first: int, last: int) -> Iterator[FileRecord]:
        return _records(self.paths, self.names, self.shared, self.width, self.follow, first, last)


def _ready(fd: int, timeout: float) -> bool:
    import select

    return bool(select.select([fd], [], [], timeout)[0])


_BATCH = struct.Struct("=I")
_TALLY = struct.Struct("=QQ")


def _work(
    paths: list[bytes],
    regular: list[bool],
    names: tuple[str, ...],
    follow: bool,
    shared: Any,
    width: int,
    step: int,
    queue: int,
    finished: int,
    tally: int,
) -> None:  # pragma: no cover -- runs in forked children
    """A worker: take batch numbers until the queue is empty; fill each path's slot.

    The loop is written out flat, one call per system call: a tree of 20,000 files pays
    every extra function call and object 20,000 times. The slot's verdict is what the
    parent trusts, so a file whose size or mtime moved while read is written as _CHANGED.
    """
    constructors = [_CONSTRUCTORS[a] for a in names]
    single = constructors[0] if len(constructors) == 1 else None  # the usual case, flatter
    # a slot is its body (bytes read, digests) and then its verdict byte, written last: a
    # worker killed in between leaves a slot that reads as not done
    body = struct.Struct(f"=Q{width - _SLOT_HEAD.size}s").pack_into
    pack_tally = _TALLY.pack_into
    count = len(paths)
    done_bytes = done_files = 0
    buf = memoryview(bytearray(CHUNK))
    bufs = [buf]
    readv, fstat, close, is_regular = os.readv, os.fstat, os.close, stat.S_ISREG
    while True:
        got = os.read(queue, 4)
        if len(got) < 4:
            return
        (first,) = _BATCH.unpack(got)
        for i in range(first, min(count, first + step)):
            path = paths[i]
            fd = -1
            if regular[i] and not follow:
                try:
                    fd = _open_ro(path, os.O_NOFOLLOW)
                except OSError:
                    fd = -1
            if fd < 0:  # an error, a special file, a symlink to follow: hash_path looks
                settled = _settle(path, names, follow)
                if settled is None:
                    shared[i * width] = _LOOK_AGAIN
                else:
                    body(shared, i * width + 1, *settled)
                    shared[i * width] = _DONE
                    done_bytes += settled[0]
                done_files += 1
                continue
            try:
                opened = fstat(fd)
                if not is_regular(opened.st_mode):  # swapped since the listing
                    shared[i * width] = _LOOK_AGAIN
                    done_files += 1
                    continue
                expected = opened.st_size
                size = 0
                if single is not None:
                    h = single()
                    update = h.update
                    while n := readv(fd, bufs):
                        size += n
                        if n == CHUNK:
                            update(buf)
                        else:
                            update(buf[:n])
                            if size == expected:  # a short read at the size: the end
                                break
                    digest = h.digest()
                else:
                    hashers = [c() for c in constructors]
                    while n := readv(fd, bufs):
                        size += n
                        chunk = buf if n == CHUNK else buf[:n]
                        for h in hashers:
                            h.update(chunk)
                        if n < CHUNK and size == expected:
                            break
                    digest = b"".join(h.digest() for h in hashers)
                after = fstat(fd)
            except OSError:
                shared[i * width] = _LOOK_AGAIN
                done_files += 1
                continue
            finally:
                close(fd)
            body(shared, i * width + 1, size, digest)
            shared[i * width] = (
                _DONE
                if size == expected
                and after.st_size == size
                and after.st_mtime_ns == opened.st_mtime_ns
                else _CHANGED
            )
            done_bytes += size
            done_files += 1
        pack_tally(shared, tally, done_bytes, done_files)
        os.write(finished, got)  # 4 bytes: atomic; the parent may now read the batch's slots


def _settle(path: bytes, names: tuple[str, ...], follow: bool) -> tuple[int, bytes] | None:
    """(size, raw digests) when hash_path finds a plain file (a symlink followed, say);
    None leaves the path to the parent, which records whatever it finds."""
    if not follow:
        return None
    record = hash_path(path, names, follow_symlinks=True)
    if record.kind != "file" or record.note:
        return None
    return record.size, b"".join(bytes.fromhex(record.digests[a]) for a in names)


def _records(
    paths: list[bytes],
    names: tuple[str, ...],
    shared: Any,
    width: int,
    follow: bool,
    first: int,
    last: int,
) -> Iterator[FileRecord]:
    head = _SLOT_HEAD.size
    unpack_head = _SLOT_HEAD.unpack_from
    cuts: list[tuple[str, int, int]] = []
    at = head
    for a in names:
        cuts.append((a, at, at + _DIGEST_SIZES[a]))
        at += _DIGEST_SIZES[a]
    single = names[0] if len(names) == 1 else None  # the common case, without a loop
    for i in range(first, last):
        base = i * width
        verdict, size = unpack_head(shared, base)
        if verdict in (_DONE, _CHANGED):
            if single is not None:
                digests = {single: shared[base + head : base + width].hex()}
            else:
                digests = {a: shared[base + lo : base + hi].hex() for a, lo, hi in cuts}
            record = FileRecord(paths[i], "file", size, digests)
            if verdict == _CHANGED:
                record.note = "changed while being hashed"
            yield record
        else:  # not settled by a worker: look here, and record what is there
            yield hash_path(paths[i], names, follow_symlinks=follow)


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
