"""The hashing engine and manifests against hashlib, coreutils and hostile trees."""

from __future__ import annotations

import gc
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from irkit.errors import InputError
from irkit.hashing import files as hashing
from irkit.hashing import manifests
from tests.helpers import children


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    deep = root / "a" / "b" / "c" / "d"
    deep.mkdir(parents=True)
    (root / "empty").write_bytes(b"")
    (root / "big.bin").write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    (deep / "deep file.txt").write_text("deep\n")
    (root / "with space").write_text("space")
    (root / "new\nline").write_text("newline")
    (root / "back\\slash").write_text("backslash")
    with open(os.fsencode(root) + b"/latin1-\xe9\xff", "wb") as fh:
        fh.write(b"not utf-8 name")
    return root


def _expected(root: Path, algorithm: str) -> dict[bytes, str]:
    out = {}
    for dirpath, _dirs, files in os.walk(os.fsencode(root)):
        for name in files:
            path = os.path.join(dirpath, name)
            if not stat.S_ISREG(os.lstat(path).st_mode):
                continue  # FIFOs and symlinks are not hashed
            with open(path, "rb") as fh:
                out[path] = hashlib.new(algorithm, fh.read()).hexdigest()
    return out


def test_digests_equal_hashlib_for_every_algorithm(tree: Path) -> None:
    records = hashing.hash_paths([os.fsencode(tree)], hashing.ALGORITHMS, jobs=3)
    files = {r.path: r for r in records if r.kind == "file"}
    for algorithm in hashing.ALGORITHMS:
        expected = _expected(tree, algorithm)
        assert {p: r.digests[algorithm] for p, r in files.items()} == expected


def test_sha256sum_and_md5sum_check_irkit_output(tree: Path, tmp_path: Path) -> None:
    if shutil.which("sha256sum") is None or shutil.which("md5sum") is None:
        pytest.skip("coreutils sha256sum/md5sum NOT installed: interop not checked")
    os.chdir(tmp_path)
    records = hashing.hash_paths([b"tree"], ("sha256", "md5"))
    for algorithm, tool in (("sha256", "sha256sum"), ("md5", "md5sum")):
        sums = tmp_path / f"{algorithm}.txt"
        sums.write_bytes(b"".join(manifests.iter_sums(records, algorithm)))
        result = subprocess.run([tool, "-c", "--strict", str(sums)], capture_output=True)
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.count(b": OK") == 7
        native = subprocess.run(
            [tool, *sorted(os.fsencode(p) for p in _expected(Path("tree"), algorithm))],
            capture_output=True,
            check=True,
        ).stdout
        assert manifests.read_sums(native)[1] == manifests.read_sums(sums.read_bytes())[1]


