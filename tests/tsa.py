"""A throwaway RFC 3161 TSA for the tests: `openssl ts -reply` behind a loopback HTTP server.

`make_tsa(folder)` builds a CA and a TSA certificate (critical timeStamping EKU) with openssl;
`TsaServer` answers `POST /` (application/timestamp-query) by running `openssl ts -reply` on
the query, one child per request, with irkit's child environment. The TSA section of the
config has no `certs =` line: rfc3161-client refuses the certificate order OpenSSL writes
when it adds the chain.
"""

from __future__ import annotations

import http.server
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from irkit.childenv import child_env

POLICY = "1.3.6.1.4.1.99999.1"

_CONFIG = """\
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = {cn}
[ ca_ext ]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ tsa_ext ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, nonRepudiation
extendedKeyUsage = {eku}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
dir = {dir}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = {policy}
other_policies = 1.3.6.1.4.1.99999.2
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


@dataclass(frozen=True)
class Tsa:
    folder: Path
    root: Path  # the CA certificate (PEM): what a case pins
    config: Path
    policy: str = POLICY


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, env=child_env())


def make_tsa(
    folder: Path,
    name: str = "Test TSA",
    *,
    eku: str = "critical, timeStamping",
    policy: str = POLICY,
) -> Tsa:
    """A CA and a TSA certificate it issued, and the `openssl ts` config that uses them."""
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "openssl.cnf"
    config.write_text(_CONFIG.format(cn=name, eku=eku, dir=folder, policy=policy))
    (folder / "serial").write_text("01\n")
    common = ("-config", str(config))
    _openssl("req", "-x509", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "3650",
             "-subj", f"/CN={name} Root", "-extensions", "ca_ext", *common, cwd=folder)  # fmt: skip
    _openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", "tsa.key", "-out", "tsa.csr", "-subj", f"/CN={name}", *common,
             cwd=folder)  # fmt: skip
    _openssl("x509", "-req", "-in", "tsa.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", "tsa.pem", "-days", "3650", "-extfile", str(config),
             "-extensions", "tsa_ext", cwd=folder)  # fmt: skip
    return Tsa(folder, folder / "ca.pem", config, policy)


Mangle = Callable[[bytes, bytes], bytes]  # (query, reply) -> what is sent back


class TsaServer:
    """`openssl ts -reply` over HTTP on a free loopback port. `mangle` lets a test change
    the query before it is answered or the reply after (a wrong nonce, another imprint)."""

    def __init__(self, tsa: Tsa) -> None:
        self.tsa = tsa
        self.requests: list[bytes] = []
        self.query_hook: Callable[[bytes], bytes] | None = None
        self.reply_hook: Callable[[bytes], bytes] | None = None
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                query = self.rfile.read(length)
                owner.requests.append(query)
                try:
                    reply = owner.answer(query)
                except subprocess.CalledProcessError:
                    self.send_error(500, "openssl ts -reply failed")
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def answer(self, query: bytes) -> bytes:
        if self.query_hook is not None:
            query = self.query_hook(query)
        with tempfile.TemporaryDirectory() as work:
            qfile = Path(work) / "q.tsq"
            qfile.write_bytes(query)
            out = Path(work) / "r.tsr"
            subprocess.run(
                ["openssl", "ts", "-reply", "-config", str(self.tsa.config),
                 "-queryfile", str(qfile), "-out", str(out)],
                check=True, capture_output=True, env=child_env(), cwd=self.tsa.folder,
            )  # fmt: skip
            reply = out.read_bytes()
        return self.reply_hook(reply) if self.reply_hook is not None else reply

    def __enter__(self) -> TsaServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def need_openssl() -> None:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is NOT installed: no local TSA, the timestamp tests cannot run")


@pytest.fixture(scope="session")
def tsa_certs(tmp_path_factory: pytest.TempPathFactory) -> Tsa:
    need_openssl()
    return make_tsa(tmp_path_factory.mktemp("tsa"))


@pytest.fixture(scope="session")
def other_tsa_certs(tmp_path_factory: pytest.TempPathFactory) -> Tsa:
    """A second, unrelated TSA: its tokens do not chain to `tsa_certs`' root."""
    need_openssl()
    return make_tsa(tmp_path_factory.mktemp("other-tsa"), "Other TSA")


@pytest.fixture
def tsa(tsa_certs: Tsa) -> Iterator[TsaServer]:
    with TsaServer(tsa_certs) as server:
        yield server


@pytest.fixture
def other_tsa(other_tsa_certs: Tsa) -> Iterator[TsaServer]:
    with TsaServer(other_tsa_certs) as server:
        yield server
