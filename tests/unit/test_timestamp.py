"""irkit.audit.timestamp: responses are verified before anything is signed, and verify
re-checks every recorded token, its checkpoint and the times of the entries it covers."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rfc3161_client import _rust

from irkit.audit import timestamp
from irkit.audit.verify import verify_case
from irkit.errors import InputError, ProblemsFound
from irkit.formats import ed25519
from irkit.notes.notes import add_note
from irkit.record import checkpoints
from irkit.record.case import Case
from tests.conftest import FixedClock
from tests.tsa import (
    Tsa,
    TsaServer,
    make_tsa,
    need_openssl,
    other_tsa,
    other_tsa_certs,
    tsa,
    tsa_certs,
)

__all__ = ["other_tsa", "other_tsa_certs", "tsa", "tsa_certs"]  # fixtures used by name


def _roots(t: Tsa) -> list[object]:
    return [timestamp.read_root(t.root)]


def _send(case: Case, signer: ed25519.Signer, server: TsaServer, **kw: object) -> object:
    issued = checkpoints.issue(case, signer)
    item = timestamp.queue(case, issued.note, server.url)
    return timestamp.send(
        case,
        item,
        signer,
        url=server.url,
        roots=kw.get("roots", _roots(server.tsa)),  # type: ignore[arg-type]
        policy=kw.get("policy"),  # type: ignore[arg-type]
    )


def _journal(case: Case) -> bytes:
    return case.journal_path.read_bytes()


def _patch(query: bytes, old: bytes) -> bytes:
    at = query.index(old)
    return (
        query[: at + len(old) - 1] + bytes([query[at + len(old) - 1] ^ 1]) + query[at + len(old) :]
    )


def _nonce_patched(query: bytes) -> bytes:
    nonce = _rust.parse_timestamp_request(query).nonce
    assert nonce is not None
    return _patch(query, nonce.to_bytes(nonce.bit_length() // 8 + 1, "big"))


def _imprint_patched(query: bytes) -> bytes:
    return _patch(query, _rust.parse_timestamp_request(query).message_imprint.message)


def test_a_good_token_is_recorded_and_verifies(
    case: Case, alice: ed25519.Signer, tsa: TsaServer
) -> None:
    done = _send(case, alice, tsa)
    assert isinstance(done, timestamp.Recorded) and done.size == 2 and done.tsa == "CN=Test TSA"
    entry = timestamp.recorded_entries(case)[0]
    assert entry.body["policy"] == tsa.tsa.policy
    assert not timestamp.queued(case)
    report = verify_case(case.root, tsa_roots=_roots(tsa.tsa))
    assert report.ok, report.problems
    assert (report.timestamps, report.timestamped) == (1, 2)
    # the case's pinned roots are the default; none pinned: a warning, not a pass
    report = verify_case(case.root)
    assert report.timestamps == 0 and any(w.code == "timestamp-unchecked" for w in report.warnings)


@pytest.mark.parametrize(
    ("hook", "why"), [(_nonce_patched, "Nonce mismatch"), (_imprint_patched, "Mismatch between")]
)
def test_wrong_nonce_or_imprint_is_refused_before_signing(
    case: Case, alice: ed25519.Signer, tsa: TsaServer, hook: object, why: str
) -> None:
    tsa.query_hook = hook  # type: ignore[assignment]
    before = _journal(case)
    with pytest.raises(ProblemsFound, match=why):
        _send(case, alice, tsa)
    assert _journal(case) == before
    assert len(timestamp.queued(case)) == 1  # left for another try


def test_another_tsa_or_policy_is_refused(
    case: Case, alice: ed25519.Signer, tsa: TsaServer, other_tsa: TsaServer
) -> None:
    before = _journal(case)
    with pytest.raises(ProblemsFound, match="does not verify"):
        _send(case, alice, other_tsa, roots=_roots(tsa.tsa))
    with pytest.raises(ProblemsFound, match="Policy ID mismatch"):
        _send(case, alice, tsa, policy="1.3.6.1.4.1.99999.2")
    assert _journal(case) == before


def test_a_tsa_that_fails_answers_an_error_not_a_token(
    case: Case, alice: ed25519.Signer, tmp_path: Path
) -> None:
    """openssl refuses to sign with a certificate whose timeStamping EKU is not critical
    (rfc3161-client's own check of it cannot be reached with an openssl TSA): the HTTP
    error is one clear line and nothing is signed."""
    need_openssl()
    weak = make_tsa(tmp_path / "weak", "Weak TSA", eku="timeStamping")
    before = _journal(case)
    with TsaServer(weak) as server, pytest.raises(InputError, match="answered HTTP 500"):
        _send(case, alice, server)
    assert _journal(case) == before


def test_a_tampered_token_fails_verify(case: Case, alice: ed25519.Signer, tsa: TsaServer) -> None:
    _send(case, alice, tsa)
    body = dict(timestamp.recorded_entries(case)[0].body)
    raw = bytearray(base64.b64decode(body["response"]))
    raw[-10] ^= 0x40  # inside the signature value
    body["response"] = base64.b64encode(bytes(raw)).decode()
    case.append(alice, timestamp.KIND, body)  # properly signed: only the token is bad
    report = verify_case(case.root, tsa_roots=_roots(tsa.tsa))
    assert [p.seq for p in report.problems if p.code == "timestamp"] == [3]
    assert report.timestamps == 1


def test_a_token_over_a_checkpoint_of_another_history_fails(
    case: Case, alice: ed25519.Signer, tsa: TsaServer
) -> None:
    _send(case, alice, tsa)
    body = dict(timestamp.recorded_entries(case)[0].body)
    body["gen_time"] = "2026-01-01T00:00:00.000000Z"
    case.append(alice, timestamp.KIND, body)
    body["size"] = 1
    case.append(alice, timestamp.KIND, body)
    report = verify_case(case.root, tsa_roots=_roots(tsa.tsa))
    found = {p.seq: p.message for p in report.problems}
    assert "is not the token's" in found[3]
    assert "size/root differ" in found[4]


def test_entries_recorded_after_the_gen_time_are_reported(
    case: Case, alice: ed25519.Signer, bob: ed25519.Signer, tsa: TsaServer
) -> None:
    # Bob's clock runs a year ahead: his note claims a time after the TSA saw the tree
    add_note(case, bob, "from the future", clock=FixedClock(datetime(2031, 1, 1, tzinfo=UTC)))
    _send(case, alice, tsa)
    report = verify_case(case.root, tsa_roots=_roots(tsa.tsa))
    late = [p for p in report.problems if p.code == "after-timestamp"]
    assert [p.seq for p in late] == [2], report.problems
    assert "2031-01-01" in late[0].message


def test_a_request_recorded_before_a_crash_is_not_recorded_twice(
    case: Case, alice: ed25519.Signer, tsa: TsaServer
) -> None:
    issued = checkpoints.issue(case, alice)
    item = timestamp.queue(case, issued.note, tsa.url)
    kept = item.path.read_bytes()
    timestamp.send(case, item, alice, url=None, roots=_roots(tsa.tsa), policy=None)
    item.path.write_bytes(kept)  # as if the process died before removing it
    (again,) = timestamp.queued(case)
    done = timestamp.send(case, again, alice, url=None, roots=_roots(tsa.tsa), policy=None)
    assert done.seq == 2 and len(timestamp.recorded_entries(case)) == 1
    assert not timestamp.queued(case) and len(tsa.requests) == 1


def test_queue_file_holds_only_what_is_documented(
    case: Case, alice: ed25519.Signer, tsa: TsaServer
) -> None:
    issued = checkpoints.issue(case, alice)
    item = timestamp.queue(case, issued.note, tsa.url)
    data = json.loads(item.path.read_text())
    assert set(data) == {"checkpoint", "request", "nonce", "url", "queued"}
    assert int(data["nonce"]) == _rust.parse_timestamp_request(item.request).nonce


def _foreign_note(case: Case, signer: ed25519.Signer) -> bytes:
    """A checkpoint a member signed that the journal does not match (another history)."""
    from irkit.formats.signednote import Checkpoint, sign_note
    from irkit.record.roster import origin_for

    origin = origin_for(case.roster())
    assert origin is not None
    return sign_note(Checkpoint(origin, 2, bytes(32)).body(), signer)


def test_a_queued_checkpoint_of_another_history_is_not_sent(
    case: Case, alice: ed25519.Signer, tsa: TsaServer
) -> None:
    item = timestamp.queue(case, _foreign_note(case, alice), tsa.url)
    before = _journal(case)
    with pytest.raises(InputError, match="not this case's"):
        timestamp.send(case, item, alice, url=None, roots=_roots(tsa.tsa), policy=None)
    assert _journal(case) == before and not tsa.requests


def test_a_token_over_a_checkpoint_that_does_not_match_the_journal_fails(
    case: Case, alice: ed25519.Signer, tsa: TsaServer
) -> None:
    note = _foreign_note(case, alice)
    item = timestamp.queue(case, note, tsa.url)
    data = timestamp._post(tsa.url, item.request, 10)  # as a forger would, by hand
    token = timestamp.check_response(data, note, item.nonce, _roots(tsa.tsa), None)
    from irkit.formats.timefmt import format_utc

    case.append(alice, timestamp.KIND, {
        "checkpoint": note.decode(), "size": 2, "root": "00" * 32,
        "response": base64.b64encode(data).decode(), "gen_time": format_utc(token.gen_time),
        "tsa": token.tsa, "policy": token.policy, "nonce": str(token.nonce),
    })  # fmt: skip
    report = verify_case(case.root, tsa_roots=_roots(tsa.tsa))
    assert [p.message for p in report.problems if p.seq == 2] == [
        "timestamp: the first 2 entries no longer hash to the timestamped checkpoint's root: "
        "history was rewritten"
    ]
