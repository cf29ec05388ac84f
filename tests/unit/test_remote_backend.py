"""The storage interface of team cases, run against both kinds: a directory and a real S3
server (SeaweedFS, tests/s3server.py). Every guarantee the protocol relies on is tried the
way the protocol uses it: create twice, compare-and-swap races, checked uploads."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import threading
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from irkit.remote import s3 as s3mod
from irkit.remote.backend import (
    Backend,
    RemoteError,
    RemoteSettings,
    check_key,
    check_url,
    composite_sha256,
    open_backend,
)
from tests.s3server import S3Remote, S3Server

KINDS = ["directory", "s3"]


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def remote(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> tuple[str, RemoteSettings]:
    """(url, settings) of a fresh, empty remote of each kind."""
    if kind == "directory":
        root = tmp_path / "remote"
        root.mkdir()
        return str(root), RemoteSettings()
    make: S3Remote = request.getfixturevalue("s3_remote")
    return make()


@pytest.fixture
def backend(remote: tuple[str, RemoteSettings]) -> Backend:
    return open_backend(*remote)


def write(path: Path, data: bytes) -> tuple[str, int]:
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest(), len(data)


# -- create-only and compare-and-swap ------------------------------------------------------


def test_create_twice_keeps_the_first(backend: Backend) -> None:
    assert backend.create("log/claims/000000000000", b"first") is True
    assert backend.create("log/claims/000000000000", b"second") is False
    assert backend.get("log/claims/000000000000") == b"first"
    assert backend.get("log/claims/000000000001") is None


def test_replace_is_compare_and_swap(backend: Backend) -> None:
    assert backend.replace("checkpoint", b"one", None) is True
    assert backend.replace("checkpoint", b"again", None) is False  # must not exist
    got = backend.get_versioned("checkpoint")
    assert got is not None and got[0] == b"one"
    etag = got[1]
    assert backend.replace("checkpoint", b"two", etag) is True
    assert backend.replace("checkpoint", b"stale", etag) is False  # lost: etag moved on
    assert backend.get("checkpoint") == b"two"
    assert backend.replace("absent", b"x", etag) is False


def test_list_is_sorted_and_scoped(backend: Backend) -> None:
    for key in ("log/claims/000000000002", "log/claims/000000000000", "log/bundles/000000"):
        assert backend.create(key, b"x")
    backend.create("checkpoint", b"c")
    assert list(backend.list("log/claims/")) == [
        "log/claims/000000000000",
        "log/claims/000000000002",
    ]
    assert list(backend.list("nothing/")) == []
    assert set(backend.list("")) >= {"checkpoint", "log/bundles/000000"}


def test_create_race_has_one_winner(backend: Backend) -> None:
    """16 threads create one key with their own content: exactly one wins, and what is
    stored is the winner's content."""
    n = 16
    barrier = threading.Barrier(n)
    wins: list[int] = []

    def racer(i: int) -> None:
        barrier.wait()
        if backend.create("log/claims/000000000256", f"writer {i}".encode()):
            wins.append(i)

    threads = [threading.Thread(target=racer, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1
    assert backend.get("log/claims/000000000256") == f"writer {wins[0]}".encode()


def _cas_worker(url: str, settings: dict[str, Any], env: dict[str, str], rounds: int) -> int:
    os.environ.update(env)
    b = open_backend(url, RemoteSettings.model_validate(settings))
    done = 0
    while done < rounds:
        got = b.get_versioned("counter")
        assert got is not None
        if b.replace("counter", str(int(got[0]) + 1).encode(), got[1]):
            done += 1
    return done


def test_cas_race_between_processes_loses_no_update(
    remote: tuple[str, RemoteSettings], backend: Backend
) -> None:
    """Four processes increment one counter by read + CAS: no increment is lost, so a
    checkpoint moved by CAS can never silently go back."""
    assert backend.replace("counter", b"0", None)
    env = {k: v for k, v in os.environ.items() if k.startswith("AWS_")}
    url, settings = remote
    ctx = multiprocessing.get_context("spawn")
    rounds, workers = 15, 4
    with ctx.Pool(workers) as pool:
        args = [(url, settings.model_dump(), env, rounds)] * workers
        assert sum(pool.starmap(_cas_worker, args)) == rounds * workers
    assert backend.get("counter") == str(rounds * workers).encode()


# -- evidence uploads ----------------------------------------------------------------------


def test_upload_is_create_only_and_checked(backend: Backend, tmp_path: Path) -> None:
    digest, size = write(tmp_path / "blob", b"evidence bytes" * 1000)
    key = f"evidence/sha256/{digest}"
    seen: list[int] = []
    assert backend.upload_file(key, str(tmp_path / "blob"), digest, size, seen.append) is True
    assert sum(seen) == size
    info = backend.head(key)
    assert info is not None and info.sha256 == digest and info.size == size
    # identical content again: done, not an error
    assert backend.upload_file(key, str(tmp_path / "blob"), digest, size) is False
    # a remote whose object under a content address holds other bytes (damaged, tampered:
    # made here by naming a file by another's digest): refused loudly, not overwritten
    other, other_size = write(tmp_path / "other", b"something else")
    forged = f"evidence/sha256/{other}"
    assert backend.upload_file(forged, str(tmp_path / "blob"), digest, size)
    before = backend.head(forged)
    with pytest.raises(RemoteError, match="already exists with other content"):
        backend.upload_file(forged, str(tmp_path / "other"), other, other_size)
    assert backend.head(forged) == before


def test_upload_of_bytes_not_matching_their_digest_is_refused(
    backend: Backend, tmp_path: Path
) -> None:
    """A local copy that no longer hashes to its recorded digest never gets the name."""
    digest, size = write(tmp_path / "blob", b"recorded content")
    write(tmp_path / "blob", b"damaged content!")  # same size, other bytes
    key = f"evidence/sha256/{digest}"
    with pytest.raises(RemoteError, match=r"did not hash|changed while"):
        backend.upload_file(key, str(tmp_path / "blob"), digest, size)
    assert backend.head(key) is None
    assert list(backend.list("evidence/")) == []


def test_download_streams_the_object(backend: Backend, tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024 + 7)
    digest, size = write(tmp_path / "blob", data)
    backend.upload_file(f"evidence/sha256/{digest}", str(tmp_path / "blob"), digest, size)
    seen: list[int] = []
    backend.download_file(f"evidence/sha256/{digest}", str(tmp_path / "copy"), seen.append)
    assert (tmp_path / "copy").read_bytes() == data
    assert sum(seen) == size
    with pytest.raises(RemoteError, match="missing"):
        backend.download_file(f"evidence/sha256/{'0' * 64}", str(tmp_path / "none"))
    assert not (tmp_path / "none").exists()


# -- multipart (S3) ------------------------------------------------------------------------


@pytest.fixture
def small_parts(monkeypatch: pytest.MonkeyPatch) -> int:
    """Multipart from 8 MiB on, in 5 MiB parts (S3's smallest): the large-file path on a
    test-sized file."""
    monkeypatch.setattr(s3mod, "SINGLE_PUT_MAX", 8 * 1024 * 1024)
    monkeypatch.setattr(s3mod, "PART_SIZE", 5 * 1024 * 1024)
    return 5 * 1024 * 1024


def test_multipart_upload_is_checked_per_part_and_whole(
    s3_remote: S3Remote, s3_env: S3Server, small_parts: int, tmp_path: Path
) -> None:
    url, settings = s3_remote()
    backend = open_backend(url, settings)
    data = os.urandom(3 * small_parts + 12345)  # 4 parts
    digest, size = write(tmp_path / "big", data)
    key = f"evidence/sha256/{digest}"
    seen: list[int] = []
    assert backend.upload_file(key, str(tmp_path / "big"), digest, size, seen.append)
    assert sum(seen) == size
    info = backend.head(key)
    assert info is not None and info.size == size and info.sha256 == digest
    assert info.sha256_source == "parts"
    client = s3_env.client()
    bucket = url.split("/")[2]
    h = client.head_object(Bucket=bucket, Key=f"case/{key}", ChecksumMode="ENABLED")
    assert h["ChecksumSHA256"].endswith("-4")  # the server's composite of 4 checked parts
    # what the server verified can be recomputed from the local file
    assert info.checksum == h["ChecksumSHA256"] and info.part_size == small_parts
    assert composite_sha256(tmp_path / "big", info.part_size) == info.checksum
    backend.download_file(key, str(tmp_path / "copy"))
    assert hashlib.sha256((tmp_path / "copy").read_bytes()).hexdigest() == digest
    # again: 412 at Complete, counted as done, the abandoned upload aborted
    assert backend.upload_file(key, str(tmp_path / "big"), digest, size) is False
    assert client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_multipart_of_a_changed_file_is_abandoned(
    s3_remote: S3Remote, s3_env: S3Server, small_parts: int, tmp_path: Path
) -> None:
    url, settings = s3_remote()
    backend = open_backend(url, settings)
    digest, size = write(tmp_path / "big", os.urandom(2 * small_parts))
    write(tmp_path / "big", os.urandom(2 * small_parts))
    key = f"evidence/sha256/{digest}"
    with pytest.raises(RemoteError, match="did not hash to its recorded SHA-256"):
        backend.upload_file(key, str(tmp_path / "big"), digest, size)
    assert backend.head(key) is None
    bucket = url.split("/")[2]
    assert s3_env.client().list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_multipart_memory_is_bounded(s3_remote: S3Remote, small_parts: int, tmp_path: Path) -> None:
    """40 MiB in 5 MiB parts: Python's peak stays near (workers + 1) parts, whatever the
    file's size (a whole-file read would peak at 40 MiB)."""
    url, settings = s3_remote()
    backend = open_backend(url, settings)
    digest, size = write(tmp_path / "big", os.urandom(8 * small_parts))
    backend.head("warm-up")  # the client's own set-up is not the upload's
    tracemalloc.start()
    try:
        backend.upload_file(f"evidence/sha256/{digest}", str(tmp_path / "big"), digest, size)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < (s3mod.PART_WORKERS + 2) * small_parts + 4 * 1024 * 1024
    assert peak < size


def test_part_size_grows_only_past_max_parts() -> None:
    b = s3mod.S3Backend("s3://bucket/p", RemoteSettings())
    assert b.part_size(1024**3) == s3mod.PART_SIZE
    big = 500 * 1024**3
    assert b.part_size(big) * s3mod.MAX_PARTS >= big
    assert b.part_size(big) % (1024 * 1024) == 0


# -- Object Lock (S3) ----------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["compliance", "governance"])
def test_locked_evidence_cannot_be_deleted(
    s3_remote: S3Remote, s3_env: S3Server, tmp_path: Path, mode: str
) -> None:
    """Every object irkit writes carries the retention; deleting its version is refused by
    the server itself, with the test's full credentials."""
    url, settings = s3_remote(lock_mode=mode, retention_days=1, legal_hold=mode == "governance")
    backend = open_backend(url, settings)
    backend.probe()
    digest, size = write(tmp_path / "blob", b"locked evidence")
    key = f"evidence/sha256/{digest}"
    assert backend.upload_file(key, str(tmp_path / "blob"), digest, size)
    assert backend.create("log/claims/000000000000", b"claim")
    # the checkpoint moves by CAS on a locked bucket: each version is locked, the key moves
    assert backend.replace("checkpoint", b"size 1", None)
    got = backend.get_versioned("checkpoint")
    assert got is not None and backend.replace("checkpoint", b"size 2", got[1])
    assert backend.get("checkpoint") == b"size 2"
    for k in (key, "log/claims/000000000000", "checkpoint"):
        info = backend.head(k)
        assert info is not None and info.lock_mode == mode
        assert info.retain_until is not None and info.version_id
        assert info.legal_hold is (mode == "governance")
        bucket = url.split("/")[2]
        client = s3_env.client()
        from botocore.exceptions import ClientError

        with pytest.raises(ClientError) as refused:
            client.delete_object(Bucket=bucket, Key=f"case/{k}", VersionId=info.version_id)
        assert refused.value.response["Error"]["Code"] == "AccessDenied"
        assert backend.head(k) == info


def test_probe_checks_object_lock_is_enabled(s3_remote: S3Remote, s3_env: S3Server) -> None:
    url, settings = s3_remote()  # a bucket made without Object Lock
    locked = settings.model_copy(update={"lock_mode": "compliance", "retention_days": 1})
    with pytest.raises(RemoteError, match=r"versioning is not enabled|has no Object Lock"):
        open_backend(url, locked).probe()
    s3_env.client().put_bucket_versioning(
        Bucket=url.split("/")[2], VersioningConfiguration={"Status": "Enabled"}
    )
    with pytest.raises(RemoteError, match="has no Object Lock"):
        open_backend(url, locked).probe()
    open_backend(url, settings).probe()  # without retention asked, the bucket is fine


# -- the probe -----------------------------------------------------------------------------


def test_probe_accepts_a_conforming_remote(backend: Backend) -> None:
    backend.probe()
    assert list(backend.list("")) == []  # and leaves nothing behind


def test_probe_refuses_a_server_that_ignores_if_none_match(
    s3_env: S3Server, s3_nocond: Any
) -> None:
    """Through real boto3 to SeaweedFS behind a proxy that drops the conditional headers."""
    from tests.s3server import NOCOND_BUCKET

    settings = RemoteSettings(endpoint_url=s3_nocond.endpoint)
    backend = open_backend(f"s3://{NOCOND_BUCKET}/probe-test", settings)
    with pytest.raises(RemoteError, match="ignores If-None-Match"):
        backend.probe()
    # and the same bucket reached directly (the headers arrive) passes
    assert open_backend(
        f"s3://{NOCOND_BUCKET}/probe-test", RemoteSettings(endpoint_url=s3_env.endpoint)
    ).create("k", b"v")


def test_probe_refuses_a_directory_without_create_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file system where link(2) replaced the name (no create-only) is caught."""
    from irkit.remote import directory

    def overwriting_link(src: str, dst: str, *, follow_symlinks: bool = True) -> None:
        os.replace(src, dst)  # what a file system without create-only semantics does

    backend = directory.DirectoryBackend(tmp_path)
    monkeypatch.setattr(os, "link", overwriting_link)
    with pytest.raises(RemoteError, match="second create"):
        backend.probe()


# -- directories without hard links --------------------------------------------------------


def test_directory_without_hard_links_uses_noreplace_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FAT/exFAT sticks have no link(2): renameat2(RENAME_NOREPLACE) keeps create-only."""
    import errno

    from irkit.remote import directory

    def no_links(src: str, dst: str, *, follow_symlinks: bool = True) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    backend = directory.DirectoryBackend(tmp_path)
    assert backend.create("a/b", b"1") is True
    assert backend.create("a/b", b"2") is False
    assert backend.get("a/b") == b"1"
    assert sorted(os.listdir(tmp_path / "a")) == ["b"]  # no temp file left
    backend.probe()


def test_directory_remote_must_exist(tmp_path: Path) -> None:
    backend = open_backend(str(tmp_path / "unmounted"))
    with pytest.raises(RemoteError, match="no such directory"):
        backend.get("checkpoint")
    with pytest.raises(RemoteError, match="no such directory"):
        backend.create("checkpoint", b"x")
    assert not (tmp_path / "unmounted").exists()


def test_directory_leaves_no_temp_files(tmp_path: Path) -> None:
    backend = open_backend(f"file://{tmp_path}")
    backend.create("k", b"1")
    backend.replace("k", b"2", backend.get_versioned("k")[1])  # type: ignore[index]
    names = {p.name for p in tmp_path.iterdir()}
    assert not any(n.startswith(".tmp-") for n in names)
    assert list(backend.list("")) == ["k"]  # the lock file is hidden


# -- URLs, keys, credentials, failures -----------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "s3://AKIAXXXX:secretvalue@bucket/prefix",
        "s3://user@bucket/p",
        "file://user:pw@host/path",
        "https://user:pw@example.com/x",
    ],
)
def test_urls_with_credentials_are_refused(url: str) -> None:
    with pytest.raises(RemoteError, match="must not carry credentials") as refused:
        check_url(url)
    assert "secretvalue" not in refused.value.diagnostics()
    assert "pw" not in refused.value.diagnostics()


