"""Evidence objects between a case's store and a remote: `evidence/sha256/<hex>`, create-only.

Pushing skips what the remote already lists and uploads the rest in parallel; each upload
carries its SHA-256, so a damaged local copy is refused on the way (by the server for S3).
Fetching downloads into the store's `tmp/` folder, checks the SHA-256 before anything
enters the store, and then stores it through the store's own write path (copy, read-back,
read-only, rename, fsync), so a stored name always holds the bytes its digest says.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from irkit.errors import ProblemsFound
from irkit.record.store import EvidenceStore, StoredBlob, hash_file
from irkit.remote.backend import Backend, Progress, RemoteError

EVIDENCE_PREFIX = "evidence/sha256/"
WORKERS = 8  # objects in flight: many small files are latency-bound


def evidence_key(sha256_hex: str) -> str:
    if len(sha256_hex) != 64 or any(c not in "0123456789abcdef" for c in sha256_hex):
        raise ValueError("not a SHA-256 hex digest")
    return EVIDENCE_PREFIX + sha256_hex


@dataclass
class TransferStats:
    """What a push or fetch did, for `--json` summaries."""

    transferred: list[str] = field(default_factory=list)  # digests sent or received
    present: list[str] = field(default_factory=list)  # already on the other side
    missing: list[str] = field(default_factory=list)  # not in the source at all
    bytes: int = 0


class _Counter:
    """A thread-safe wrapper around the caller's progress callback."""

    def __init__(self, progress: Progress | None) -> None:
        self._progress = progress
        self._lock = threading.Lock()
        self.total = 0

    def __call__(self, n: int) -> None:
        with self._lock:
            self.total += n
            if self._progress is not None:
                self._progress(n)


def remote_evidence(backend: Backend) -> set[str]:
    """The digests the remote holds, from one listing (not a request per object)."""
    return {k[len(EVIDENCE_PREFIX) :] for k in backend.list(EVIDENCE_PREFIX)}


def push_objects(
    backend: Backend,
    store: EvidenceStore,
    digests: Iterable[str],
    progress: Progress | None = None,
    *,
    workers: int = WORKERS,
) -> TransferStats:
    """Upload the stored blobs among `digests` that the remote lacks; digests with no local
    copy (items collected by reference) are reported in `missing`, not an error."""
    stats = TransferStats()
    wanted = list(dict.fromkeys(digests))
    for d in wanted:
        evidence_key(d)
    there = remote_evidence(backend) if wanted else set()
    todo: list[tuple[str, Path, int]] = []
    for d in wanted:
        if d in there:
            stats.present.append(d)
            continue
        path = store.path_for(d)
        try:
            size = os.stat(path, follow_symlinks=False).st_size
        except FileNotFoundError:
            stats.missing.append(d)
            continue
        except OSError as exc:
            raise RemoteError(f"cannot read the stored copy of {d}: {exc.strerror}") from None
        todo.append((d, path, size))
    counter = _Counter(progress)

    def one(item: tuple[str, Path, int]) -> bool:
        d, path, size = item
        return backend.upload_file(evidence_key(d), str(path), d, size, counter)

    with ThreadPoolExecutor(max(1, workers)) as pool:
        try:
            for (d, _path, size), created in zip(todo, pool.map(one, todo), strict=True):
                if created:
                    stats.transferred.append(d)
                    stats.bytes += size
                else:
                    stats.present.append(d)  # someone else uploaded it meanwhile
        except BaseException:
            pool.shutdown(cancel_futures=True)  # the first failure stops what has not begun
            raise
    return stats


def fetch_objects(
    backend: Backend,
    store: EvidenceStore,
    digests: Iterable[str],
    progress: Progress | None = None,
    *,
    workers: int = WORKERS,
) -> TransferStats:
    """Download the blobs among `digests` that the store lacks. An object whose bytes do
    not hash to its name is refused (ProblemsFound) and never enters the store; digests
    the remote does not hold are reported in `missing`. Durable (synced) on return."""
    stats = TransferStats()
    wanted = list(dict.fromkeys(digests))
    for d in wanted:
        evidence_key(d)
    todo = []
    for d in wanted:
        if os.path.lexists(store.path_for(d)):
            stats.present.append(d)
        else:
            todo.append(d)
    if not todo:
        return stats
    there = remote_evidence(backend)
    stats.missing = [d for d in todo if d not in there]
    todo = [d for d in todo if d in there]
    counter = _Counter(progress)
    tmp_dir = store.root / "tmp"  # where `irkit repair` finds what a killed command left
    blobs: list[StoredBlob] = []
    temps: list[str] = []
    temps_lock = threading.Lock()

    def download(d: str) -> str:
        tmp = str(tmp_dir / f"incoming-fetch-{os.getpid()}-{os.urandom(6).hex()}")
        with temps_lock:
            temps.append(tmp)
        backend.download_file(evidence_key(d), tmp, counter)
        got, size = hash_file(tmp)
        if got != d:
            raise ProblemsFound(
                f"remote {backend.url}: {evidence_key(d)} holds other bytes (SHA-256 {got}, "
                f"{size} bytes): refused, nothing stored",
                hint="the remote copy is damaged or was tampered with; run `irkit verify --remote`",
            )
        return tmp

    with store.writing():
        try:
            os.makedirs(tmp_dir, exist_ok=True)
            with ThreadPoolExecutor(max(1, workers)) as pool:
                try:
                    # downloads in parallel; storing (not thread-safe) here, in order
                    for d, tmp in zip(todo, pool.map(download, todo), strict=True):
                        blob = store.put_file(Path(tmp), sync=False)
                        if blob.sha256 != d:  # changed under us between check and store
                            raise ProblemsFound(f"download of {d} changed while it was stored")
                        blobs.append(blob)
                        stats.transferred.append(d)
                        stats.bytes += blob.size
                        os.unlink(tmp)
                except BaseException:
                    pool.shutdown(cancel_futures=True)
                    raise
            store.sync_all(blobs)
        except OSError as exc:
            raise RemoteError(f"cannot store what was fetched: {exc.strerror}") from None
        finally:
            for tmp in temps:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
    return stats
