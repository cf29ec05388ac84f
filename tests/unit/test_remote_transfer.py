"""Evidence objects between a case's store and a remote (both kinds): pushed once,
skipped when present, fetched through the store's write path, refused when the remote's
bytes do not hash to their name."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from irkit.errors import ProblemsFound
from irkit.record.case import Case, init_case
from irkit.record.store import EvidenceStore
from irkit.remote.backend import Backend, RemoteError, RemoteSettings, open_backend
from irkit.remote.transfer import evidence_key, fetch_objects, push_objects
from tests.conftest import seeded_signer
from tests.s3server import S3Remote, S3Server


@pytest.fixture(params=["directory", "s3"])
def remote(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, RemoteSettings, Backend]:
    if request.param == "directory":
        root = tmp_path / "remote"
        root.mkdir()
        url, settings = str(root), RemoteSettings()
    else:
        make: S3Remote = request.getfixturevalue("s3_remote")
        url, settings = make()
    return url, settings, open_backend(url, settings)


def stored(case: Case, tmp_path: Path, count: int, size: int = 4096) -> list[str]:
    digests = []
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    with case.store.writing():
        for i in range(count):
            path = src / f"f{i}"
            path.write_bytes(os.urandom(size) + str(i).encode())
            digests.append(case.store.put_file(path).sha256)
    return digests


def other_store(tmp_path: Path) -> EvidenceStore:
    """The store of a second case (a clone's), with its own journal."""
    signer = seeded_signer("carol", "lead")
    return init_case(tmp_path / "clone", title="Clone", case_id="TEST-1", signer=signer).store


def test_push_then_fetch_round_trip(
    case: Case, tmp_path: Path, remote: tuple[str, RemoteSettings, Backend]
) -> None:
    _, _, backend = remote
    digests = stored(case, tmp_path, 12)
    by_reference = hashlib.sha256(b"not stored here").hexdigest()
    seen: list[int] = []
    stats = push_objects(backend, case.store, [*digests, by_reference, digests[0]], seen.append)
    assert sorted(stats.transferred) == sorted(digests)
    assert stats.missing == [by_reference]
    assert sum(seen) == stats.bytes == sum(case.store.path_for(d).stat().st_size for d in digests)
    assert sorted(backend.list("evidence/sha256/")) == sorted(evidence_key(d) for d in digests)

    again = push_objects(backend, case.store, digests)
    assert again.transferred == [] and sorted(again.present) == sorted(digests)

    clone = other_store(tmp_path)
    got: list[int] = []
    fetched = fetch_objects(backend, clone, [*digests, by_reference], got.append)
    assert sorted(fetched.transferred) == sorted(digests)
    assert fetched.missing == [by_reference]
    assert sum(got) == stats.bytes
    for d in digests:
        assert clone.check(d) is None
        assert clone.path_for(d).read_bytes() == case.store.path_for(d).read_bytes()
        assert clone.path_for(d).stat().st_mode & 0o222 == 0  # read-only, as the store keeps it
    assert not (clone.root / "tmp").exists()
    assert fetch_objects(backend, clone, digests).transferred == []


def corrupt(url: str, backend: Backend, digest: str, s3: S3Server | None) -> None:
    """Put other bytes under the digest's name on the remote (a damaged or tampered copy)."""
    if s3 is None:
        path = Path(url) / "evidence" / "sha256" / digest
        path.chmod(0o644)
        path.write_bytes(b"tampered" + path.read_bytes()[8:])
    else:
        bucket, prefix = url.removeprefix("s3://").split("/", 1)
        s3.client().put_object(
            Bucket=bucket, Key=f"{prefix}/{evidence_key(digest)}", Body=b"tampered bytes"
        )


def test_a_corrupted_download_never_enters_the_store(
    case: Case,
    tmp_path: Path,
    remote: tuple[str, RemoteSettings, Backend],
    request: pytest.FixtureRequest,
) -> None:
    url, _, backend = remote
    s3 = request.getfixturevalue("s3_env") if url.startswith("s3://") else None
    digests = stored(case, tmp_path, 4)
    push_objects(backend, case.store, digests)
    corrupt(url, backend, digests[2], s3)
    clone = other_store(tmp_path)
    with pytest.raises(ProblemsFound, match="holds other bytes") as refused:
        fetch_objects(backend, clone, digests)
    assert digests[2] in str(refused.value)
    assert refused.value.exit_code == 1
    # nothing half-done: no stored blob (even the good ones of the failed fetch are removed,
    # since no journal names them), no temporary file
    assert [p for p in clone.root.rglob("*") if p.is_file()] == []


def test_push_of_a_damaged_local_copy_is_refused(
    case: Case, tmp_path: Path, remote: tuple[str, RemoteSettings, Backend]
) -> None:
    _, _, backend = remote
    (digest,) = stored(case, tmp_path, 1)
    path = case.store.path_for(digest)
    path.chmod(0o644)
    data = path.read_bytes()
    path.write_bytes(bytes([data[0] ^ 1]) + data[1:])
    with pytest.raises(RemoteError, match=r"did not hash|changed while"):
        push_objects(backend, case.store, [digest])
    assert list(backend.list("evidence/")) == []


def test_fetch_from_an_unreachable_remote_leaves_the_store_alone(tmp_path: Path) -> None:
    clone = other_store(tmp_path)
    backend = open_backend(str(tmp_path / "not-mounted"))
    with pytest.raises(RemoteError, match="no such directory"):
        fetch_objects(backend, clone, [hashlib.sha256(b"x").hexdigest()])
    assert [p for p in clone.root.rglob("*") if p.is_file()] == []
