"""Files inside a case folder: opened without following links or blocking, written atomically.

A case folder is input like any other: a FIFO, socket, device, folder or symlink may sit
where irkit expects a file. `open_regular` never blocks on such a name (O_NONBLOCK), never
follows a final symlink (O_NOFOLLOW), and refuses whatever fstat does not call a regular
file; only then is O_NONBLOCK cleared. `atomic_write` puts a file in place whole or not at
all, through a hidden temporary `.NAME.<pid>.<hex>.tmp` beside it that every failure path
removes, and that `verify` recognises (`is_temp_name`) should a crash leave one behind.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import stat
from pathlib import Path

_OPEN_FLAGS = os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY
_TEMP_RE = re.compile(r"^\..+\.[0-9]+\.[0-9a-f]{8}\.tmp\Z")


class NotRegularFile(OSError):
    """A name in the case is not a regular file (or is a symlink); nothing was read from it.

    An OSError, so every `except OSError` that reports an unreadable file reports this too,
    with `strerror` saying what was found."""


def what_is(mode: int) -> str:
    """A file type in words, for messages."""
    if stat.S_ISLNK(mode):
        return "a symbolic link (never followed)"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a special file"


def _refusal(path: str | os.PathLike[str], mode: int) -> NotRegularFile:
    return NotRegularFile(errno.EINVAL, f"not a regular file: {what_is(mode)}", os.fspath(path))


def open_regular(path: str | os.PathLike[str], flags: int = os.O_RDONLY, mode: int = 0o644) -> int:
    """An fd on the regular file at `path`, opened with `flags`, never blocking on the way.

    Raises NotRegularFile for a symlink, FIFO, socket, device or folder, and OSError for
    whatever else stops the open (missing, permission, read-only file system)."""
    try:
        fd = os.open(path, flags | _OPEN_FLAGS, mode)
    except OSError as exc:
        # ELOOP: a final symlink under O_NOFOLLOW; ENXIO: a socket (or a FIFO opened for
        # writing with no reader); EISDIR: a folder opened for writing
        if exc.errno in (errno.ELOOP, errno.ENXIO, errno.EISDIR, errno.EOPNOTSUPP):
            try:
                found = os.lstat(path).st_mode
            except OSError:
                found = stat.S_IFREG  # gone meanwhile: report the original error
            if not stat.S_ISREG(found):
                raise _refusal(path, found) from exc
        raise
    try:
        found = os.fstat(fd).st_mode
        if not stat.S_ISREG(found):
            raise _refusal(path, found)
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_bytes(path: str | os.PathLike[str]) -> bytes:
    """The whole content of the regular file at `path` (see `open_regular`)."""
    fd = open_regular(path)
    try:
        chunks: list[bytes] = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


INPUT_LIMIT = 256 << 20  # a manifest, spec, template, key or PDF: far below this


def read_input(
    path: str | os.PathLike[str], *, what: str = "file", limit: int = INPUT_LIMIT
) -> bytes:
    """A file the user named: a symlink is followed (the user chose it), but only a regular
    file is read, the open never blocks (a FIFO would hang the command, /dev/zero never
    ends), and no more than `limit` bytes are taken. Any failure is one InputError line."""
    from irkit.errors import InputError

    name = os.fspath(path)
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    except OSError as exc:
        raise InputError(f"cannot read {what} {name}: {exc.strerror}") from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise InputError(f"cannot read {what} {name}: {what_is(st.st_mode)}, not a file")
        if st.st_size > limit:
            raise InputError(
                f"{what} {name} is too large ({st.st_size:,} bytes, at most {limit:,})"
            )
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        chunks: list[bytes] = []
        size = 0
        while size <= limit and (chunk := os.read(fd, 1 << 20)):
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:  # grew while read
            raise InputError(f"{what} {name} is too large (at most {limit:,} bytes)")
        return b"".join(chunks)
    except OSError as exc:
        raise InputError(f"cannot read {what} {name}: {exc.strerror}") from exc
    finally:
        os.close(fd)


def read_input_text(path: str | os.PathLike[str], *, what: str = "file") -> str:
    """`read_input` decoded as UTF-8 (one InputError line when it is not)."""
    from irkit.errors import InputError

    data = read_input(path, what=what)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{what} {os.fspath(path)} is not UTF-8 text") from exc


def temp_name(target: str) -> str:
    """The hidden temporary name `atomic_write` uses beside `target`."""
    return f".{target}.{os.getpid()}.{os.urandom(4).hex()}.tmp"


def is_temp_name(name: str) -> bool:
    """Whether `name` is one of `atomic_write`'s temporaries (a crash leftover if seen)."""
    return _TEMP_RE.match(name) is not None


def fsync_dir(path: str | os.PathLike[str]) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(
    path: str | os.PathLike[str],
    data: bytes,
    *,
    mode: int = 0o644,
    exact_mode: bool = False,
    replace: bool = True,
) -> None:
    """Put `data` at `path` whole or not at all, durably (file and folder fsynced).

    `mode` is narrowed by the umask unless `exact_mode`. `replace=False` refuses
    (FileExistsError) when `path` exists, race-free. On any failure the temporary is
    removed and `path` is as it was."""
    target = Path(path)
    tmp = target.with_name(temp_name(target.name))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _OPEN_FLAGS, mode)
    try:
        try:
            if exact_mode:
                os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        if replace:
            os.replace(tmp, target)
        else:
            try:
                os.link(tmp, target, follow_symlinks=False)
            except OSError as exc:
                if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EMLINK):
                    raise
                # no hard links here (FAT, exFAT, some FUSE): check, then rename
                if os.path.lexists(target):
                    raise FileExistsError(
                        errno.EEXIST, os.strerror(errno.EEXIST), str(target)
                    ) from exc
                os.replace(tmp, target)
            else:
                tmp.unlink()
        fsync_dir(target.parent)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
