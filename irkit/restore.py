"""Restore an untrusted backup artifact into a fresh scratch directory.

A backup is hostile input. Every member is checked before anything is written; refused
members are recorded with the reason and extraction goes on, so one finding does not hide
the next. Files are opened with O_EXCL|O_NOFOLLOW below parents verified to be real
directories, so a link planted by an earlier member can never be written through. Each
member is hashed while it is written: no second read of the restored data.

Errors on the two sides mean different things. Reading the artifact fails: the archive is
damaged, a finding (FAIL). Writing the scratch space fails for a reason of this machine
(disk full, quota, read-only, out of descriptors or memory, I/O error): EnvironmentFailure,
exit 2 and nothing recorded, because that is no verdict on the backup.
"""

from __future__ import annotations

import bz2
import errno
import hashlib
import lzma
import os
import queue
import shutil
import stat
import subprocess
import tarfile
import threading
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

from irkit.childenv import child_env
from irkit.errors import EnvironmentFailure, InputError

_CHUNK = 1 << 20
SQLITE_MAGIC = b"SQLite format 3\x00"
PG_CUSTOM_MAGIC = b"PGDMP"  # pg_dump -Fc
PG_PLAIN_HEADER = b"-- PostgreSQL database dump"  # pg_dump's plain SQL header comment
PG_KINDS = ("pg-custom", "pg-plain")


# errno values that say the scratch side (this machine) failed, whatever was restored
_ENVIRONMENT_ERRNOS = frozenset(
    getattr(errno, name)
    for name in (
        *("ENOSPC", "EDQUOT", "EROFS", "EMFILE", "ENFILE", "ENOMEM", "EIO", "EFBIG"),
        *("EACCES", "EPERM", "ENOBUFS"),
    )
    if hasattr(errno, name)
)


def is_environment_error(exc: OSError) -> bool:
    return exc.errno in _ENVIRONMENT_ERRNOS


def scratch_failure(scratch: Path, exc: OSError, doing: str) -> EnvironmentFailure:
    """One line naming the scratch directory and the errno: the environment failed."""
    code = errno.errorcode.get(exc.errno or 0, str(exc.errno))
    return EnvironmentFailure(
        f"scratch space {scratch} failed while {doing}: {code} ({exc.strerror or exc}); "
        "this is no verdict on the backup: nothing recorded",
        hint="free space in the scratch file system (or set TMPDIR / --keep elsewhere), "
        "then run again",
    )


_FULL_BYTES = 16 << 20  # free space below this after a failed tool: the disk was full


def scratch_is_full(path: Path) -> bool:
    """Whether the file system under PATH is (nearly) out of blocks or inodes as an
    unprivileged user sees it: a tool that failed there (a restore command, a PostgreSQL
    server) failed for this machine, so its exit status is no verdict. Checked while what
    it wrote is still there."""
    try:
        st = os.statvfs(path)
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < _FULL_BYTES or (st.f_files > 0 and st.f_favail == 0)


@dataclass(frozen=True, slots=True)
class Limits:
    """Bomb limits; exceeding any one stops extraction with a finding (a FAIL)."""

    max_total: int = 64 << 30
    max_entries: int = 1_000_000
    max_ratio: int = 200


@dataclass(slots=True)
class Restored:
    files: dict[str, tuple[int, str]] = field(default_factory=dict)  # path -> (size, sha256)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (member, reason)
    findings: list[str] = field(default_factory=list)
    output: str = ""


