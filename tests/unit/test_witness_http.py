"""The tlog-witness HTTP interface (`witness serve`) against a real server on loopback, and
the log side that talks to it (`checkpoint --witness`)."""

from __future__ import annotations

import http.client
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from irkit.audit import witness
from irkit.errors import EnvironmentFailure, InputError, ProblemsFound
from irkit.formats import ed25519, merkle
from irkit.formats.signednote import parse_note
from irkit.notes.notes import add_note
from irkit.record import checkpoints
from irkit.record.case import Case
from irkit.record.roster import origin_for
from tests.helpers import lines, verify, write_lines
from tests.unit.test_witness import T0, _ident, _trust_case, wdir, wsigner

__all__ = ["wdir", "wsigner"]  # fixtures shared with test_witness


STALL_TIMEOUT = 1.0


@pytest.fixture
def server(wdir: Path) -> Iterator[str]:
    ident, signer = _ident(wdir)
    srv = witness.make_server(
        wdir, ident, signer, ("127.0.0.1", 0), clock=lambda: T0, timeout=STALL_TIMEOUT
    )
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(5)


def _post(url: str, body: bytes, path: str = "/add-checkpoint") -> tuple[int, bytes, str]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        conn.request("POST", path, body=body)
        response = conn.getresponse()
        return response.status, response.read(), response.getheader("Content-Type", "")
    finally:
        conn.close()


def test_status_codes_over_http(case: Case, alice: ed25519.Signer, wdir: Path, server: str) -> None:
    issued = checkpoints.sign(case, alice)
    request = witness.build_request(0, [], issued.note)
    assert _post(server, request)[0] == 404  # unknown origin
    _trust_case(wdir, case, alice)
    status, body, ctype = _post(server, request)
    assert status == 200 and ctype.startswith("text/plain")
    ident, _ = _ident(wdir)
    assert body.startswith("\u2014 example.org/w1 ".encode()) and body.endswith(b"\n")
    assert witness.cosigned_by(parse_note(issued.note + body), ident.public) == [T0]
    status, body, ctype = _post(server, request)
    assert (status, body, ctype) == (
        409,
        f"{issued.checkpoint.size}\n".encode(),
        "text/x.tlog.size",
    )
    assert _post(server, b"old 0\nnonsense")[0] == 400
    assert _post(server, request, path="/elsewhere")[0] == 404
    assert _post(server, b"old 0\n\n" + b"x" * witness.MAX_REQUEST)[0] == 413
    foreign = bytearray(issued.note)
    foreign[-5] ^= 1
    assert _post(server, witness.build_request(issued.checkpoint.size, [], bytes(foreign)))[0] in (
        400,
        403,
    )
    # monitors: the latest cosigned checkpoint, by origin hash
    origin = origin_for(case.roster()) or ""
    with urllib.request.urlopen(f"{server}/{witness.origin_hash(origin)}/checkpoint") as got:
        latest = got.read()
    assert parse_note(latest).text == issued.note.split(b"\n\n")[0] + b"\n"
    assert witness.cosigned_by(parse_note(latest), ident.public)
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(f"{server}/{'0' * 64}/checkpoint")
    assert info.value.code == 404
    info.value.close()
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(f"{server}/add-checkpoint")
    assert info.value.code == 405
    info.value.close()


def test_unprocessable_proof_is_422(
    case: Case, alice: ed25519.Signer, wdir: Path, server: str
) -> None:
    _trust_case(wdir, case, alice)
    first = checkpoints.sign(case, alice)
    assert _post(server, witness.build_request(0, [], first.note))[0] == 200
    add_note(case, alice, "one")
    add_note(case, alice, "two")
    second = checkpoints.sign(case, alice)
    old = first.checkpoint.size
    proof = merkle.consistency_proof(old, [merkle.leaf_hash(x) for x in lines(case.root)])
    assert _post(server, witness.build_request(old, proof[:-1], second.note))[0] == 422
    assert _post(server, witness.build_request(old, proof, second.note))[0] == 200


