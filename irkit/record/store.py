"""The content-addressed evidence store: `evidence/sha256/ab/<digest>`, read-only copies.

A copy is written to a temporary file while the source is hashed, read back and re-hashed,
made read-only, and only then renamed into place: a name in the store always holds exactly
the bytes its digest says. It is made durable (an fsync, or one syncfs for a whole folder)
before any journal entry names it.

Longer than ~500 lines on purpose: writing, re-hashing and reference checks share the
store's lock and durability rules (one class, `EvidenceStore`).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import queue
import re
import stat
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from irkit.errors import InputError
from irkit.record import libc, safefile
from irkit.record.journal import JOURNAL_NAME, Journal, fsync_dir

CHUNK = 256 * 1024
# From this size on the copy is re-read and re-hashed on a second thread while it is being
# written (hashlib and os.read release the GIL), so the check costs wall time only when the
# machine has no spare core; below it a thread costs more than it saves.
PARALLEL_VERIFY = 8 * 1024 * 1024


class _Verifier:
    """Re-reads the copy behind the writer: each fed length is read back from the file.

    The bytes come from the page cache, as they would in a read-back after the copy is
    finished; reading them concurrently changes when, not what, is checked.
    """

    def __init__(self, path: Path | str) -> None:
        self._fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        self._queue: queue.SimpleQueue[int | None] = queue.SimpleQueue()
        self._digest = hashlib.sha256()
        self._error: OSError | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def feed(self, length: int) -> None:
        self._queue.put(length)

    def _run(self) -> None:
        length: int | None = 0
        buf = memoryview(bytearray(CHUNK))  # one buffer: no allocation per chunk
        try:
            while (length := self._queue.get()) is not None:
                while length > 0:
                    got = os.readv(self._fd, [buf[: min(length, CHUNK)]])
                    if not got:
                        self._digest.update(b"short")  # the copy lost bytes: cannot match
                        return
                    self._digest.update(buf[:got])
                    length -= got
            while got := os.readv(self._fd, [buf]):  # anything beyond what was written
                self._digest.update(buf[:got])
        except OSError as exc:
            self._error = exc
        finally:
            while length is not None:  # drain to the end marker if we stopped early
                length = self._queue.get()

    def finish(self) -> str:
        self._queue.put(None)
        self._thread.join()
        os.close(self._fd)
        if self._error is not None:
            raise self._error
        return self._digest.hexdigest()


class _Writer:
    """Writes the copy on its own thread, so that hashing the source and writing the copy
    (both release the GIL) run on two cores; each written chunk is handed on to the
    verifier. Writeback of every 64 MiB is started on the way (sync_file_range(2), which
    does not wait), so the disk works while the CPU hashes and the fsync or syncfs that
    makes the copy durable before the journal names it finds little left to do.

    Chunks travel in a fixed set of buffers that the source is read into and that come
    back once written: on this VM, memory that is freed and allocated again per chunk
    costs page faults that dominated a 1 GiB collection.
    """

    FLUSH_EVERY = 64 * 1024 * 1024
    DEPTH = 16  # buffers in flight: 4 MiB

    def __init__(self, fd: int, verifier: _Verifier) -> None:
        self._fd = fd
        self._verifier = verifier
        self._free: queue.SimpleQueue[bytearray] = queue.SimpleQueue()
        for _ in range(self.DEPTH):
            self._free.put(bytearray(CHUNK))
        self._queue: queue.SimpleQueue[tuple[bytearray, int] | None] = queue.SimpleQueue()
        self._error: Exception | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def buffer(self) -> bytearray:
        """A buffer to read the next chunk into; waits while all are in flight."""
        if self._error is not None:
            raise self._error
        return self._free.get()

    def put(self, buf: bytearray, length: int) -> None:
        """Write buf[:length] next; the caller may go on reading it, not writing it."""
        self._queue.put((buf, length))

    def _run(self) -> None:
        flushed = written = 0
        start_writeback = _writeback_starter()
        while (item := self._queue.get()) is not None:
            buf, length = item
            if self._error is None:
                try:
                    _write_all(self._fd, memoryview(buf)[:length])
                    self._verifier.feed(length)
                    written += length
                    if start_writeback is not None and written - flushed >= self.FLUSH_EVERY:
                        start_writeback(self._fd, flushed, written - flushed)
                        flushed = written
                except Exception as exc:  # noqa: BLE001 -- re-raised on the caller's thread
                    self._error = exc
            self._free.put(buf)  # always: a failed writer must not leave buffer() waiting

    def finish(self) -> None:
        self.stop()
        if self._error is not None:
            raise self._error

    def stop(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()


# Writes into the page cache go in pieces of this size: on this VM a 256 KiB write made the
# kernel allocate large folios from memory the host had taken back (free page reporting),
# and writing 1 GiB took 1.6 s in 256 KiB writes against 0.55 s in 64 KiB writes.
WRITE_SIZE = 64 * 1024


def _write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view[:WRITE_SIZE]) :]


@dataclass(frozen=True)
class StoredBlob:
    sha256: str
    size: int
    created: bool  # False when identical content was already stored
    extra: dict[str, str] = field(default_factory=dict)  # other digests asked for


_SYNC_FILE_RANGE_WRITE = 2  # <fcntl.h>: start writeback of dirty pages, do not wait


def _writeback_starter() -> Callable[[int, int, int], None] | None:
    """sync_file_range(fd, offset, length, SYNC_FILE_RANGE_WRITE) where Linux offers it.

    Only a head start: it promises nothing about durability (the closing fsync does), so
    a failure is ignored."""
    import ctypes

    call = libc.function("sync_file_range")
    if call is None:
        return None
    call.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]

    def start(fd: int, offset: int, length: int) -> None:
        call(fd, offset, length, _SYNC_FILE_RANGE_WRITE)

    return start


def _syncfs(path: Path) -> bool:
    """syncfs(2) on the file system holding `path` (Linux, via libc); False if unavailable."""
    import ctypes

    syncfs = libc.function("syncfs")
    if syncfs is None:
        return False
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        if syncfs(fd) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, os.strerror(errno), str(path))
    finally:
        os.close(fd)
    return True


def _open_source(path: Path | str) -> int:
    flags = os.O_RDONLY | os.O_CLOEXEC
    noatime = getattr(os, "O_NOATIME", 0)
    try:
        return os.open(path, flags | noatime)
    except PermissionError:
        if not noatime:
            raise
        return os.open(path, flags)  # O_NOATIME needs ownership; fall back


def _unlink(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def hash_file(path: Path | str) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    buf = memoryview(bytearray(CHUNK))  # read into one buffer, not a new object per chunk
    fd = _open_source(path)
    try:
        while got := os.readv(fd, [buf]):
            digest.update(buf[:got])
            size += got
    finally:
        os.close(fd)
    return digest.hexdigest(), size


_HEX_RUN = re.compile(rb"[0-9a-f]{64,}")
QUARANTINE_PREFIX = "journal.quarantine-"  # torn lines `irkit repair` set aside


class References:
    """Every SHA-256 hex digest that journal bytes name, anywhere in any line.

    Deliberately more than the body fields that name store blobs (items, attachments,
    backup results): any 64-digit run in any line, torn tail or quarantined line counts, so
    that a kind added later, or a line `repair` may complete, can never make a named blob
    look unreferenced. Keeping an orphan by mistake costs disk; the converse loses evidence.
    """

    def __init__(self, data: bytes) -> None:
        self._exact: set[bytes] = set()
        self._runs: list[bytes] = []  # longer hex runs: any 64-digit window counts
        for match in _HEX_RUN.finditer(data):
            run = match.group()
            if len(run) == 64:
                self._exact.add(run)
            else:
                self._runs.append(run)

    @classmethod
    def of_case(cls, case_root: Path, journal_bytes: bytes) -> References:
        """The journal's bytes plus every quarantine file beside it; an unreadable one
        stops the caller (what it names is unknown)."""
        parts = [journal_bytes]
        # entries a team sync set aside (superseded by a rebase, held back as conflicts)
        # still name their evidence: it stays until they are gone (irkit/remote/state.py)
        remote_kept = sorted(case_root.glob(".irkit-remote/*/*.jsonl"))
        for path in [*sorted(case_root.glob(QUARANTINE_PREFIX + "*")), *remote_kept]:
            try:
                parts.append(safefile.read_bytes(path))
            except OSError as exc:
                raise InputError(
                    f"cannot read {path.name} ({exc.strerror}): what it names is unknown, "
                    "so no stored file was removed"
                ) from exc
        return cls(b"\n".join(parts))

    def names(self, digest: str) -> bool:
        needle = digest.encode()
        return needle in self._exact or any(needle in run for run in self._runs)


class StoreBusy(InputError):
    """Another command holds the store (between a copy and the entry that names it)."""


class EvidenceStore:
    """The store under `root` (a case's `evidence/`).

    Writers that will name a blob in the journal do so inside `writing()`: it holds a
    shared lock on the `evidence/` folder from the first copy until the entry is appended,
    and whatever removes blobs (a failed writer's clean-up, `irkit gc`) holds it exclusively
    and removes only blobs no journal line names. So no blob that a committed entry, or
    one about to be committed, names is ever deleted.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._folders: set[str] = set()  # known to exist: one mkdir each, not one per file
        self._depth = 0  # nesting of writing()
        self._lock_fd: int | None = None  # shared lock, taken at the session's first copy
        self._created: list[str] = []  # blobs this session put that were not there before

    def _folder(self, path: str) -> bool:
        """Make sure folder `path` exists; True if this call created it."""
        if path in self._folders:
            return False
        try:
            os.mkdir(path, 0o755)
            created = True
        except FileExistsError:
            created = False
        except FileNotFoundError:
            os.makedirs(path, exist_ok=True)
            created = True
        self._folders.add(path)
        return created

    def path_for(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError("not a SHA-256 hex digest")
        return self.root / "sha256" / sha256[:2] / sha256

    # -- the store lock ------------------------------------------------------------------

    def _open_lock(self) -> int:
        """A descriptor on the `evidence/` folder itself, to flock: no lock file to leave
        behind, and read-only media can still be locked."""
        flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            return os.open(self.root, flags)
        except OSError as exc:
            raise InputError(f"cannot open the evidence store {self.root}: {exc.strerror}") from exc

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """A writer's session: copies put inside it stay safe from clean-up until it ends.

        Put every blob and append the entry that names them inside one session. On failure
        the blobs it created are removed, but only if no other writer is in a session (an
        exclusive lock, not waited for) and no journal line names them; otherwise they stay
        for `irkit gc`.
        """
        self._depth += 1
        try:
            yield
        except BaseException:
            if self._depth == 1:
                with contextlib.suppress(Exception):  # never hide why the command failed
                    self._abandon()
            raise
        finally:
            self._depth -= 1
            if self._depth == 0:
                self._end_session()

    def _hold(self) -> None:
        """Take the shared lock at a session's first copy (waits only for a running gc)."""
        if self._depth == 0 or self._lock_fd is not None:
            return
        fd = self._open_lock()
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
        except BaseException as exc:
            os.close(fd)
            if isinstance(exc, OSError):
                raise InputError(f"cannot lock the evidence store: {exc.strerror}") from exc
            raise
        self._lock_fd = fd
        self._folders.clear()  # a gc may have removed empty folders since they were seen

    def _end_session(self) -> None:
        """Release the lock; the last writer out removes the empty `tmp/` folder, so that a
        case holds no working folder between commands."""
        fd, self._lock_fd, self._created = self._lock_fd, None, []
        if fd is None:
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self.remove_empty_folder(self.root / "tmp")
        except OSError:
            pass  # another writer is at work: the folder is theirs too
        finally:
            os.close(fd)  # closing releases the lock

    def _abandon(self) -> None:
        """Remove what this failed session created, if provably nobody names it."""
        fd, created = self._lock_fd, self._created
        self._lock_fd, self._created = None, []
        if fd is None:
            return
        try:
            try:
                # converting shared -> exclusive; if another writer holds the store its entry
                # may name one of these blobs (it found them already there): leave them
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return
            if created:
                self.remove_unnamed(created)  # and the empty tmp/ folder
            else:
                self.remove_empty_folder(self.root / "tmp")  # e.g. a copy that hit ENOSPC
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """The store held exclusively: no writer is between a copy and its entry. Raises
        StoreBusy rather than wait (a folder collection can take minutes)."""
        fd = self._open_lock()
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise StoreBusy(
                    "the evidence store is in use by a running command (a collection, a note "
                    "with attachments or a backup record); nothing was removed",
                    hint="run it again when that command has finished",
                ) from exc
            except OSError as exc:
                raise InputError(f"cannot lock the evidence store: {exc.strerror}") from exc
            self._folders.clear()
            yield
        finally:
            os.close(fd)

    def remove_unnamed(self, digests: Sequence[str], *, dry_run: bool = False) -> list[str]:
        """Delete the blobs among `digests` that no journal line names, and folders that
        leaves empty; returns those (to be) deleted. The caller holds the store exclusively
        (no writer is between a copy and its entry); the journal is read under its lock,
        so that no entry is half-appended meanwhile."""
        case_root = self.root.parent
        with Journal(case_root / JOURNAL_NAME).reading() as view:
            names = References.of_case(case_root, view.read_range(0, view.size()))
            gone = [d for d in dict.fromkeys(digests) if not names.names(d)]
            if dry_run:
                return gone
            for digest in gone:
                path = self.path_for(digest)
                _unlink(str(path))
                self.remove_empty_folder(path.parent)
            self.remove_empty_folder(self.root / "tmp")
        return gone

    def remove_empty_folder(self, path: Path) -> bool:
        """rmdir `path` if it is empty (with the store held exclusively, or just created)."""
        try:
            os.rmdir(path)
        except OSError:
            return False  # not empty, or gone already
        self._folders.discard(str(path))
        return True

    # -- copying in ----------------------------------------------------------------------

    def _incoming(self) -> tuple[str, int]:
        """A new temporary file in `evidence/tmp/`: (path, fd open for writing)."""
        tmp_dir = os.path.join(self.root, "tmp")
        for attempt in (1, 2):
            self._folder(tmp_dir)
            tmp = os.path.join(tmp_dir, f"incoming-{os.getpid()}-{os.urandom(6).hex()}")
            try:
                out = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            except FileNotFoundError:
                if attempt == 2:
                    raise
                self._folders.discard(tmp_dir)  # removed since (gc): make it again
                continue
            return tmp, out
        raise AssertionError("unreachable")

    def _place(self, tmp: str, folder: str, dest: str, *, sync: bool) -> None:
        """Rename the checked copy into its folder; a folder made for it and left empty by
        a failure (ENOSPC on the rename...) is removed again."""
        made = self._folder(folder)
        try:
            try:
                os.rename(tmp, dest)
            except FileNotFoundError:
                if not os.path.lexists(tmp):
                    raise
                self._folders.discard(folder)  # the folder went (another writer's failure)
                made = self._folder(folder) or made
                os.rename(tmp, dest)
        except BaseException:
            if made:
                self.remove_empty_folder(Path(folder))
            raise
        if self._depth:
            self._created.append(os.path.basename(dest))
        if sync:
            fsync_dir(Path(folder))
            if made:
                fsync_dir(self.root / "sha256")  # the new folder's own name

    def put_file(
        self, source: Path, extra: tuple[str, ...] = (), *, sync: bool = True
    ) -> StoredBlob:
        """Copy `source` in while hashing it (SHA-256 plus `extra` digests, same read).

        `sync=False` leaves durability to one `sync_all` call for a whole batch: a folder of
        100,000 small files must not cost 100,000 fsyncs. Nothing may name the blob in the
        journal before that call has returned, and a caller that will name it does so
        inside `writing()`. On any failure nothing is left behind: no temporary file, no
        folder made for it.
        """
        try:
            st = source.stat()
        except OSError as exc:
            raise InputError(f"cannot read {source}: {exc.strerror}") from exc
        if not stat.S_ISREG(st.st_mode):
            raise InputError(f"{source} is not a regular file")
        self._hold()
        digest = hashlib.sha256()
        others = [hashlib.new(name) for name in extra]
        size = 0
        try:
            src = _open_source(source)
        except OSError as exc:
            raise InputError(f"cannot read {source}: {exc.strerror}") from exc
        tmp = ""
        try:
            try:
                tmp, out = self._incoming()
                verifier = writer = None
                try:
                    if st.st_size >= PARALLEL_VERIFY:
                        verifier = _Verifier(tmp)
                        writer = _Writer(out, verifier)
                    while True:
                        if writer is not None:
                            buf = writer.buffer()
                            got = os.readv(src, [buf])
                            chunk: bytes | memoryview = memoryview(buf)[:got]
                            if got:
                                writer.put(buf, got)  # written on its own thread while we hash
                        else:
                            chunk = os.read(src, CHUNK)
                            got = len(chunk)
                            _write_all(out, chunk)
                        if not got:
                            break
                        digest.update(chunk)
                        for other in others:
                            other.update(chunk)
                        size += got
                    if writer is not None:
                        writer.finish()
                    if sync:
                        os.fsync(out)
                finally:
                    if writer is not None:
                        writer.stop()
                    os.close(out)
                    copied = verifier.finish() if verifier is not None else None
            except OSError as exc:
                raise InputError(f"cannot copy {source}: {exc.strerror}") from exc
            finally:
                os.close(src)
            hexdigest = digest.hexdigest()
            extras = {name: h.hexdigest() for name, h in zip(extra, others, strict=True)}
            again = copied if copied is not None else hash_file(tmp)[0]
            if again != hexdigest:
                raise InputError(f"copy of {source} did not read back identically; nothing stored")
            os.chmod(tmp, 0o444)
            folder = os.path.join(self.root, "sha256", hexdigest[:2])
            dest = os.path.join(folder, hexdigest)
            if os.path.lexists(dest):
                if self.check(hexdigest) is not None:
                    raise InputError(f"stored copy {dest} is damaged; run `irkit verify`")
                os.unlink(tmp)
                return StoredBlob(hexdigest, size, created=False, extra=extras)
            self._place(tmp, folder, dest, sync=sync)
        except BaseException as exc:
            if tmp:
                _unlink(tmp)
            if isinstance(exc, OSError):
                raise InputError(f"cannot store {source}: {exc.strerror}") from exc
            raise
        return StoredBlob(hexdigest, size, created=True, extra=extras)

    def sync_all(self, blobs: list[StoredBlob]) -> None:
        """Make copies stored with `sync=False` durable before the journal names them: one
        syncfs(2) of the store's file system where Linux offers it, else an fsync of each
        new file and folder."""
        created = [b for b in blobs if b.created]
        if not created:
            return
        if len(created) > 1 and _syncfs(self.root):  # one file: its own fsync is narrower
            return
        folders = set()
        for blob in created:
            path = self.path_for(blob.sha256)
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            folders.add(path.parent)
        for folder in sorted(folders):
            fsync_dir(folder)
        fsync_dir(self.root / "sha256")

    def check(self, sha256: str) -> str | None:
        """None when the stored copy matches its digest, else what is wrong."""
        path = self.path_for(sha256)
        try:
            # never through a symlink (it could point at any file with the right bytes), never
            # blocking on a FIFO: only the regular file itself counts as the stored copy
            fd = safefile.open_regular(path)
        except FileNotFoundError:
            return f"stored copy missing: evidence/sha256/{sha256[:2]}/{sha256}"
        except safefile.NotRegularFile as exc:
            return f"stored copy refused ({exc.strerror}): evidence/sha256/{sha256[:2]}/{sha256}"
        except OSError as exc:
            return f"stored copy unreadable ({exc.strerror}): evidence/sha256/{sha256[:2]}/{sha256}"
        digest = hashlib.sha256()
        buf = memoryview(bytearray(CHUNK))
        try:
            while got := os.readv(fd, [buf]):
                digest.update(buf[:got])
        except OSError as exc:
            return f"stored copy unreadable ({exc.strerror}): evidence/sha256/{sha256[:2]}/{sha256}"
        finally:
            os.close(fd)
        actual = digest.hexdigest()
        if actual != sha256:
            return (
                f"stored copy altered: evidence/sha256/{sha256[:2]}/{sha256} now hashes to {actual}"
            )
        return None