class _Writer:
    """Writes members under ROOT, refusing anything that would escape it."""

    def __init__(self, root: Path, result: Restored, limits: Limits, packed: int) -> None:
        self.root = root
        self.result = result
        self.limits = limits
        self.packed = max(packed, 1)
        self.total = 0
        self.entries = 0
        self.stopped = False

    def safe_rel(self, name: str) -> str | None:
        pure = PurePosixPath(name.replace("\\", "/"))
        if pure.is_absolute() or name.startswith("/") or (len(name) > 1 and name[1] == ":"):
            self.refuse(name, "absolute path")
            return None
        parts = [p for p in pure.parts if p not in ("", ".")]
        if ".." in parts:
            self.refuse(name, "'..' path traversal")
            return None
        if not parts:
            return None
        return "/".join(parts)

    def refuse(self, name: str, reason: str) -> None:
        self.result.refused.append((name, reason))

    def write_failed(self, name: str, exc: OSError) -> None:
        """A write-side error: the environment's (raised) or this member's name or shape
        that the scratch file system cannot hold (refused, the rest goes on)."""
        if is_environment_error(exc):
            raise scratch_failure(self.root, exc, f"restoring {name!r}") from exc
        self.refuse(name, f"cannot be restored here: {exc.strerror or exc}")

    def count(self) -> bool:
        self.entries += 1
        if self.entries > self.limits.max_entries:
            self.stop(f"entry count exceeds limit {self.limits.max_entries}")
            return False
        return True

    def stop(self, finding: str) -> None:
        if not self.stopped:
            self.result.findings.append(finding)
        self.stopped = True

    def parent_ok(self, rel: str, name: str) -> Path | None:
        """Create parents as real directories; refuse if any component is a link or file."""
        cur = self.root
        for part in rel.split("/")[:-1]:
            cur = cur / part
            try:
                st = os.lstat(cur)
            except FileNotFoundError:
                try:
                    cur.mkdir(mode=0o700)
                except OSError as exc:
                    self.write_failed(name, exc)
                    return None
                continue
            if not stat.S_ISDIR(st.st_mode):
                self.refuse(name, "parent is a link or file (write-through attempt)")
                return None
        return cur / rel.split("/")[-1]

    def mkdir(self, name: str) -> None:
        rel = self.safe_rel(name)
        if rel is None:
            return
        self.parent_ok(rel + "/x", name)

    def file(self, name: str, src: IO[bytes], mode: int) -> None:
        rel = self.safe_rel(name)
        if rel is None:
            return
        if mode & (stat.S_ISUID | stat.S_ISGID):
            self.refuse(name, "setuid/setgid bit (stripped, file restored)")
        target = self.parent_ok(rel, name)
        if target is None:
            return
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(target, flags, 0o600)
        except FileExistsError:
            self.refuse(name, "duplicate member (already restored)")
            return
        except OSError as exc:
            self.write_failed(name, exc)
            return
        h = hashlib.sha256()
        size = 0
        try:
            while chunk := src.read(_CHUNK):  # read side: errors reach the caller (damaged)
                size += len(chunk)
                self.total += len(chunk)
                if self.total > self.limits.max_total:
                    self.stop(f"total size exceeds limit {self.limits.max_total} bytes")
                    break
                if self.total > self.packed * self.limits.max_ratio and self.total > 1 << 20:
                    self.stop(f"compression ratio exceeds {self.limits.max_ratio}:1 (bomb?)")
                    break
                h.update(chunk)
                self._write_all(fd, chunk, name)
            self._scratch_call(os.fchmod, fd, mode & 0o777 & ~0o022 | 0o600, name=name)
        finally:
            os.close(fd)
        if self.stopped:
            self._scratch_call(os.unlink, target, name=name)
            return
        self.result.files[rel] = (size, h.hexdigest())

    def _write_all(self, fd: int, data: bytes, name: str) -> None:
        """Data into a file irkit opened in scratch: any failure is the environment's."""
        view = memoryview(data)
        while view:
            try:
                n = os.write(fd, view)
            except OSError as exc:
                raise scratch_failure(self.root, exc, f"restoring {name!r}") from exc
            view = view[n:]

    def _scratch_call(self, call: Any, *args: Any, name: str) -> None:
        try:
            call(*args)
        except OSError as exc:
            raise scratch_failure(self.root, exc, f"restoring {name!r}") from exc

    def symlink(self, name: str, link: str) -> None:
        rel = self.safe_rel(name)
        if rel is None:
            return
        dest = PurePosixPath(rel).parent / link
        if link.startswith("/") or ".." in PurePosixPath(os.path.normpath(dest)).parts:
            self.refuse(name, f"symlink points outside: {link}")
            return
        target = self.parent_ok(rel, name)
        if target is None:
            return
        try:
            target.symlink_to(link)
        except FileExistsError:
            self.refuse(name, "duplicate member (already restored)")
        except OSError as exc:
            self.write_failed(name, exc)

    def hardlink(self, name: str, link: str) -> None:
        rel = self.safe_rel(name)
        src = self.safe_rel(link)
        if rel is None or src is None:
            if rel is not None:
                self.refuse(name, f"hardlink points outside: {link}")
            return
        if src not in self.result.files:
            self.refuse(name, f"hardlink to a member not restored as a regular file: {link}")
            return
        target = self.parent_ok(rel, name)
        if target is None:
            return
        try:
            fh = (self.root / src).open("rb")  # closed below
        except OSError as exc:  # a file irkit itself restored a moment ago
            raise scratch_failure(self.root, exc, f"restoring {name!r}") from exc
        with fh:
            self.file(name, fh, 0o600)


