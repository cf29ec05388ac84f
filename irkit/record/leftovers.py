"""Crash leftovers: what interrupted commands leave behind, reported by `irkit verify` (as
warnings: none of it is part of the record) and removed by `irkit gc`.

- incoming: a partial copy in `evidence/tmp/` (a command killed mid-copy);
- orphan: a stored file that no journal line names (a collection killed before its entry);
- empty-folder: an empty `evidence/sha256/XX/` (a full disk, or its last orphan removed);
- scratch: an `irkit-restore-*` folder of ours in TMPDIR that nothing has written to for a
  while and no live PostgreSQL runs in (a `backup verify` killed mid-restore).

The store is looked at only while held exclusively (`EvidenceStore.exclusive`): no writer is
then between a copy and the entry that names it, so a running collection's copies are never
taken for leftovers. Whether a blob is named is decided from the journal's bytes
(`store.References`: any digest in any line), never from a guess about which fields matter.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from irkit.errors import InputError
from irkit.record.kindspec import Context
from irkit.record.store import EvidenceStore, StoreBusy

SCRATCH_PREFIX = "irkit-restore-"
# A restore writes as it goes and a PostgreSQL check runs in its folder; a scratch folder
# idle this long, with no live postmaster in it, belongs to a run that is gone.
SCRATCH_IDLE = 6 * 3600.0
_DIGEST = re.compile(r"^[0-9a-f]{64}\Z")
_PREFIX = re.compile(r"^[0-9a-f]{2}\Z")

Kind = Literal["incoming", "orphan", "empty-folder", "scratch"]
KINDS: tuple[Kind, ...] = ("incoming", "orphan", "empty-folder", "scratch")


class Leftover(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: Kind
    path: str
    size: int  # bytes of regular files (a folder: everything under it)


class GcResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    dry_run: bool
    removed: list[Leftover]  # with --dry-run: what would be removed
    failed: list[str]  # "path: why" for what could not be removed
    freed: int


def _entries(folder: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as it:
            return sorted(it, key=lambda e: e.name)
    except OSError:
        return []


def _walk(top: Path) -> tuple[int, float, bool]:
    """(bytes of regular files, newest mtime, a live postmaster inside) without following
    links."""
    try:
        st = os.lstat(top)
    except OSError:
        return 0, 0.0, False
    if not stat.S_ISDIR(st.st_mode):
        return (st.st_size if stat.S_ISREG(st.st_mode) else 0), st.st_mtime, False
    size, newest, live = 0, st.st_mtime, False
    for dirpath, dirnames, filenames in os.walk(top, followlinks=False):
        for name in (*dirnames, *filenames):
            with contextlib.suppress(OSError):
                info = Path(dirpath, name).lstat()
                newest = max(newest, info.st_mtime)
                if stat.S_ISREG(info.st_mode):
                    size += info.st_size
                    if name == "postmaster.pid":
                        live = live or _postmaster_alive(Path(dirpath, name))
    return size, newest, live


def _postmaster_alive(pidfile: Path) -> bool:
    try:
        pid = int(pidfile.read_text(encoding="ascii", errors="replace").split("\n", 1)[0])
        os.kill(pid, 0)
    except PermissionError:
        return True  # someone else's live process
    except (OSError, ValueError):
        return False
    return True


def store_leftovers(store: EvidenceStore, known: Iterable[str] = ()) -> list[Leftover]:
    """Leftovers in the case's store; the caller holds it exclusively. `known`: digests
    already seen named by the journal (verify's walk), skipped without reading it again."""
    evidence = store.root
    case_root = evidence.parent
    found: list[Leftover] = []

    def rel(path: Path) -> str:
        return path.relative_to(case_root).as_posix()

    for entry in _entries(evidence / "tmp"):
        path = Path(entry.path)
        found.append(Leftover(kind="incoming", path=rel(path), size=_walk(path)[0]))
    seen = set(known)
    unknown: list[tuple[str, Path, int]] = []  # (digest, path, size) not known to be named
    for folder in _entries(evidence / "sha256"):
        if not _PREFIX.match(folder.name) or not folder.is_dir(follow_symlinks=False):
            continue  # not the store's own layout: verify's business, never gc's
        inside = _entries(Path(folder.path))
        if not inside:
            found.append(Leftover(kind="empty-folder", path=rel(Path(folder.path)), size=0))
        for blob in inside:
            if blob.name in seen or not _DIGEST.match(blob.name) or blob.name[:2] != folder.name:
                continue
            with contextlib.suppress(OSError):
                info = blob.stat(follow_symlinks=False)
                if stat.S_ISREG(info.st_mode):
                    unknown.append((blob.name, Path(blob.path), info.st_size))
    if unknown:
        unnamed = set(store.remove_unnamed([c[0] for c in unknown], dry_run=True))
        found.extend(
            Leftover(kind="orphan", path=rel(path), size=size)
            for digest, path, size in unknown
            if digest in unnamed
        )
    return found


def scratch_leftovers(idle: float = SCRATCH_IDLE, now: float | None = None) -> list[Leftover]:
    """`irkit-restore-*` folders of this user in TMPDIR that no run is using any more."""
    now = time.time() if now is None else now
    base = Path(tempfile.gettempdir())
    found = []
    for entry in _entries(base):
        if not entry.name.startswith(SCRATCH_PREFIX):
            continue
        with contextlib.suppress(OSError):
            info = entry.stat(follow_symlinks=False)
            if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
                continue
            size, newest, live = _walk(Path(entry.path))
            if not live and now - newest >= idle:
                found.append(Leftover(kind="scratch", path=entry.path, size=size))
    return found


def _rmtree(path: Path) -> None:
    """Remove a folder whose restored contents may be read-only, never following links:
    every folder is made writable (before it is listed) first."""
    path.chmod(stat.S_IRWXU)
    for dirpath, dirnames, _files in os.walk(path, followlinks=False):
        for name in dirnames:
            sub = Path(dirpath, name)
            if not sub.is_symlink():
                with contextlib.suppress(OSError):
                    sub.chmod(stat.S_IRWXU)
    shutil.rmtree(path)


def _remove_path(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        _rmtree(path)
    else:
        path.unlink(missing_ok=True)


def collect_garbage(
    store: EvidenceStore, *, dry_run: bool = False, scratch_idle: float = SCRATCH_IDLE
) -> GcResult:
    """Remove every leftover (or, `dry_run`, only say what would go). Never a named blob:
    orphans are decided again, and removed, by `EvidenceStore.remove_unnamed` under the
    store and journal locks. Raises StoreBusy when a writer is at work."""
    case_root = store.root.parent
    removed: list[Leftover] = []
    failed: list[str] = []
    with store.exclusive():
        found = store_leftovers(store)
        if dry_run:
            removed.extend(found)
        else:
            for item in found:
                if item.kind == "orphan":
                    continue
                try:
                    path = case_root / item.path
                    if item.kind == "empty-folder":
                        path.rmdir()
                    else:
                        _remove_path(path)
                    removed.append(item)
                except OSError as exc:
                    failed.append(f"{item.path}: {exc.strerror}")
            orphans = {Path(i.path).name: i for i in found if i.kind == "orphan"}
            try:
                gone = store.remove_unnamed(list(orphans))
            except OSError as exc:  # the journal unreadable: nothing was removed
                raise InputError(f"cannot read the journal: {exc.strerror}") from exc
            removed.extend(orphans[d] for d in gone)
            emptied = {str(Path(orphans[d].path).parent) for d in gone}
            removed.extend(
                Leftover(kind="empty-folder", path=folder, size=0)
                for folder in sorted(emptied)
                if not (case_root / folder).exists()
            )
    for item in scratch_leftovers(scratch_idle):
        if not dry_run:
            try:
                _rmtree(Path(item.path))
            except OSError as exc:
                failed.append(f"{item.path}: {exc.strerror}")
                continue
        removed.append(item)
    return GcResult(
        dry_run=dry_run,
        removed=removed,
        failed=failed,
        freed=sum(i.size for i in removed),
    )


def human_size(size: int) -> str:
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} B"


def _what(kind: Kind, count: int) -> str:
    one = count == 1
    if kind == "incoming":
        return "partial copy in evidence/tmp" if one else "partial copies in evidence/tmp"
    if kind == "orphan":
        return "stored file that no entry names" if one else "stored files that no entry names"
    if kind == "empty-folder":
        return "empty folder in evidence/sha256" if one else "empty folders in evidence/sha256"
    where = f"{SCRATCH_PREFIX}* scratch folder{'' if one else 's'} in {tempfile.gettempdir()}"
    return where


_WHY: dict[Kind, str] = {
    "incoming": "left by interrupted commands",
    "orphan": "left by interrupted collections",
    "empty-folder": "left by a full disk or a crash",
    "scratch": "left by interrupted backup verify runs",
}


def summary(items: Iterable[Leftover]) -> list[str]:
    """One line per kind: count, what, total size."""
    lines = []
    items = list(items)
    for kind in KINDS:
        group = [i for i in items if i.kind == kind]
        if group:
            size = sum(i.size for i in group)
            sized = f" ({human_size(size)})" if kind != "empty-folder" else ""
            lines.append(f"{len(group)} {_what(kind, len(group))}{sized}")
    return lines


def verify_finish(ctx: Context) -> None:
    """`irkit verify`: leftovers as warnings (they are not part of the record, and they do
    not change the exit code)."""
    if ctx.case_root is None:
        return
    store = EvidenceStore(ctx.case_root / "evidence")
    known = set(ctx.content_digests)
    for _seq, item in ctx.state.get("evidence", {}).get("items", []):
        if item.get("stored"):
            known.add(item["sha256"])
    found: list[Leftover] = []
    try:
        with store.exclusive():
            found = store_leftovers(store, known)
    except StoreBusy:
        ctx.warn(
            None,
            "leftovers",
            "the evidence store is in use by a running command: leftovers not checked",
        )
    except (InputError, OSError):
        pass  # no store folder, or no journal to read: other checks say so
    found.extend(scratch_leftovers())
    for kind in KINDS:
        group = [i for i in found if i.kind == kind]
        if group:
            line = summary(group)[0]
            ctx.warn(None, "leftovers", f"{line}, {_WHY[kind]}; `irkit gc` removes them")