def _raw(url: str, data: bytes) -> bytes:
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname or "", parts.port or 80), timeout=10) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(4096):
            chunks.append(chunk)
    return b"".join(chunks)


def test_no_length_no_body_and_huge_length(server: str) -> None:
    reply = _raw(server, b"POST /add-checkpoint HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 411")
    reply = _raw(
        server,
        b"POST /add-checkpoint HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\nold 0\n",
    )
    assert reply.startswith(b"HTTP/1.1 413")


def test_a_stalled_client_does_not_hold_the_witness(
    case: Case, alice: ed25519.Signer, wdir: Path, server: str
) -> None:
    """A client that promises a body and sends none is cut off; others are served meanwhile."""
    _trust_case(wdir, case, alice)
    parts = urlsplit(server)
    with socket.create_connection((parts.hostname or "", parts.port or 80), timeout=30) as stall:
        stall.sendall(b"POST /add-checkpoint HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
        issued = checkpoints.sign(case, alice)
        assert _post(server, witness.build_request(0, [], issued.note))[0] == 200
        assert stall.recv(4096) == b""  # cut off after the timeout, nothing answered


# -- the log side -------------------------------------------------------------------------------


def test_log_side_collects_and_handles_409(
    case: Case, alice: ed25519.Signer, wdir: Path, server: str
) -> None:
    _trust_case(wdir, case, alice)
    ident, _ = _ident(wdir)
    first = checkpoints.sign(case, alice)
    got = witness.request_cosignature(case, first.note, server, [ident.public])
    assert len(got) == 1
    # the case keeps no record of that cosignature: the log starts from 0, learns the
    # witness's size from the 409 and sends the proof from there
    for text in ("a", "b", "c"):
        add_note(case, alice, text)
    second = checkpoints.sign(case, alice)
    got = witness.request_cosignature(case, second.note, server, [ident.public])
    note = witness.with_cosignatures(second.note, got)
    assert witness.cosigned_by(parse_note(note), ident.public) == [T0]
    checkpoints.keep(case, checkpoints.IssuedCheckpoint(second.checkpoint, note, second.path))
    witness.store_witness_keys(case, [ident.public])
    assert verify(case.root, witnesses=[ident.public], min_witnesses=1).ok
    assert witness.last_cosigned_size(case, ident.public) == second.checkpoint.size


def test_log_side_reports_a_rollback_as_a_finding(
    case: Case, alice: ed25519.Signer, wdir: Path, server: str
) -> None:
    _trust_case(wdir, case, alice)
    ident, _ = _ident(wdir)
    add_note(case, alice, "a")
    issued = checkpoints.sign(case, alice)
    witness.request_cosignature(case, issued.note, server, [ident.public])
    write_lines(case.root, lines(case.root)[:-1])
    case.invalidate_state()
    smaller = checkpoints.sign(case, alice)
    with pytest.raises(ProblemsFound, match="rolled back or forked"):
        witness.request_cosignature(case, smaller.note, server, [ident.public])
    add_note(case, alice, "forked")
    fork = checkpoints.sign(case, alice)
    with pytest.raises(ProblemsFound, match="not consistent"):
        witness.request_cosignature(case, fork.note, server, [ident.public])


def test_log_side_refuses_what_it_cannot_check(
    case: Case, alice: ed25519.Signer, mallory: ed25519.Signer, wdir: Path, server: str
) -> None:
    issued = checkpoints.sign(case, alice)
    ident, _ = _ident(wdir)
    with pytest.raises(InputError, match="HTTP 404"):
        witness.request_cosignature(case, issued.note, server, [ident.public])
    _trust_case(wdir, case, alice)
    with pytest.raises(InputError, match="no cosignature by the given"):
        witness.request_cosignature(case, issued.note, server, [mallory.public])
    with pytest.raises(InputError, match="not an http"):
        witness.request_cosignature(case, issued.note, "file:///etc/passwd", [ident.public])
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    with pytest.raises(EnvironmentFailure, match="cannot reach"):
        witness.request_cosignature(case, issued.note, f"http://127.0.0.1:{port}", [ident.public])