def _extract_tar(artifact: Path, w: _Writer, stream: IO[bytes] | None) -> None:
    try:
        if stream is not None:
            tf = tarfile.open(fileobj=stream, mode="r|", bufsize=_CHUNK)  # noqa: SIM115
        else:
            tf = tarfile.open(artifact, mode="r|*")  # noqa: SIM115 (closed below)
    except (tarfile.TarError, EOFError) as exc:  # detected as a tar, then unreadable as one
        w.result.findings.append(f"archive is damaged: {exc}")
        return
    except OSError as exc:
        raise InputError(f"cannot open tar archive {artifact}: {exc}") from exc
    with tf:
        try:
            for m in tf:
                if w.stopped or not w.count():
                    break
                if m.isdir():
                    w.mkdir(m.name)
                elif m.isreg():
                    src = tf.extractfile(m)
                    if src is not None:
                        w.file(m.name, src, m.mode)
                elif m.issym():
                    w.symlink(m.name, m.linkname)
                elif m.islnk():
                    w.hardlink(m.name, m.linkname)
                else:
                    w.refuse(m.name, "device file or FIFO")
        except (tarfile.TarError, EOFError, OSError) as exc:
            w.result.findings.append(f"archive is damaged: {exc}")


def _extract_zip(artifact: Path, w: _Writer) -> None:
    try:
        zf = zipfile.ZipFile(artifact)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"cannot open zip archive {artifact}: {exc}") from exc
    with zf:
        spans: list[tuple[int, int]] = []
        for info in zf.infolist():
            if w.stopped or not w.count():
                break
            start, end = info.header_offset, info.header_offset + 30 + info.compress_size
            if any(s < end and start < e for s, e in spans):
                w.refuse(info.filename, "overlapping zip entry (bomb)")
                continue
            spans.append((start, end))
            mode = info.external_attr >> 16
            if info.is_dir():
                w.mkdir(info.filename)
            elif stat.S_ISLNK(mode):
                w.refuse(info.filename, "symlink in zip")
            elif stat.S_IFMT(mode) and not stat.S_ISREG(mode):
                w.refuse(info.filename, "device file or FIFO")
            else:
                try:
                    with zf.open(info) as src:
                        w.file(info.filename, src, (mode & 0o7777) or 0o644)
                except (zipfile.BadZipFile, OSError, EOFError) as exc:
                    w.result.findings.append(f"zip member {info.filename!r} is damaged: {exc}")


