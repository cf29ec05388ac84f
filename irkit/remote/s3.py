"""An S3 remote (AWS S3, SeaweedFS, MinIO, Ceph RGW) through boto3, imported only here.

Create-only is `PutObject` / `CompleteMultipartUpload` with `If-None-Match: *` (412 when
the key exists); compare-and-swap is `If-Match: <etag>`. Every write carries its SHA-256
(`x-amz-checksum-sha256`, signed), so the server refuses bytes that do not hash to it:
whole-object for a single PUT (files up to SINGLE_PUT_MAX), per part for multipart
uploads (SHA-256 checksums are composite there on S3 and SeaweedFS alike; the whole-object
digest is checked by irkit over the bytes it sent and kept in the object's metadata).
Object Lock retention and legal hold, when set, go on every object written.
Credentials come only from the standard AWS chain (environment, ~/.aws profiles); a
message never carries one: botocore errors become one line built from the error code.

Longer than ~500 lines: one class, the S3 backend, whose conditional writes and checksums
belong together (#14, work in progress).
"""

from __future__ import annotations

import base64
import collections
import contextlib
import hashlib
import os
import re
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from irkit.remote.backend import (
    LockMode,
    ObjectInfo,
    Progress,
    RemoteError,
    RemoteSettings,
    check_key,
    check_prefix,
)

SINGLE_PUT_MAX = 64 * 1024 * 1024  # up to this size one PUT: the server checks the whole
PART_SIZE = 16 * 1024 * 1024
MAX_PARTS = 10_000  # S3's limit: parts grow for files above 156 GiB
PART_WORKERS = 4  # parts in flight: memory is bounded by (PART_WORKERS + 1) * part size
CHUNK = 1024 * 1024
DOWNLOAD_ATTEMPTS = 3  # a stream cut mid-way resumes with a Range request
# a silent server costs at most ATTEMPTS * (CONNECT_TIMEOUT or READ_TIMEOUT) per request
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 60.0
ATTEMPTS = 3
META_SHA256 = "irkit-sha256"
META_PART_SIZE = "irkit-part-size"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def _b64(hexdigest: str) -> str:
    return base64.b64encode(bytes.fromhex(hexdigest)).decode()


def _hex(b64: str) -> str | None:
    try:
        raw = base64.b64decode(b64, validate=True)
    except ValueError:
        return None
    return raw.hex() if len(raw) == 32 else None


_AUTH_CODES = {
    "AccessDenied",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "InvalidToken",
    "ExpiredToken",
    "AuthorizationHeaderMalformed",
}