def test_json_manifest_round_trip_and_checksum(tree: Path) -> None:
    records = hashing.hash_paths([os.fsencode(tree)], ("sha256",))
    data = b"".join(
        manifests.iter_json(records, ("sha256",), [os.fsencode(tree)], "2026-01-01T00:00:00Z")
    )
    algorithm, files = manifests.load(data)
    assert algorithm == "sha256" and files == _expected(tree, "sha256")
    doc = json.loads(data)
    doc["files"][0]["size"] += 1
    with pytest.raises(InputError, match="checksum"):
        manifests.read_json(json.dumps(doc).encode())
    doc = json.loads(data)
    doc["checksum"] = {"md4": "00"}
    with pytest.raises(InputError, match="without algorithm"):
        manifests.read_json(json.dumps(doc).encode())
    with pytest.raises(InputError):
        manifests.read_json(data[: len(data) // 2])


def test_fifo_socketless_tree_never_hangs(tmp_path: Path) -> None:
    root = tmp_path / "t"
    root.mkdir()
    (root / "file").write_text("x")
    os.mkfifo(root / "pipe")
    (root / "link").symlink_to("file")
    code = (
        "import sys; from irkit.hashing import files as hashing; "
        "rs = hashing.hash_paths([sys.argv[1].encode()], ('sha256',)); "
        "print(sorted((r.kind, r.path.rsplit(b'/', 1)[1].decode()) for r in rs))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(root)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert "('skipped', 'pipe')" in out and "('symlink', 'link')" in out
    assert "('file', 'file')" in out


def test_unreadable_path_is_reported_and_the_rest_hashed(tmp_path: Path) -> None:
    root = tmp_path / "t"
    root.mkdir()
    (root / "good").write_text("x")
    (root / "dangling").symlink_to(tmp_path / "gone")
    records = hashing.hash_paths([os.fsencode(root)], ("sha256",), follow_symlinks=True)
    kinds = {r.path.rsplit(b"/", 1)[1]: r for r in records}
    assert kinds[b"good"].kind == "file"
    assert kinds[b"dangling"].kind == "error" and kinds[b"dangling"].note


def test_audit_categories(tree: Path) -> None:
    root = os.fsencode(tree)
    expected = _expected(tree, "sha256")
    (tree / "with space").write_text("spacE")  # changed
    (tree / "a" / "b" / "c" / "d" / "deep file.txt").rename(tree / "moved.txt")  # moved
    (tree / "brand new").write_text("new")  # new
    (tree / "empty").unlink()  # missing
    result = manifests.audit(expected, "sha256", hashing.hash_paths([root], ("sha256",)))
    assert result.summary() == {
        "matched": 4,
        "changed": 1,
        "moved": 1,
        "new": 1,
        "missing": 1,
        "unreadable": 0,
        "unchecked": 0,
    }
    assert not result.ok


@pytest.mark.parametrize("text", [b"zz  name\n", b"abc\n", b"", b"00  a\n" + b"0000  b\n"])
def test_malformed_sums(text: bytes) -> None:
    with pytest.raises(InputError):
        manifests.read_sums(text)


def test_unknown_algorithm() -> None:
    with pytest.raises(InputError, match="unknown digest"):
        hashing.check_algorithms(["sha3"])


def test_hashdeep_interop(tree: Path, tmp_path: Path) -> None:
    if shutil.which("hashdeep") is None:
        pytest.skip("hashdeep is NOT installed: hashdeep interop not checked")
    os.chdir(tmp_path)
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "x.txt").write_text("x")
    (plain / "y z.bin").write_bytes(b"\x00" * 70000)
    records = hashing.hash_paths([b"plain"], ("md5", "sha256"))
    ours = tmp_path / "ours.hashdeep"
    ours.write_bytes(
        b"".join(manifests.iter_hashdeep(records, ("md5", "sha256"), os.fsencode(tmp_path)))
    )
    audit = subprocess.run(
        ["hashdeep", "-a", "-k", str(ours), "-r", "plain"], capture_output=True, text=True
    )
    assert audit.returncode == 0 and "Audit passed" in audit.stdout, audit.stdout + audit.stderr
    theirs = subprocess.run(
        ["hashdeep", "-c", "sha256", "-r", str(plain)], capture_output=True, check=True
    ).stdout
    algorithm, expected = manifests.load(theirs)
    assert algorithm == "sha256" and len(expected) == 2
    result = manifests.audit(
        expected, algorithm, hashing.hash_paths([os.fsencode(plain)], ("sha256",))
    )
    assert result.ok, result.summary()
    (plain / "x.txt").write_text("changed")
    result = manifests.audit(
        expected, algorithm, hashing.hash_paths([os.fsencode(plain)], ("sha256",))
    )
    assert result.changed == [os.fsencode(plain / "x.txt")]


def test_file_growing_while_hashed_is_flagged(tmp_path: Path) -> None:
    """A real writer appends while irkit reads: the record must say so, not pass as hashed."""
    target = tmp_path / "growing.log"
    target.write_bytes(b"\0" * (4 * 1024 * 1024))
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "end = time.time() + 20\n"
            "with open(sys.argv[1], 'ab', buffering=0) as f:\n"
            "    while time.time() < end: f.write(b'x' * 4096)\n",
            str(target),
        ]
    )
    try:
        flagged = None
        for _ in range(200):
            record = hashing.hash_path(os.fsencode(target), ("sha256",))
            if record.note:
                flagged = record
                break
    finally:
        writer.kill()
        writer.wait()
    assert flagged is not None and flagged.note == "changed while being hashed"
    assert not flagged.ok


def test_parallel_order_and_progress_match_serial(tree: Path) -> None:
    calls: list[tuple[int, int, int, int]] = []
    serial = hashing.hash_paths([os.fsencode(tree)], ("sha256",), jobs=1)
    parallel = hashing.hash_paths(
        [os.fsencode(tree)], ("sha256",), jobs=4, progress=lambda *a: calls.append(a)
    )
    assert [(r.path, r.digests) for r in serial] == [(r.path, r.digests) for r in parallel]
    total = sum(r.size for r in serial)
    assert calls[-1] == (total, len(serial), total, len(serial))