class PipelinedStream:
    """Reads, hashes and decompresses the artifact in a worker thread while the caller
    parses tar members, hashes and writes them: zlib, bz2, lzma and hashlib release the GIL,
    so the two halves run on two cores as `tar -xzf` does with its gzip child. Memory stays
    bounded: output chunks are capped and the queue is short."""

    def __init__(self, path: Path) -> None:
        self.hash = hashlib.sha256()
        self._queue: queue.Queue[bytes | BaseException | None] = queue.Queue(maxsize=8)
        self._buf = b""
        self._pos = 0
        self._done = False
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self._hash_only = threading.Event()
        self._raw = path.open("rb")
        self._thread = threading.Thread(target=self._work, daemon=True)
        self._thread.start()

    def _new(self, head: bytes) -> Any:
        if head.startswith(b"\x1f\x8b"):
            return zlib.decompressobj(31)
        if head.startswith(b"BZh"):
            return bz2.BZ2Decompressor()
        if head.startswith(b"\xfd7zXZ\x00"):
            return lzma.LZMADecompressor()
        return None

    def _put(self, item: bytes | BaseException | None) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def _work(self) -> None:
        try:
            dec: Any = None
            first = True
            pending = b""
            while not self._stop.is_set():
                if self._hash_only.is_set():
                    while chunk := self._raw.read(_CHUNK):
                        self.hash.update(chunk)
                    break
                chunk = self._raw.read(_CHUNK)
                self.hash.update(chunk)
                if first:
                    dec = self._new(chunk)
                    first = False
                if dec is None:
                    if not chunk:
                        break
                    self._put(chunk)
                    continue
                data = pending + chunk
                pending = b""
                if not data:
                    if not dec.eof:
                        raise EOFError("compressed stream ends early")
                    break
                while data or (hasattr(dec, "needs_input") and not dec.needs_input):
                    out = dec.decompress(data, _CHUNK)
                    if out:
                        self._put(out)
                    data = getattr(dec, "unconsumed_tail", b"")
                    if dec.eof:
                        rest = dec.unused_data
                        if rest.strip(b"\x00"):
                            dec = self._new(rest)  # next member / stream
                            if dec is None:
                                break
                            data = rest
                        else:
                            data = b""
                            break
                    if hasattr(dec, "needs_input") and dec.needs_input and not data:
                        break
            self._put(None)
        except (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError) as exc:
            self._put(EOFError(f"cannot decompress: {exc}"))
        except Exception as exc:  # noqa: BLE001 -- re-raised by read(): never a silent hang
            self._put(exc)

    def read(self, n: int = -1) -> bytes:
        parts: list[bytes] = []
        want = n
        while want != 0:
            if self._pos < len(self._buf):
                end = len(self._buf) if want < 0 else min(len(self._buf), self._pos + want)
                parts.append(self._buf[self._pos : end])
                if want > 0:
                    want -= end - self._pos
                self._pos = end
                continue
            if self._error is not None:
                if parts:  # what came before the damage first; the error on the next read
                    break
                raise self._error
            if self._done:
                break
            item = self._queue.get()
            if item is None:
                self._done = True
            elif isinstance(item, BaseException):
                self._error = item
                self._done = True
            else:
                self._buf, self._pos = item, 0
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def finish(self) -> str:
        """Hash the rest of the artifact without decompressing it (a stopped bomb is not
        inflated to the end just to be digested)."""
        self._hash_only.set()
        while not self._done:
            item = self._queue.get()
            if item is None or isinstance(item, BaseException):
                self._done = True
        self._thread.join()
        while chunk := self._raw.read(_CHUNK):  # stopped at damage: the rest still counts
            self.hash.update(chunk)
        self.close()
        return self.hash.hexdigest()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._raw.close()


def _unreadable(exc: OSError) -> None:
    """os.walk's onerror: a folder of the artifact it cannot list is bad input, never a
    silent gap (its files would be reported missing, a verdict on what was not read)."""
    where = os.fsdecode(exc.filename) if exc.filename else "?"
    raise InputError(f"unreadable folder in the artifact: {where}: {exc.strerror or exc}")


def _copy_dir(source: Path, w: _Writer) -> None:
    for dirpath, dirnames, filenames in os.walk(source, onerror=_unreadable):
        dirnames.sort()
        for name in sorted(filenames):
            full = Path(dirpath) / name
            rel = full.relative_to(source).as_posix()
            try:
                if full.is_symlink():
                    w.symlink(rel, str(full.readlink()))
                    continue
                if not full.is_file():
                    continue
                fh = full.open("rb")  # closed below
                mode = os.fstat(fh.fileno()).st_mode
            except OSError as exc:
                raise InputError(f"cannot read artifact file {full}: {exc.strerror}") from exc
            with fh:
                w.file(rel, fh, mode)


def kind_of(artifact: Path) -> str:
    if artifact.is_dir():
        return "directory"
    try:
        with artifact.open("rb") as fh:
            head = fh.read(1024)
    except OSError as exc:
        raise InputError(f"cannot read artifact {artifact}: {exc.strerror}") from exc
    if head[:16] == SQLITE_MAGIC:
        return "sqlite"
    if head.startswith(PG_CUSTOM_MAGIC):
        return "pg-custom"
    if PG_PLAIN_HEADER in head:
        return "pg-plain"
    if zipfile.is_zipfile(artifact):
        return "zip"
    try:
        if tarfile.is_tarfile(artifact):
            return "tar"
    except (EOFError, OSError, tarfile.TarError) as exc:
        raise InputError(f"unreadable archive {artifact}: {exc}") from exc
    raise InputError(
        f"unknown artifact type (not a directory, tar, zip, SQLite or pg_dump): {artifact}"
    )