@pytest.mark.parametrize(
    "url", ["s3://Bad_Bucket/x", "s3://b/../x", "ftp://host/x", "s3://bkt/x?y"]
)
def test_bad_urls_are_refused(url: str) -> None:
    with pytest.raises(RemoteError):
        open_backend(url)


def test_endpoint_with_credentials_is_refused() -> None:
    with pytest.raises(ValueError, match="credentials"):
        RemoteSettings(endpoint_url="http://key:secret@127.0.0.1:9000")
    with pytest.raises(ValueError, match="go together"):
        RemoteSettings(lock_mode="compliance")


@pytest.mark.parametrize(
    "key", ["../x", "a/../b", "/abs", "a//b", ".hidden", "a/.lock", "", "a b", "a/b/"]
)
def test_keys_cannot_escape_or_hide(key: str) -> None:
    with pytest.raises(ValueError):
        check_key(key)


def test_a_wrong_secret_key_never_appears_in_a_message(
    s3_remote: S3Remote, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url, settings = s3_remote()
    wrong = "WRONG-secret-do-not-print-4f9a1c"
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", wrong)
    backend = open_backend(url, settings)
    digest, size = write(tmp_path / "blob", b"x")
    calls: list[Callable[[], object]] = [
        lambda: backend.get("k"),
        lambda: backend.create("k", b"v"),
        lambda: backend.replace("k", b"v", '"etag"'),
        lambda: backend.head("k"),
        lambda: list(backend.list("")),
        lambda: backend.upload_file(
            f"evidence/sha256/{digest}", str(tmp_path / "blob"), digest, size
        ),
        lambda: backend.probe(),
    ]
    for call in calls:
        with pytest.raises(RemoteError) as refused:
            call()
        shown = refused.value.diagnostics() + repr(refused.value.args)
        assert wrong not in shown
        assert "refused" in shown and ("SignatureDoesNotMatch" in shown or "403" in shown)
        assert "credentials" in (refused.value.hint or "")
        assert refused.value.__cause__ is None and refused.value.__suppress_context__


def test_no_credentials_is_one_clear_line(
    s3_remote: S3Remote, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, settings = s3_remote()
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(RemoteError, match="no AWS credentials found"):
        open_backend(url, settings).get("k")


def test_unknown_profile_is_one_clear_line(s3_env: S3Server) -> None:
    settings = RemoteSettings(endpoint_url=s3_env.endpoint, profile="nosuchprofile")
    with pytest.raises(RemoteError, match="profile 'nosuchprofile' is not configured"):
        open_backend("s3://bucket/p", settings).get("k")


def test_unreachable_server_fails_fast_with_the_endpoint(s3_env: S3Server) -> None:
    from tests.s3server import free_ports

    (port,) = free_ports(1)  # nothing listens there
    endpoint = f"http://127.0.0.1:{port}"
    backend = open_backend("s3://bucket/p", RemoteSettings(endpoint_url=endpoint))
    with pytest.raises(RemoteError, match=f"cannot connect to {endpoint}") as refused:
        backend.create("k", b"v")
    assert "network" in (refused.value.hint or "")


def test_missing_bucket_names_the_fix(s3_env: S3Server) -> None:
    backend = open_backend(
        "s3://irkit-no-such-bucket/p", RemoteSettings(endpoint_url=s3_env.endpoint)
    )
    with pytest.raises(RemoteError, match="NoSuchBucket") as refused:
        backend.create("k", b"v")
    assert "create the bucket" in (refused.value.hint or "")


def test_a_create_whose_answer_was_lost_is_still_ours(
    s3_remote: S3Remote, s3_env: S3Server
) -> None:
    """The server did the create, the answer never arrived, boto3 retried and got 412: the
    key holds exactly our bytes, so the create succeeded (the protocol must not think it
    lost a race it won)."""
    from tests.s3server import Proxy

    url, settings = s3_remote()
    proxy = Proxy(s3_env.endpoint, lose_answer="log/claims/000000000007")
    try:
        via = settings.model_copy(update={"endpoint_url": proxy.endpoint})
        backend = open_backend(url, via)
        assert backend.create("log/claims/000000000007", b"our claim") is True
        assert proxy.lost  # the answer was indeed lost once
        assert backend.get("log/claims/000000000007") == b"our claim"
        assert backend.create("log/claims/000000000007", b"our claim") is False  # no retry
    finally:
        proxy.stop()


def test_a_silent_server_times_out_instead_of_hanging(
    s3_env: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server that accepts the connection and never answers: bounded retries, one line."""
    import socket

    monkeypatch.setattr(s3mod, "READ_TIMEOUT", 0.5)
    monkeypatch.setattr(s3mod, "ATTEMPTS", 2)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        endpoint = f"http://127.0.0.1:{silent.getsockname()[1]}"
        backend = open_backend("s3://bucket/p", RemoteSettings(endpoint_url=endpoint))
        with pytest.raises(RemoteError, match="did not answer in time"):
            backend.get("checkpoint")


def test_credentials_from_a_named_profile(
    s3_remote: S3Remote, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The standard chain: ~/.aws-style files and a profile named in the remote's settings
    (the settings hold the profile's name, never a key)."""
    from tests.s3server import ACCESS_KEY, SECRET_KEY

    url, settings = s3_remote()
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    creds = tmp_path / "credentials"
    creds.write_text(
        f"[team]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n"
    )
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    backend = open_backend(url, settings.model_copy(update={"profile": "team"}))
    assert backend.create("k", b"v")
    assert SECRET_KEY not in repr(settings.model_dump()) + backend.url


def test_directory_refuses_a_symlinked_folder(tmp_path: Path) -> None:
    """Someone with write access to the share replaces `evidence/` by a link elsewhere."""
    root = tmp_path / "remote"
    root.mkdir()
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "sha256").mkdir(parents=True)
    (root / "evidence").symlink_to(elsewhere)
    backend = open_backend(str(root))
    digest, size = write(tmp_path / "blob", b"x")
    with pytest.raises(RemoteError, match="is not a folder"):
        backend.upload_file(f"evidence/sha256/{digest}", str(tmp_path / "blob"), digest, size)
    with pytest.raises(RemoteError, match="is not a folder"):
        backend.get(f"evidence/sha256/{digest}")
    assert list((elsewhere / "sha256").iterdir()) == []