@pytest.fixture
def wide_tree(tree: Path) -> Path:
    """Enough files for forked workers, plus the awkward kinds of path."""
    for i in range(300):
        (tree / "a" / f"f{i:03d}").write_bytes(os.urandom(i * 97))
    os.mkfifo(tree / "a" / "pipe")
    os.symlink("f001", tree / "a" / "link")
    return tree


def test_forked_workers_agree_with_one_thread(wide_tree: Path) -> None:
    calls: list[tuple[int, int, int, int]] = []
    serial = hashing.hash_paths(
        [os.fsencode(wide_tree)], ("sha256", "md5"), processes=False, jobs=1
    )
    forked = hashing.hash_paths(
        [os.fsencode(wide_tree)],
        ("sha256", "md5"),
        processes=True,
        jobs=2,
        progress=lambda *a: calls.append(a),
    )
    assert len(serial) > 300
    assert [(r.path, r.kind, r.size, r.digests, r.note) for r in serial] == [
        (r.path, r.kind, r.size, r.digests, r.note) for r in forked
    ]
    assert {r.kind for r in forked} == {"file", "symlink", "skipped"}
    expected = _expected(wide_tree, "md5")
    assert all(expected[r.path] == r.digests["md5"] for r in forked if r.kind == "file")
    total = sum(r.size for r in serial)
    assert calls[-1] == (total, len(serial), total, len(serial))