def restore(
    artifact: Path, dest: Path, limits: Limits | None = None, stream: IO[bytes] | None = None
) -> Restored:
    """Restore ARTIFACT into the empty directory DEST (a tar may come as STREAM, already
    decompressed, e.g. a PipelinedStream that also hashes the artifact in the same read)."""
    result = Restored()
    kind = kind_of(artifact)
    packed = artifact.stat().st_size if kind != "directory" else 1 << 62
    w = _Writer(dest, result, limits or Limits(), packed)
    if kind == "directory":
        _copy_dir(artifact, w)
    elif kind == "tar":
        _extract_tar(artifact, w, stream)
    elif kind == "zip":
        _extract_zip(artifact, w)
    else:
        try:
            fh = artifact.open("rb")  # closed below
        except OSError as exc:
            raise InputError(f"cannot read artifact {artifact}: {exc.strerror}") from exc
        with fh:
            w.file(artifact.name, fh, 0o644)
    sweep_links(dest, result.refused)
    return result


def sweep_links(root: Path, refused: list[tuple[str, str]]) -> None:
    """Chains of individually harmless links can still resolve outside: check them resolved."""
    real_root = os.path.realpath(root)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            full = Path(dirpath) / name
            if full.is_symlink():
                real = os.path.realpath(full)
                if real != real_root and not real.startswith(real_root + os.sep):
                    try:
                        full.unlink()
                    except OSError as exc:
                        raise scratch_failure(root, exc, "removing a link") from exc
                    rel = full.relative_to(root).as_posix()
                    refused.append((rel, "symlink chain resolves outside the scratch directory"))


def restore_cmd(argv: list[str], dest: Path, timeout: float) -> Restored:
    """Run a restore tool that writes into DEST, then hash what it wrote."""
    result = Restored()
    try:
        proc = subprocess.run(
            argv,
            capture_output=True,
            timeout=timeout,
            check=False,
            cwd=dest,
            text=True,
            errors="replace",
            env=child_env(),
        )
        result.output = (proc.stdout + proc.stderr)[-4000:]
        if proc.returncode != 0:
            if scratch_is_full(dest):
                raise EnvironmentFailure(
                    f"scratch space {dest} is full: the restore command exited "
                    f"{proc.returncode}; this is no verdict on the backup: nothing recorded",
                    hint="free space in the scratch file system (or set TMPDIR), then run again",
                )
            result.findings.append(f"restore command exited {proc.returncode}")
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout or b""
        result.output = (out.decode(errors="replace") if isinstance(out, bytes) else out)[-4000:]
        result.findings.append(f"restore command timed out after {timeout:g}s")
    except OSError as exc:
        result.findings.append(f"restore command could not start: {exc.strerror}")
    sweep_links(dest, result.refused)

    def unlisted(exc: OSError) -> None:  # the tool left a folder irkit cannot list
        if is_environment_error(exc) and not isinstance(exc, PermissionError):
            raise scratch_failure(dest, exc, "reading what the restore command wrote")
        where = os.fsdecode(exc.filename) if exc.filename else "?"
        result.findings.append(f"restored folder cannot be listed: {where}: {exc.strerror}")

    for dirpath, _dirs, filenames in os.walk(dest, onerror=unlisted):
        for name in filenames:
            full = Path(dirpath) / name
            rel = full.relative_to(dest).as_posix()
            h = hashlib.sha256()
            size = 0
            try:
                if not full.is_file() or full.is_symlink():
                    continue
                with full.open("rb") as fh:
                    while chunk := fh.read(_CHUNK):
                        h.update(chunk)
                        size += len(chunk)
            except OSError as exc:
                if is_environment_error(exc) and not isinstance(exc, PermissionError):
                    raise scratch_failure(dest, exc, f"hashing restored {rel!r}") from exc
                result.findings.append(f"restored file cannot be read: {rel}: {exc.strerror}")
                continue
            result.files[rel] = (size, h.hexdigest())
    return result


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
