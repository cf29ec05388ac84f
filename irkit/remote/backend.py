"""The storage a team case is shared through: a bytes-in/bytes-out interface two kinds implement.

`s3://bucket/prefix` (any S3-compatible store, through boto3, imported only when opened) and a
plain directory (a NAS mount, a USB stick). Both give the two primitives the team protocol
needs and nothing more: a create-only write (the remote, not a read-then-write race, decides
who gets a key) and a compare-and-swap replace (the checkpoint only moves forward).
No credential is ever part of a URL, a setting, or a message: S3 credentials come from the
standard AWS chain only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal, Protocol
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from irkit.errors import InputError

Progress = Callable[[int], None]  # called with the number of bytes just transferred


class RemoteError(InputError):
    """The remote is unreachable, refuses, or does not give the guarantees irkit needs (exit 2).

    The message names the remote's display URL, never a credential."""


LockMode = Literal["compliance", "governance"]


class RemoteSettings(BaseModel):
    """Non-secret settings of one remote, as stored in the case's `remotes.json` (besides
    the URL): where to reach the server and what retention to put on what is written."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    endpoint_url: Annotated[str, StringConstraints(min_length=1, max_length=2000)] | None = None
    profile: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,128}$")] | None = None
    region: Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]{1,64}$")] | None = None
    lock_mode: LockMode | None = None
    retention_days: Annotated[int, Field(ge=1, le=36500)] | None = None
    legal_hold: bool = False

    @model_validator(mode="after")
    def _lock_needs_days(self) -> RemoteSettings:
        if (self.lock_mode is None) != (self.retention_days is None):
            raise ValueError("--lock-mode and --retention-days go together")
        if self.endpoint_url is not None:
            parts = urlsplit(self.endpoint_url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError("the endpoint URL must be http(s)://host[:port]")
            if "@" in parts.netloc:
                raise ValueError("the endpoint URL must not carry credentials")
        return self

    @property
    def locking(self) -> bool:
        """Whether objects get Object Lock retention or a legal hold."""
        return self.lock_mode is not None or self.legal_hold


@dataclass(frozen=True)
class ObjectInfo:
    """What the remote says about one object (for `verify --remote`)."""

    key: str
    size: int
    sha256: str | None  # hex; None when the server keeps no SHA-256 of it
    etag: str | None  # the token replace() expects
    lock_mode: LockMode | None = None
    retain_until: datetime | None = None  # timezone-aware
    legal_hold: bool = False
    # how the SHA-256 is known: "server" (the store computed and checked it over the whole
    # object), "parts" (multipart: the server checked each part; the whole-object digest was
    # declared at upload and checked by irkit over the same bytes), "content" (hashed just now)
    sha256_source: Literal["server", "parts", "content"] | None = None
    version_id: str | None = None
    # S3 multipart: the server's composite checksum ("<b64>-<parts>") and the part size,
    # so a local file can be checked against what the server verified (composite_sha256)
    checksum: str | None = None
    part_size: int | None = None


def composite_sha256(path: str | Path, part_size: int) -> str:
    """The S3 composite SHA-256 checksum a multipart upload of `path` in parts of
    `part_size` gets: base64(SHA-256 of the parts' SHA-256 digests) + "-<parts>"."""
    import base64
    import hashlib

    outer = hashlib.sha256()
    parts = 0
    with open(path, "rb") as f:
        while True:
            inner = hashlib.sha256()
            left = part_size
            while left and (chunk := f.read(min(left, 1024 * 1024))):
                inner.update(chunk)
                left -= len(chunk)
            if left == part_size:
                break
            outer.update(inner.digest())
            parts += 1
            if left:
                break
    return f"{base64.b64encode(outer.digest()).decode()}-{parts}"


class Backend(Protocol):
    """One remote. Keys are relative, '/'-separated (see `check_key`)."""

    url: str  # display form, never with credentials

    def get(self, key: str) -> bytes | None:
        """The object's bytes; None when absent."""
        ...

    def get_versioned(self, key: str) -> tuple[bytes, str] | None:
        """(bytes, etag) for a later replace(); None when absent."""
        ...

    def create(self, key: str, data: bytes) -> bool:
        """Create-only write; False if the key exists (whatever its content)."""
        ...

    def replace(self, key: str, data: bytes, expect: str | None) -> bool:
        """Compare-and-swap: write if the current etag is `expect` (None: the key must not
        exist); False when another writer got there first."""
        ...

    def upload_file(
        self, key: str, path: str, sha256_hex: str, size: int, progress: Progress | None = None
    ) -> bool:
        """Create-only, streamed upload of a file whose SHA-256 is known; the server checks it
        where it can. False when an object with this content is already there; RemoteError
        when one with other content is."""
        ...

    def head(self, key: str) -> ObjectInfo | None:
        """Size, SHA-256, etag and retention; None when absent."""
        ...

    def list(self, prefix: str) -> Iterator[str]:
        """Every key starting with `prefix`, in lexicographic order."""
        ...

    def download_file(self, key: str, dest: str, progress: Progress | None = None) -> None:
        """Stream the object into the new file `dest` (the caller verifies its hash)."""
        ...

    def probe(self) -> None:
        """Raise RemoteError naming the problem when the server does not refuse a second
        create, a replace with a stale etag, or (with Object Lock asked) cannot lock."""
        ...


_KEY_PART = re.compile(r"^[A-Za-z0-9._-]{1,255}$")


def check_key(key: str) -> str:
    """A key is 1..1024 chars of [A-Za-z0-9._-] parts joined by '/', none '.', '..' or
    hidden: it maps safely onto a file path and onto an S3 key alike."""
    parts = key.split("/")
    if len(key) > 1024 or not all(_KEY_PART.match(p) and not p.startswith(".") for p in parts):
        raise ValueError(f"not a valid remote key: {key!r}")
    return key


def check_prefix(prefix: str) -> str:
    """A listing prefix: a key, optionally ending in '/', or empty."""
    if prefix:
        check_key(prefix.rstrip("/") if prefix.endswith("/") else prefix)
    return prefix


def check_url(url: str) -> str:
    """Refuse a URL that carries credentials or cannot name a remote; return it unchanged."""
    parts = urlsplit(url)
    if parts.scheme in ("s3", "file", "http", "https") and (
        parts.username is not None or parts.password is not None or "@" in parts.netloc
    ):
        raise RemoteError(
            "a remote URL must not carry credentials (user:password@...)",
            hint="credentials come from the standard AWS configuration: environment or ~/.aws",
        )
    if parts.scheme == "s3":
        bucket = parts.netloc
        if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", bucket):
            raise RemoteError(f"not an S3 bucket name in {redact_url(url)}")
        if parts.query or parts.fragment:
            raise RemoteError("an s3:// remote URL takes no query or fragment")
        prefix = parts.path.strip("/")
        if prefix:
            try:
                check_key(prefix)
            except ValueError:
                raise RemoteError(f"not a valid key prefix in {redact_url(url)}") from None
        return url
    if parts.scheme in ("", "file"):
        return url
    raise RemoteError(
        f"unsupported remote URL scheme {parts.scheme!r}",
        hint="use s3://bucket/prefix or a directory path (or file:///path)",
    )


def redact_url(url: str) -> str:
    """`url` with any user:password@ removed: what may appear in a message."""
    parts = urlsplit(url)
    if "@" in parts.netloc:
        host = parts.netloc.rsplit("@", 1)[1]
        return parts._replace(netloc=host).geturl()
    return url


def directory_path(url: str) -> Path:
    """The directory a path or file:// URL names (absolute)."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise RemoteError(f"file:// URL with a host is not supported: {url}")
        return Path(unquote(parts.path)).absolute()
    return Path(url).expanduser().absolute()


def open_backend(url: str, settings: RemoteSettings | None = None) -> Backend:
    """The backend for `url`: s3://bucket/prefix, or a directory path / file:// URL.

    Opening contacts nothing; the first operation does (call probe() before trusting a
    remote with a journal)."""
    check_url(url)
    settings = settings or RemoteSettings()
    if urlsplit(url).scheme == "s3":
        from irkit.remote.s3 import S3Backend

        return S3Backend(url, settings)
    from irkit.remote.directory import DirectoryBackend

    return DirectoryBackend(directory_path(url), settings)
