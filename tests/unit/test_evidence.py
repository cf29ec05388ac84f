"""Evidence collection: one entry per collection, read-only verified copies, checks that
name the item when a copy or an original changes."""

from __future__ import annotations

import base64
import errno
import hashlib
import os
import stat
from pathlib import Path

import pytest

from irkit.errors import InputError, NotAuthorizedError
from irkit.evidence.collect import check_items, collect, inventory
from irkit.formats import ed25519
from irkit.formats.canonical import canonical_bytes, signed_bytes
from irkit.record.case import Case
from tests.helpers import entry, lines, problems, verify, write_lines


@pytest.fixture
def source(tmp_path: Path) -> Path:
    root = tmp_path / "src"
    (root / "sub").mkdir(parents=True)
    (root / "a.log").write_text("alpha\n")
    (root / "sub" / "b.bin").write_bytes(os.urandom(200_000))
    with open(os.fsencode(root) + b"/odd-\xff.txt", "wb") as fh:
        fh.write(b"odd name")
    return root


def test_collect_folder_is_one_entry_with_verified_read_only_copies(
    case: Case, bob: ed25519.Signer, source: Path
) -> None:
    before = len(lines(case.root))
    e = collect(case, bob, [source], description="web logs", location="rack 4")
    assert len(lines(case.root)) == before + 1
    items = e.body["items"]
    assert [i["id"] for i in items] == ["E-0001", "E-0002", "E-0003"]
    odd = next(i for i in items if "path_b64" in i)
    assert base64.b64decode(odd["path_b64"]).endswith(b"odd-\xff.txt")
    for item in items:
        stored = case.store.path_for(item["sha256"])
        assert stat.S_IMODE(stored.stat().st_mode) == 0o444
        assert item["stored"] and item["mtime"].endswith("Z")
    assert verify(case.root).ok
    again = collect(case, bob, [source / "a.log"])
    assert again.body["items"][0]["id"] == "E-0004"
    assert list(inventory(case.read_entries().entries).items) == [f"E-000{i}" for i in range(1, 5)]


def test_tampered_copy_is_named(case: Case, bob: ed25519.Signer, source: Path) -> None:
    e = collect(case, bob, [source])
    target = next(i for i in e.body["items"] if i["path"].endswith("a.log"))
    stored = case.store.path_for(target["sha256"])
    stored.chmod(0o644)
    stored.write_text("alphA\n")
    found = problems(verify(case.root))
    assert any(target["id"] in p and "altered" in p for p in found), found
    results = dict(check_items(case))
    assert results[target["id"]] is not None
    assert sum(p is not None for p in results.values()) == 1


def test_by_reference_rechecks_the_original(case: Case, bob: ed25519.Signer, source: Path) -> None:
    e = collect(case, bob, [source / "sub" / "b.bin"], by_reference=True)
    assert e.body["items"][0]["stored"] is False
    assert not any(case.root.joinpath("evidence", "sha256").rglob("*.bin"))
    assert dict(check_items(case))["E-0001"] is None
    (source / "sub" / "b.bin").write_bytes(b"replaced")
    assert "no longer matches" in str(dict(check_items(case))["E-0001"])
    assert any("E-0001" in p for p in problems(verify(case.root)))


def test_non_member_refused_and_nothing_stored(
    case: Case, mallory: ed25519.Signer, source: Path
) -> None:
    before = case.journal_path.read_bytes()
    with pytest.raises(NotAuthorizedError):
        collect(case, mallory, [source])
    assert case.journal_path.read_bytes() == before
    assert not any(p.is_file() for p in (case.root / "evidence" / "sha256").rglob("*"))


def test_forged_item_ids_are_flagged(case: Case, bob: ed25519.Signer, source: Path) -> None:
    collect(case, bob, [source / "a.log"])
    ls = lines(case.root)
    obj = entry(ls[-1])
    obj["body"]["items"][0]["id"] = "E-0042"
    obj.pop("sig")
    obj["sig"] = base64.b64encode(bob.sign(signed_bytes(obj))).decode()
    ls[-1] = canonical_bytes(obj)
    write_lines(case.root, ls)
    found = problems(verify(case.root))
    assert any("E-0042 should be E-0001" in p for p in found), found


def test_timestamps_are_exact_microseconds_in_integers() -> None:
    from irkit.evidence.collect import _stamp

    # 0.9999996 s as a float of ns / 1e9 rounds up into the next second; integers do not
    assert _stamp(1_699_999_999_999_999_600) == "2023-11-14T22:13:19.999999Z"
    assert _stamp(0) == "1970-01-01T00:00:00.000000Z"
    assert _stamp(-1) == "1969-12-31T23:59:59.999999Z"