class S3Backend:
    """The remote `s3://bucket/prefix`."""

    def __init__(self, url: str, settings: RemoteSettings | None = None) -> None:
        parts = urlsplit(url)
        self.bucket = parts.netloc
        self.prefix = parts.path.strip("/")
        self.url = f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"
        self.settings = settings or RemoteSettings()
        self._client: Any = None
        self._client_lock = threading.Lock()

    # -- the client and its errors ---------------------------------------------------------

    @property
    def client(self) -> Any:
        """The boto3 client, made at first use: with timeouts and bounded retries, so an
        unreachable server fails in seconds, never hangs."""
        with self._client_lock:
            if self._client is None:
                self._client = self._make_client()
            return self._client

    def _make_client(self) -> Any:
        import boto3
        from botocore import exceptions as bex
        from botocore.config import Config

        s = self.settings
        try:
            session = boto3.session.Session(profile_name=s.profile, region_name=s.region)
        except bex.ProfileNotFound:
            raise RemoteError(
                f"remote {self.url}: AWS profile {s.profile!r} is not configured",
                hint="define it in ~/.aws/config (or set AWS_CONFIG_FILE)",
            ) from None
        except bex.BotoCoreError as exc:
            raise RemoteError(
                f"remote {self.url}: the AWS configuration cannot be read ({type(exc).__name__})"
            ) from None
        region = session.region_name or ("us-east-1" if s.endpoint_url else None)
        config = Config(
            connect_timeout=CONNECT_TIMEOUT,
            read_timeout=READ_TIMEOUT,
            retries={"max_attempts": ATTEMPTS, "mode": "standard"},
            max_pool_connections=16,
            # irkit sends a signed SHA-256 checksum header with every write, which the server
            # checks: no second pass over the body for a payload hash, no extra CRC32
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            s3={"payload_signing_enabled": False},
            user_agent_extra="irkit",
        )
        try:
            return session.client(
                "s3", endpoint_url=s.endpoint_url, region_name=region, config=config
            )
        except bex.BotoCoreError as exc:
            raise RemoteError(
                f"remote {self.url}: cannot set up the S3 client ({type(exc).__name__})",
                hint="set a region (--region, AWS_REGION or the profile's region)",
            ) from None

    def _where(self) -> str:
        return self.settings.endpoint_url or "AWS S3"

    def _error(self, exc: BaseException, what: str) -> RemoteError:
        """One line for a botocore failure, from its code: never its text (which can quote
        request parameters) and never a credential."""
        from botocore import exceptions as bex

        if isinstance(exc, bex.ClientError):
            err = exc.response.get("Error", {})
            code = str(err.get("Code", "unknown"))[:64]
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "?")
            hint = None
            if code in _AUTH_CODES or status == 403:
                hint = (
                    "check the AWS credentials (environment or profile) and their permissions "
                    "(s3:GetObject, PutObject, ListBucket: without ListBucket a missing key "
                    "reads as 403)"
                )
            elif code == "NoSuchBucket":
                hint = f"create the bucket {self.bucket} first (with Object Lock for retention)"
            return RemoteError(
                f"remote {self.url}: {what} refused by {self._where()}: {code} (HTTP {status})",
                hint=hint,
            )
        if isinstance(exc, bex.NoCredentialsError):
            return RemoteError(
                f"remote {self.url}: no AWS credentials found",
                hint="set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or --profile",
            )
        if isinstance(exc, bex.PartialCredentialsError):
            return RemoteError(f"remote {self.url}: the AWS credentials are incomplete")
        if isinstance(exc, (bex.ConnectTimeoutError, bex.ReadTimeoutError)):
            return RemoteError(
                f"remote {self.url}: {what}: {self._where()} did not answer in time",
                hint="check the endpoint URL and the network; nothing was assumed done",
            )
        if isinstance(exc, (bex.EndpointConnectionError, bex.ConnectionError)):
            return RemoteError(
                f"remote {self.url}: {what}: cannot connect to {self._where()}",
                hint="check the endpoint URL and the network",
            )
        if isinstance(exc, bex.NoRegionError):
            return RemoteError(
                f"remote {self.url}: no AWS region configured",
                hint="set --region, AWS_REGION or the profile's region",
            )
        return RemoteError(f"remote {self.url}: {what} failed ({type(exc).__name__})")

    @contextlib.contextmanager
    def _call(self, what: str) -> Iterator[None]:
        from botocore import exceptions as bex

        try:
            yield
        except (bex.BotoCoreError, bex.ClientError) as exc:
            raise self._error(exc, what) from None

    @staticmethod
    def _code(exc: BaseException) -> tuple[str, int]:
        from botocore import exceptions as bex

        if isinstance(exc, bex.ClientError):
            meta = exc.response.get("ResponseMetadata", {})
            return str(exc.response.get("Error", {}).get("Code", "")), int(
                meta.get("HTTPStatusCode", 0)
            )
        return "", 0

    def _key(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _lock_args(self) -> dict[str, Any]:
        s = self.settings
        args: dict[str, Any] = {}
        if s.lock_mode is not None and s.retention_days is not None:
            args["ObjectLockMode"] = s.lock_mode.upper()
            args["ObjectLockRetainUntilDate"] = datetime.now(UTC) + timedelta(days=s.retention_days)
        if s.legal_hold:
            args["ObjectLockLegalHoldStatus"] = "ON"
        return args

    # -- reads -----------------------------------------------------------------------------

    def _get(self, key: str) -> tuple[bytes, str] | None:
        from botocore import exceptions as bex

        try:
            resp = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
            data: bytes = resp["Body"].read()
        except bex.ClientError as exc:
            code, status = self._code(exc)
            if code in ("NoSuchKey", "404") or (status == 404 and code != "NoSuchBucket"):
                return None
            raise self._error(exc, f"reading {key}") from None
        except bex.BotoCoreError as exc:
            raise self._error(exc, f"reading {key}") from None
        return data, str(resp.get("ETag", ""))

    def get(self, key: str) -> bytes | None:
        got = self._get(key)
        return None if got is None else got[0]

    def get_versioned(self, key: str) -> tuple[bytes, str] | None:
        return self._get(key)

    def head(self, key: str) -> ObjectInfo | None:
        from botocore import exceptions as bex

        try:
            h = self.client.head_object(
                Bucket=self.bucket, Key=self._key(key), ChecksumMode="ENABLED"
            )
        except bex.ClientError as exc:
            code, status = self._code(exc)
            if status == 404 and code != "NoSuchBucket":
                return None
            raise self._error(exc, f"reading {key}") from None
        except bex.BotoCoreError as exc:
            raise self._error(exc, f"reading {key}") from None
        checksum = str(h.get("ChecksumSHA256") or "")
        meta = h.get("Metadata") or {}
        declared = str(meta.get(META_SHA256, ""))
        part = str(meta.get(META_PART_SIZE, ""))
        sha256: str | None = None
        source: Any = None
        if checksum and "-" not in checksum:
            sha256, source = _hex(checksum), "server"
        elif checksum and _HEX64.match(declared):
            sha256, source = declared, "parts"
        mode = str(h.get("ObjectLockMode") or "").lower()
        lock_mode: LockMode | None = (
            "compliance" if mode == "compliance" else "governance" if mode == "governance" else None
        )
        until = h.get("ObjectLockRetainUntilDate")
        if isinstance(until, datetime) and until.tzinfo is None:
            until = until.replace(tzinfo=UTC)
        return ObjectInfo(
            key=key,
            size=int(h.get("ContentLength", 0)),
            sha256=sha256,
            etag=h.get("ETag"),
            lock_mode=lock_mode,
            retain_until=until if isinstance(until, datetime) else None,
            legal_hold=h.get("ObjectLockLegalHoldStatus") == "ON",
            sha256_source=source,
            version_id=h.get("VersionId"),
            checksum=checksum or None,
            part_size=int(part) if part.isdigit() else None,
        )

    def list(self, prefix: str) -> Iterator[str]:
        check_prefix(prefix)
        base = f"{self.prefix}/" if self.prefix else ""
        with self._call("listing"):
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=base + prefix
            )
            for page in pages:
                for obj in page.get("Contents", []):
                    key = str(obj["Key"])[len(base) :]
                    try:
                        yield check_key(key)
                    except ValueError:
                        continue  # not an irkit key (another tool's object): not ours to read

    def download_file(self, key: str, dest: str, progress: Progress | None = None) -> None:
        """Stream into the new file `dest` (memory: one chunk); a cut stream resumes."""
        from botocore import exceptions as bex

        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        done = 0
        try:
            for attempt in range(1, DOWNLOAD_ATTEMPTS + 1):
                try:
                    args: dict[str, Any] = {"Bucket": self.bucket, "Key": self._key(key)}
                    if done:
                        args["Range"] = f"bytes={done}-"
                    body = self.client.get_object(**args)["Body"]
                    while chunk := body.read(CHUNK):
                        view = memoryview(chunk)
                        while view:
                            view = view[os.write(fd, view) :]
                        done += len(chunk)
                        if progress is not None:
                            progress(len(chunk))
                    break
                except bex.ClientError as exc:
                    code, status = self._code(exc)
                    if status == 404 and code != "NoSuchBucket":
                        raise RemoteError(f"remote {self.url}: {key} is missing") from None
                    raise self._error(exc, f"downloading {key}") from None
                except bex.BotoCoreError as exc:
                    if attempt == DOWNLOAD_ATTEMPTS:
                        raise self._error(exc, f"downloading {key}") from None
        except BaseException:
            os.close(fd)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(dest)
            raise
        os.close(fd)

    # -- writes ----------------------------------------------------------------------------

    def _put(self, key: str, data: bytes, *, lock: bool = True, **cond: str) -> bool:
        """PutObject with a condition; False when the condition did not hold (412), or
        when a concurrent conditional write to the key won (409): the caller re-reads."""
        from botocore import exceptions as bex

        args: dict[str, Any] = self._lock_args() if lock else {}
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=self._key(key),
                Body=data,
                ChecksumSHA256=base64.b64encode(hashlib.sha256(data).digest()).decode(),
                **args,
                **cond,
            )
        except bex.ClientError as exc:
            _, status = self._code(exc)
            if status in (412, 409) or (status == 404 and "IfMatch" in cond):
                retried = exc.response.get("ResponseMetadata", {}).get("RetryAttempts", 0)
                if retried and cond.get("IfNoneMatch") == "*":
                    # the first attempt may have landed and only its answer been lost: the
                    # key holding exactly these bytes is this create's own success
                    return self.get(key) == data
                return False
            raise self._error(exc, f"writing {key}") from None
        except bex.BotoCoreError as exc:
            raise self._error(exc, f"writing {key}") from None
        return True

    def create(self, key: str, data: bytes) -> bool:
        return self._put(key, data, IfNoneMatch="*")

    def replace(self, key: str, data: bytes, expect: str | None) -> bool:
        if expect is None:
            return self._put(key, data, IfNoneMatch="*")
        return self._put(key, data, IfMatch=expect)

    def upload_file(
        self, key: str, path: str, sha256_hex: str, size: int, progress: Progress | None = None
    ) -> bool:
        if not _HEX64.match(sha256_hex):
            raise ValueError("not a SHA-256 hex digest")
        if size <= SINGLE_PUT_MAX:
            created = self._upload_single(key, path, sha256_hex, size)
            if created and progress is not None:
                progress(size)
        else:
            created = self._upload_multipart(key, path, sha256_hex, size, progress)
        return created or self._already_there(key, sha256_hex, size)

    def _open_source(self, path: str) -> Any:
        try:
            return open(path, "rb")
        except OSError as exc:
            raise RemoteError(f"cannot read {path}: {exc.strerror}") from None

    def _changed(self, path: str) -> RemoteError:
        return RemoteError(
            f"{path} did not hash to its recorded SHA-256 while it was uploaded; the server "
            f"refused or was not sent it, and nothing was written to {self.url}",
            hint="run `irkit verify`: the local copy may be damaged",
        )

    def _upload_single(self, key: str, path: str, sha256_hex: str, size: int) -> bool:
        from botocore import exceptions as bex

        with self._open_source(path) as f:
            try:
                self.client.put_object(
                    Bucket=self.bucket,
                    Key=self._key(key),
                    Body=f,
                    ContentLength=size,
                    ChecksumSHA256=_b64(sha256_hex),
                    IfNoneMatch="*",
                    Metadata={META_SHA256: sha256_hex},
                    **self._lock_args(),
                )
            except bex.ClientError as exc:
                code, status = self._code(exc)
                if status in (412, 409):
                    return False
                if code in ("BadDigest", "InvalidDigest", "XAmzContentChecksumMismatch"):
                    raise self._changed(path) from None
                raise self._error(exc, f"uploading {key}") from None
            except bex.BotoCoreError as exc:
                raise self._error(exc, f"uploading {key}") from None
        return True

    def _upload_part(self, key: str, upload_id: str, number: int, data: bytes) -> dict[str, Any]:
        from botocore import exceptions as bex

        checksum = base64.b64encode(hashlib.sha256(data).digest()).decode()
        try:
            resp = self.client.upload_part(
                Bucket=self.bucket,
                Key=self._key(key),
                UploadId=upload_id,
                PartNumber=number,
                Body=data,
                ChecksumSHA256=checksum,
            )
        except bex.ClientError as exc:
            code, _ = self._code(exc)
            if code in ("BadDigest", "InvalidDigest", "XAmzContentChecksumMismatch"):
                raise RemoteError(
                    f"remote {self.url}: part {number} of {key} arrived damaged (SHA-256 "
                    "mismatch); the upload was abandoned"
                ) from None
            raise self._error(exc, f"uploading part {number} of {key}") from None
        except bex.BotoCoreError as exc:
            raise self._error(exc, f"uploading part {number} of {key}") from None
        return {"PartNumber": number, "ETag": resp["ETag"], "ChecksumSHA256": checksum}

    def part_size(self, size: int) -> int:
        """Parts of PART_SIZE, larger (whole MiB) when the file needs over MAX_PARTS."""
        need = -(-size // MAX_PARTS)
        return max(PART_SIZE, -(-need // (1024 * 1024)) * 1024 * 1024)

    def _upload_multipart(
        self, key: str, path: str, sha256_hex: str, size: int, progress: Progress | None
    ) -> bool:
        """Parts read one at a time and sent by PART_WORKERS threads; the whole file's
        SHA-256 is computed over the bytes sent and must match before Complete."""
        from botocore import exceptions as bex

        part_size = self.part_size(size)
        with self._call(f"starting the upload of {key}"):
            upload_id = self.client.create_multipart_upload(
                Bucket=self.bucket,
                Key=self._key(key),
                ChecksumAlgorithm="SHA256",
                Metadata={META_SHA256: sha256_hex, META_PART_SIZE: str(part_size)},
                **self._lock_args(),
            )["UploadId"]
        try:
            whole = hashlib.sha256()
            sent = 0
            parts: list[dict[str, Any]] = []
            inflight: collections.deque[tuple[Future[dict[str, Any]], int]] = collections.deque()

            def settle() -> None:
                future, length = inflight.popleft()
                parts.append(future.result())
                if progress is not None:
                    progress(length)

            with self._open_source(path) as f, ThreadPoolExecutor(PART_WORKERS) as pool:
                number = 0
                while data := f.read(part_size):
                    number += 1
                    whole.update(data)
                    sent += len(data)
                    inflight.append(
                        (pool.submit(self._upload_part, key, upload_id, number, data), len(data))
                    )
                    del data
                    if len(inflight) >= PART_WORKERS:
                        settle()
                while inflight:
                    settle()
            if whole.hexdigest() != sha256_hex or sent != size:
                raise self._changed(path)
            try:
                self.client.complete_multipart_upload(
                    Bucket=self.bucket,
                    Key=self._key(key),
                    UploadId=upload_id,
                    MultipartUpload={"Parts": parts},
                    IfNoneMatch="*",
                )
            except bex.ClientError as exc:
                _, status = self._code(exc)
                if status in (412, 409):
                    self._abort(key, upload_id)
                    return False
                raise self._error(exc, f"completing the upload of {key}") from None
            except bex.BotoCoreError as exc:
                raise self._error(exc, f"completing the upload of {key}") from None
        except BaseException:
            self._abort(key, upload_id)
            raise
        return True

    def _abort(self, key: str, upload_id: str) -> None:
        with contextlib.suppress(Exception):  # best effort: never hide why it failed
            self.client.abort_multipart_upload(
                Bucket=self.bucket, Key=self._key(key), UploadId=upload_id
            )

    def _already_there(self, key: str, sha256_hex: str, size: int) -> bool:
        """A create-only upload that found the key taken: identical content is done; other
        content under this content address is refused loudly."""
        info = self.head(key)
        if info is not None and info.sha256 == sha256_hex and info.size == size:
            return False
        got = (
            "gone again"
            if info is None
            else f"SHA-256 {info.sha256 or 'unknown'}, {info.size} bytes"
        )
        raise RemoteError(
            f"remote {self.url}: {key} already exists with other content ({got}); "
            "it was not overwritten",
            hint="the remote's copy is damaged or was tampered with; run `irkit verify --remote`",
        )

    # -- guarantees ------------------------------------------------------------------------

    def _delete_all_versions(self, key: str) -> None:
        """Remove a probe key entirely (every version), as far as the server lets us."""
        full = self._key(key)
        with contextlib.suppress(Exception):
            resp = self.client.list_object_versions(Bucket=self.bucket, Prefix=full)
            for v in [*resp.get("Versions", []), *resp.get("DeleteMarkers", [])]:
                if v.get("Key") == full:
                    with contextlib.suppress(Exception):
                        self.client.delete_object(
                            Bucket=self.bucket, Key=full, VersionId=v["VersionId"]
                        )
            with contextlib.suppress(Exception):
                self.client.delete_object(Bucket=self.bucket, Key=full)

    def _check_lock_config(self) -> None:
        from botocore import exceptions as bex

        with self._call("reading the bucket's versioning"):
            status = self.client.get_bucket_versioning(Bucket=self.bucket).get("Status")
        if status != "Enabled":
            raise RemoteError(
                f"remote {self.url}: Object Lock was asked for, but versioning is not enabled "
                f"on bucket {self.bucket}",
                hint="create the bucket with Object Lock enabled (it turns versioning on)",
            )
        try:
            conf = self.client.get_object_lock_configuration(Bucket=self.bucket)
        except bex.ClientError as exc:
            code, status_code = self._code(exc)
            if code == "ObjectLockConfigurationNotFoundError" or status_code == 404:
                raise RemoteError(
                    f"remote {self.url}: Object Lock was asked for, but bucket {self.bucket} "
                    "has no Object Lock",
                    hint="create the bucket with Object Lock enabled",
                ) from None
            raise self._error(exc, "reading the bucket's Object Lock configuration") from None
        except bex.BotoCoreError as exc:
            raise self._error(exc, "reading the bucket's Object Lock configuration") from None
        enabled = conf.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled")
        if enabled != "Enabled":
            raise RemoteError(f"remote {self.url}: Object Lock is not enabled on {self.bucket}")

    def _probe_lock(self, key: str) -> None:
        """A legal hold (which, unlike retention, can be lifted again) must stop the delete
        of the object's version: proof that the server enforces locks, not just stores them."""
        from botocore import exceptions as bex

        full = self._key(key)
        body = b"irkit lock probe"
        with self._call("writing a locked probe object"):
            version = self.client.put_object(
                Bucket=self.bucket,
                Key=full,
                Body=body,
                ChecksumSHA256=base64.b64encode(hashlib.sha256(body).digest()).decode(),
                ObjectLockLegalHoldStatus="ON",
            ).get("VersionId")
        if not version:
            raise RemoteError(f"remote {self.url}: the server returned no version for a write")
        try:
            self.client.delete_object(Bucket=self.bucket, Key=full, VersionId=version)
        except bex.ClientError:
            pass  # refused, as it must be
        else:
            raise RemoteError(
                f"remote {self.url} deleted an object version under legal hold: it does "
                "not enforce Object Lock, so evidence there is not protected"
            )
        with self._call("lifting the probe's legal hold"):
            self.client.put_object_legal_hold(
                Bucket=self.bucket, Key=full, VersionId=version, LegalHold={"Status": "OFF"}
            )

    def probe(self) -> None:
        """What the protocol relies on, tried: a second create of one key must fail (412),
        a replace with a stale etag must fail, and with Object Lock asked the bucket must
        be versioned, lock-enabled and enforce a hold."""
        if self.settings.locking:
            self._check_lock_config()
        token = os.urandom(8).hex()
        key = f"probe/{token}"
        try:
            if not self._put(key, b"irkit probe 1", lock=False, IfNoneMatch="*"):
                raise RemoteError(f"remote {self.url}: a new probe key already existed")
            if self._put(key, b"irkit probe 2", lock=False, IfNoneMatch="*"):
                raise RemoteError(
                    f"remote {self.url} accepted a second create of one key: the server "
                    "ignores If-None-Match, and a shared journal would fork there",
                    hint="use a server with conditional writes (AWS S3, SeaweedFS, MinIO, "
                    "Ceph RGW 19+)",
                )
            if self._put(key, b"irkit probe 3", lock=False, IfMatch='"0000000000000000"'):
                raise RemoteError(
                    f"remote {self.url} accepted a replace with a stale etag: the server "
                    "ignores If-Match, and the checkpoint could move backwards",
                    hint="use a server with conditional writes",
                )
            if self.get(key) != b"irkit probe 1":
                raise RemoteError(f"remote {self.url} does not read back what was written")
            if self.settings.locking:
                self._probe_lock(f"probe/{token}-lock")
        finally:
            self._delete_all_versions(key)
            if self.settings.locking:
                self._delete_all_versions(f"probe/{token}-lock")