def test_a_worker_that_dies_leaves_nothing_unhashed(
    wide_tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker killed mid-run (OOM killer, a bug): the parent hashes what it left."""
    serial = hashing.hash_paths([os.fsencode(wide_tree)], ("sha256",), processes=False, jobs=1)
    parent = os.getpid()
    calls = [0]
    sha256 = hashlib.sha256

    def dying() -> object:
        calls[0] += 1  # each worker counts its own files
        if os.getpid() != parent and calls[0] == 40:
            os.kill(os.getpid(), 9)
        return sha256()

    monkeypatch.setitem(hashing._CONSTRUCTORS, "sha256", dying)
    forked = hashing.hash_paths([os.fsencode(wide_tree)], ("sha256",), processes=True, jobs=2)
    assert calls[0] > 0  # the parent hashed what the dead workers left
    assert [(r.path, r.kind, r.digests) for r in forked] == [
        (r.path, r.kind, r.digests) for r in serial
    ]


def test_a_worker_flags_a_file_that_changes_while_read(
    wide_tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The forked path keeps the before/after check: a touched file is flagged, not redone."""
    readv = os.readv
    touched = 77 * 97  # the size of a/f077: unique in the tree

    def touching(fd: int, buffers: list[memoryview]) -> int:
        n = readv(fd, buffers)
        if os.fstat(fd).st_size == touched:
            os.utime(fd, ns=(0, 1_000_000_000))  # what a writer would do to mtime
        return n

    monkeypatch.setattr(os, "readv", touching)
    records = hashing.hash_paths([os.fsencode(wide_tree)], ("sha256",), processes=True, jobs=2)
    flagged = [r for r in records if r.note == "changed while being hashed"]
    assert [r.path for r in flagged] == [os.fsencode(wide_tree / "a" / "f077")]
    assert not flagged[0].ok


def test_a_consumer_that_stops_early_leaves_no_worker_behind(wide_tree: Path) -> None:
    records = hashing.iter_hash_paths([os.fsencode(wide_tree)], ("sha256",), processes=True, jobs=2)
    first = next(records)
    assert first.path.startswith(os.fsencode(wide_tree))
    records.close()
    assert _no_child_left()  # every worker was reaped


@pytest.fixture
def forks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Workers start after 50 files; the list of forks the parent makes."""
    monkeypatch.setattr(hashing, "_HEAD_START", 50)
    parent, fork, forks = os.getpid(), os.fork, []

    def counted() -> int:
        pid = fork()
        if os.getpid() == parent:
            forks.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", counted)
    return forks


@pytest.fixture
def head_start(wide_tree: Path, forks: list[int]) -> list[int]:
    """wide_tree's folder `a` crosses the head start; 100 files after it in `z`."""
    for i in range(100):
        (wide_tree / "z").mkdir(exist_ok=True)
        (wide_tree / "z" / f"g{i:03d}").write_bytes(os.urandom(i * 31))
    return forks


_before: set[int] = set()


@pytest.fixture(autouse=True)
def _children_before() -> None:
    """What children of pytest other tests left (spawn helpers): not this test's workers."""
    _before.clear()
    _before.update(children())


def _no_child_left() -> bool:
    return children() <= _before  # a worker not reaped is still listed, as a zombie


def test_workers_start_on_the_first_folders_while_the_rest_is_walked(
    wide_tree: Path, head_start: list[int]
) -> None:
    serial = hashing.hash_paths(
        [os.fsencode(wide_tree)], ("sha256", "md5"), processes=False, jobs=1
    )
    forked = hashing.hash_paths([os.fsencode(wide_tree)], ("sha256", "md5"), jobs=2)
    assert len(head_start) == 4  # two workers for the head, two for the rest
    assert [(r.path, r.kind, r.size, r.digests, r.note) for r in serial] == [
        (r.path, r.kind, r.size, r.digests, r.note) for r in forked
    ]
    assert _no_child_left()


def test_a_head_start_that_takes_the_whole_tree(tmp_path: Path, forks: list[int]) -> None:
    """The walk crosses the head start in its last folder: nothing is left for a second run."""
    for i in range(80):
        (tmp_path / f"f{i:02d}").write_bytes(os.urandom(i * 50))
    forked = hashing.hash_paths([os.fsencode(tmp_path)], ("sha256",), jobs=2)
    assert [(r.path, r.digests) for r in forked] == [
        (r.path, r.digests)
        for r in hashing.hash_paths([os.fsencode(tmp_path)], ("sha256",), processes=False)
    ]
    assert len(forked) == 80 and len(forks) == 2 and _no_child_left()


def test_a_stream_closed_or_dropped_early_leaves_no_worker_behind(
    wide_tree: Path, head_start: list[int]
) -> None:
    records = hashing.iter_hash_paths([os.fsencode(wide_tree)], ("sha256",), jobs=2)
    next(records)
    records.close()
    assert len(head_start) == 4 and _no_child_left()
    unread = hashing.iter_hash_paths([os.fsencode(wide_tree)], ("sha256",), jobs=2)
    assert len(head_start) == 8  # workers start before the first record is asked for
    del unread
    gc.collect()
    assert _no_child_left()


def test_a_walk_that_fails_after_the_head_start_stops_its_workers(
    wide_tree: Path, head_start: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    walk = hashing.walk_folders

    def failing(*args: object, **kwargs: object) -> Iterator[tuple[list[bytes], list[bool]]]:
        for n, folder in enumerate(walk(*args, **kwargs)):  # type: ignore[arg-type]
            if n == 3:
                raise KeyboardInterrupt
            yield folder

    monkeypatch.setattr(hashing, "walk_folders", failing)
    with pytest.raises(KeyboardInterrupt):
        hashing.iter_hash_paths([os.fsencode(wide_tree)], ("sha256",), jobs=2)
    assert len(head_start) == 2 and _no_child_left()


def test_no_fork_beside_other_threads(wide_tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Forking a threaded program can copy a lock another thread holds: threads then."""

    def no_fork() -> int:
        raise AssertionError("forked beside a running thread")

    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        monkeypatch.setattr(os, "fork", no_fork)
        records = hashing.hash_paths([os.fsencode(wide_tree)], ("sha256",))
    finally:
        release.set()
        other.join()
    assert len([r for r in records if r.kind == "file"]) > 300


def test_a_path_swapped_after_listing_is_looked_at_again(tmp_path: Path) -> None:
    """The listing said regular file (no lstat then); what is there when it is opened wins."""
    swapped = tmp_path / "swapped"
    os.symlink("/etc/passwd", swapped)
    record = hashing.hash_path(os.fsencode(swapped), ("sha256",), known_regular=True)
    assert record.kind == "symlink" and not record.digests
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    record = hashing.hash_path(os.fsencode(fifo), ("sha256",), known_regular=True)
    assert record.kind == "skipped"
    gone = hashing.hash_path(os.fsencode(tmp_path / "gone"), ("sha256",), known_regular=True)
    assert gone.kind == "error"