def test_large_copy_is_verified_while_written(case: Case, tmp_path: Path) -> None:
    from irkit.record import store

    big = tmp_path / "big.bin"
    data = os.urandom(store.PARALLEL_VERIFY + 12_345)
    big.write_bytes(data)
    blob = case.store.put_file(big, extra=("md5",))
    assert blob.sha256 == hashlib.sha256(data).hexdigest() and blob.size == len(data)
    assert blob.extra["md5"] == hashlib.md5(data).hexdigest()
    assert case.store.path_for(blob.sha256).read_bytes() == data


def test_large_copy_starts_writeback_on_the_way(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer thread starts writeback every FLUSH_EVERY bytes (sync_file_range), so the
    closing fsync (or a batch's syncfs) finds little left."""
    from irkit.record import store

    real = store._writeback_starter()
    assert real is not None  # Linux: the call exists and is used
    started: list[tuple[int, int]] = []

    def recording() -> object:
        def start(fd: int, offset: int, length: int) -> None:
            started.append((offset, length))
            real(fd, offset, length)

        return start

    monkeypatch.setattr(store._Writer, "FLUSH_EVERY", 2 * 1024 * 1024)
    monkeypatch.setattr(store, "_writeback_starter", recording)
    big = tmp_path / "big.bin"
    data = os.urandom(store.PARALLEL_VERIFY + 1)
    big.write_bytes(data)
    blob = case.store.put_file(big)
    mib2 = 2 * 1024 * 1024
    assert started == [(0, mib2), (mib2, mib2), (2 * mib2, mib2), (3 * mib2, mib2)]
    assert case.store.path_for(blob.sha256).read_bytes() == data
    started.clear()
    big.write_bytes(data[::-1])  # other content, so that it is stored anew
    case.store.put_file(big, sync=False)  # a batch's file, made durable later by syncfs
    assert len(started) == 4


def test_a_copy_that_cannot_be_written_leaves_nothing(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from irkit.record import store

    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(store.PARALLEL_VERIFY * 2))
    real = os.write
    calls = [0]

    def full(fd: int, data: bytes) -> int:
        calls[0] += 1
        if calls[0] > 5:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(fd, data)

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(InputError, match="No space left"):
        case.store.put_file(big)
    monkeypatch.setattr(os, "write", real)
    assert not list((case.root / "evidence" / "tmp").iterdir())
    assert not [p for p in (case.root / "evidence").rglob("*") if p.is_file()]


def test_verifier_notices_a_copy_shorter_or_longer_than_written(tmp_path: Path) -> None:
    from irkit.record.store import _Verifier

    copy = tmp_path / "copy"
    copy.write_bytes(b"0123456789")
    short = _Verifier(copy)
    short.feed(20)  # the writer claims 20 bytes; the file holds 10
    assert short.finish() != hashlib.sha256(b"0123456789").hexdigest()
    longer = _Verifier(copy)
    longer.feed(4)  # bytes beyond what was written are hashed too, so they cannot hide
    assert longer.finish() == hashlib.sha256(b"0123456789").hexdigest()


def test_non_regular_paths_are_recorded_as_skipped(
    case: Case, bob: ed25519.Signer, source: Path
) -> None:
    os.symlink("/etc/passwd", source / "link-out")
    os.mkfifo(source / "pipe")
    e = collect(case, bob, [source])
    skipped = {Path(s["path"]).name: s for s in e.body["skipped"]}
    assert skipped["link-out"]["what"] == "symlink"
    assert skipped["link-out"]["target"] == "/etc/passwd"
    assert skipped["pipe"]["what"] == "fifo"
    assert len(e.body["items"]) == 3  # neither the FIFO nor the link target was read
    assert verify(case.root).ok


def test_a_plain_collection_carries_no_skipped_field(
    case: Case, bob: ed25519.Signer, source: Path
) -> None:
    assert "skipped" not in collect(case, bob, [source]).body


def test_a_folder_costs_one_sync_not_one_per_file(
    case: Case, bob: ed25519.Signer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Collecting many small files must not fsync each copy: one syncfs of the store's file
    system makes them all durable before the entry that names them is written."""
    from irkit.record import store

    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(60):
        (folder / f"f{i:02d}.log").write_text(f"line {i}\n")
    synced: list[int] = []
    real_fsync, real_syncfs = os.fsync, store._syncfs
    calls: list[Path] = []

    def fsync(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    def syncfs(p: Path) -> bool:
        calls.append(p)
        return real_syncfs(p)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(store, "_syncfs", syncfs)
    e = collect(case, bob, [folder])
    assert len(e.body["items"]) == 60
    assert len(calls) == 1
    assert len(synced) < 10  # the journal's own appends, not one per copy
    assert verify(case.root).ok


def test_without_syncfs_each_copy_is_fsynced(
    case: Case, bob: ed25519.Signer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from irkit.record import store

    folder = tmp_path / "few"
    folder.mkdir()
    for i in range(5):
        (folder / f"f{i}.log").write_text(f"line {i}\n")
    synced: list[int] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(store, "_syncfs", lambda p: False)
    collect(case, bob, [folder])
    assert len(synced) >= 5
    assert verify(case.root).ok
