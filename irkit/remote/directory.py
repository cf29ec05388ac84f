"""A directory remote: a NAS mount, a USB stick carried between sites, an air-gapped handover.

Create-only is a hard link of a finished, fsynced temporary file onto the key's name:
link(2) fails with EEXIST when the name exists, atomically, also on NFS; rename(2) would
overwrite. On a file system without hard links (FAT/exFAT sticks) renameat2's
RENAME_NOREPLACE does the same. Compare-and-swap takes an flock on a hidden lock file next
to the key, compares the current content's SHA-256 (the etag) and renames a new file over
it. Readers never lock: a name always holds a complete file. Objects are made read-only;
a directory has no Object Lock, so retention settings are the storage's own business.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import hashlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from irkit.record import libc, safefile
from irkit.remote.backend import (
    ObjectInfo,
    Progress,
    RemoteError,
    RemoteSettings,
    check_key,
    check_prefix,
)

CHUNK = 1024 * 1024
_RENAME_NOREPLACE = 1  # <linux/fs.h>
_AT_FDCWD = -100


def _etag(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _noreplace_rename(src: str, dst: str) -> None:
    """renameat2(src, dst, RENAME_NOREPLACE): FileExistsError when dst exists."""
    call = libc.function("renameat2")
    if call is None:
        raise OSError(errno.ENOSYS, "renameat2 is not available")
    call.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if call(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), _RENAME_NOREPLACE) != 0:
        err = ctypes.get_errno()
        if err == errno.EEXIST:
            raise FileExistsError(err, os.strerror(err), dst)
        raise OSError(err, os.strerror(err), dst)


class DirectoryBackend:
    """The remote at directory `root` (which must exist: a remote is made, not guessed)."""

    def __init__(self, root: Path, settings: RemoteSettings | None = None) -> None:
        self.root = root
        self.url = str(root)
        self.settings = settings or RemoteSettings()

    # -- paths -----------------------------------------------------------------------------

    def _fail(self, what: str, exc: OSError) -> RemoteError:
        return RemoteError(f"remote {self.url}: cannot {what}: {exc.strerror or exc}")

    def _root_ok(self) -> None:
        try:
            st = os.stat(self.root)
        except FileNotFoundError:
            raise RemoteError(
                f"remote {self.url}: no such directory",
                hint="create it (or mount the share) first; a remote folder is never guessed",
            ) from None
        except OSError as exc:
            raise self._fail("open the directory", exc) from exc
        if not stat.S_ISDIR(st.st_mode):
            raise RemoteError(f"remote {self.url}: not a directory")

    def _path(self, key: str) -> str:
        """The key's file; refused when a folder on the way is a symbolic link (someone
        with write access to the share could point it anywhere on this machine)."""
        parts = check_key(key).split("/")
        folder = str(self.root)
        for part in parts[:-1]:
            folder = os.path.join(folder, part)
            try:
                mode = os.lstat(folder).st_mode
            except FileNotFoundError:
                break  # made by us, as a folder, when written
            except OSError as exc:
                raise self._fail(f"read {key}", exc) from exc
            if not stat.S_ISDIR(mode):
                raise RemoteError(
                    f"remote {self.url}: {os.path.relpath(folder, self.root)} is not a folder "
                    "(a symbolic link or file where the remote keeps its objects): refused"
                )
        return os.path.join(self.root, *parts)

    def _parent(self, path: str) -> str:
        """Make the key's folder (the root itself must exist)."""
        folder = os.path.dirname(path)
        if not os.path.isdir(folder):
            self._root_ok()
            os.makedirs(folder, exist_ok=True)
        return folder

    def _temp(self, folder: str) -> tuple[str, int]:
        tmp = os.path.join(folder, f".tmp-{os.getpid()}-{os.urandom(8).hex()}")
        fd = os.open(
            tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW, 0o444
        )
        return tmp, fd

    def _link_into_place(self, tmp: str, path: str) -> bool:
        """Create-only: give the finished temp file the key's name; False if taken."""
        try:
            try:
                os.link(tmp, path, follow_symlinks=False)
            except OSError as exc:
                if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK):
                    raise
                _noreplace_rename(tmp, path)  # no hard links here (FAT): atomic no-replace
                return True
        except FileExistsError:
            return False
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        return True

    def _write_temp(self, folder: str, data: bytes) -> str:
        tmp, fd = self._temp(folder)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        os.close(fd)
        return tmp

    # -- reads -----------------------------------------------------------------------------

    def _read(self, path: str) -> bytes | None:
        try:
            fd = safefile.open_regular(Path(path))
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise self._fail(f"read {os.path.relpath(path, self.root)}", exc) from exc
        try:
            with os.fdopen(fd, "rb") as f:
                return f.read()
        except OSError as exc:
            raise self._fail(f"read {os.path.relpath(path, self.root)}", exc) from exc

    def get(self, key: str) -> bytes | None:
        path = self._path(key)
        data = self._read(path)
        if data is None:
            self._root_ok()  # an unmounted share is an error, not an empty remote
        return data

    def get_versioned(self, key: str) -> tuple[bytes, str] | None:
        data = self.get(key)
        return None if data is None else (data, _etag(data))

    def head(self, key: str) -> ObjectInfo | None:
        """Size and SHA-256 (read from the file: a directory keeps no checksum of its own)."""
        path = self._path(key)
        try:
            fd = safefile.open_regular(Path(path))
        except FileNotFoundError:
            self._root_ok()
            return None
        except OSError as exc:
            raise self._fail(f"read {key}", exc) from exc
        digest = hashlib.sha256()
        size = 0
        try:
            while chunk := os.read(fd, CHUNK):
                digest.update(chunk)
                size += len(chunk)
        except OSError as exc:
            raise self._fail(f"read {key}", exc) from exc
        finally:
            os.close(fd)
        hexdigest = digest.hexdigest()
        return ObjectInfo(
            key=key, size=size, sha256=hexdigest, etag=hexdigest, sha256_source="content"
        )

    def list(self, prefix: str) -> Iterator[str]:
        check_prefix(prefix)
        self._root_ok()
        # walk only the folder the prefix lies in, not the whole remote
        base = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        start = os.path.join(self.root, *base.split("/")) if base else str(self.root)
        found: list[str] = []
        for folder, dirs, files in os.walk(start, onerror=None, followlinks=False):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            rel = os.path.relpath(folder, self.root)
            for name in files:
                if name.startswith("."):
                    continue  # temp and lock files
                key = name if rel == "." else f"{rel.replace(os.sep, '/')}/{name}"
                if key.startswith(prefix):
                    found.append(key)
        yield from sorted(found)

    def download_file(self, key: str, dest: str, progress: Progress | None = None) -> None:
        path = self._path(key)
        try:
            src = safefile.open_regular(Path(path))
        except FileNotFoundError:
            self._root_ok()
            raise RemoteError(f"remote {self.url}: {key} is missing") from None
        except OSError as exc:
            raise self._fail(f"read {key}", exc) from exc
        try:
            out = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            try:
                while chunk := os.read(src, CHUNK):
                    view = memoryview(chunk)
                    while view:
                        view = view[os.write(out, view) :]
                    if progress is not None:
                        progress(len(chunk))
            finally:
                os.close(out)
        except OSError as exc:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(dest)
            raise self._fail(f"download {key}", exc) from exc
        finally:
            os.close(src)

    # -- writes ----------------------------------------------------------------------------

    def create(self, key: str, data: bytes) -> bool:
        path = self._path(key)
        try:
            folder = self._parent(path)
            tmp = self._write_temp(folder, data)
            created = self._link_into_place(tmp, path)
            if created:
                safefile.fsync_dir(folder)
        except OSError as exc:
            raise self._fail(f"write {key}", exc) from exc
        return created

    @contextlib.contextmanager
    def _locked(self, path: str) -> Iterator[None]:
        folder = os.path.dirname(path)
        lock = os.path.join(folder, f".{os.path.basename(path)}.lock")
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def replace(self, key: str, data: bytes, expect: str | None) -> bool:
        path = self._path(key)
        try:
            folder = self._parent(path)
            with self._locked(path):
                current = self._read(path)
                if expect is None:
                    if current is not None:
                        return False
                    tmp = self._write_temp(folder, data)
                    if not self._link_into_place(tmp, path):
                        return False
                else:
                    if current is None or _etag(current) != expect:
                        return False
                    tmp = self._write_temp(folder, data)
                    try:
                        os.rename(tmp, path)
                    except BaseException:
                        with contextlib.suppress(FileNotFoundError):
                            os.unlink(tmp)
                        raise
                safefile.fsync_dir(folder)
        except OSError as exc:
            raise self._fail(f"write {key}", exc) from exc
        return True

    def upload_file(
        self, key: str, path: str, sha256_hex: str, size: int, progress: Progress | None = None
    ) -> bool:
        """Copy while hashing; a copy whose bytes do not hash to `sha256_hex` never gets
        the key's name."""
        dest = self._path(key)
        try:
            src = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            raise RemoteError(f"cannot read {path}: {exc.strerror}") from exc
        try:
            folder = self._parent(dest)
            tmp, out = self._temp(folder)
            try:
                digest = hashlib.sha256()
                copied = 0
                while chunk := os.read(src, CHUNK):
                    digest.update(chunk)
                    view = memoryview(chunk)
                    while view:
                        view = view[os.write(out, view) :]
                    copied += len(chunk)
                    if progress is not None:
                        progress(len(chunk))
                os.fsync(out)
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
                raise
            finally:
                os.close(out)
            if digest.hexdigest() != sha256_hex or copied != size:
                os.unlink(tmp)
                raise RemoteError(
                    f"{path} changed while it was uploaded (expected SHA-256 {sha256_hex}, "
                    f"read {digest.hexdigest()}); nothing was written to {self.url}"
                )
            if self._link_into_place(tmp, dest):
                safefile.fsync_dir(folder)
                return True
        except OSError as exc:
            raise self._fail(f"upload {key}", exc) from exc
        finally:
            os.close(src)
        return self._already_there(key, sha256_hex, size)

    def _already_there(self, key: str, sha256_hex: str, size: int) -> bool:
        """A create that found the key taken: identical content is done, other content
        under the same content address is refused loudly."""
        info = self.head(key)
        if info is not None and info.sha256 == sha256_hex and info.size == size:
            return False
        got = "missing" if info is None else f"SHA-256 {info.sha256}, {info.size} bytes"
        raise RemoteError(
            f"remote {self.url}: {key} already exists with other content ({got}); "
            "it was not overwritten",
            hint="the remote's copy is damaged or was tampered with; run `irkit verify --remote`",
        )

    # -- guarantees ------------------------------------------------------------------------

    def probe(self) -> None:
        """Create a probe key twice and CAS it with a wrong etag, as the protocol will."""
        self._root_ok()
        key = f"probe/{os.urandom(8).hex()}"
        if not self.create(key, b"first"):
            raise RemoteError(f"remote {self.url}: a new probe key already existed")
        try:
            if self.create(key, b"second"):
                raise RemoteError(
                    f"remote {self.url} accepted a second create of one key: this file system "
                    "does not give create-only writes, and a shared journal would fork"
                )
            if self.replace(key, b"third", expect=_etag(b"not what is there")):
                raise RemoteError(
                    f"remote {self.url} accepted a replace with a stale etag: compare-and-swap "
                    "does not work here, and the checkpoint could move backwards"
                )
            if self.get(key) != b"first":
                raise RemoteError(f"remote {self.url} does not read back what was written")
        finally:
            path = self._path(key)
            with contextlib.suppress(OSError):
                os.unlink(path)
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.lock"))
            with contextlib.suppress(OSError):
                os.rmdir(os.path.dirname(path))
