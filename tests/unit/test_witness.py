"""cosignature/v1 and the witness's add-checkpoint rules (C2SP tlog-cosignature and
tlog-witness), and what `verify --witness` makes of the cosignatures."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest

from irkit.audit import witness
from irkit.errors import InputError
from irkit.formats import cosignature, ed25519, merkle
from irkit.formats.signednote import Checkpoint, parse_note, sign_note
from irkit.notes.notes import add_note
from irkit.record import checkpoints, keyfiles
from irkit.record.case import Case
from irkit.record.roster import origin_for
from tests.conftest import seeded_signer
from tests.helpers import lines, problems, verify, write_lines

T0 = 1_767_000_000


@pytest.fixture
def wsigner() -> ed25519.Signer:
    return seeded_signer("witness one", "witness")


@pytest.fixture
def wdir(tmp_path: Path, wsigner: ed25519.Signer) -> Path:
    """A witness folder with an unencrypted key (init's passphrase path is tested by the CLI
    tests; scrypt would cost every test here 0.4 s)."""
    folder = tmp_path / "witness"
    signer = ed25519.Signer(wsigner._private, name="example.org/w1", role="witness")
    keyfiles.write_key_file(folder / witness.KEY_FILE, signer, None, created="x")
    return folder


def _ident(wdir: Path) -> tuple[witness.Identity, ed25519.Signer]:
    return witness.load_signer(wdir, lambda: None)


def _trust_case(wdir: Path, case: Case, *signers: ed25519.Signer) -> None:
    keys = [cosignature.VerifierKey(s.fingerprint, cosignature.LOG_ALG, s.public) for s in signers]
    origin = origin_for(case.roster())
    assert origin is not None
    witness.add_log(wdir, origin, keys)


def _cosign(wdir: Path, body: bytes, clock: int = T0) -> bytes:
    ident, signer = _ident(wdir)
    return witness.add_checkpoint(wdir, ident, signer, body, lambda: clock)


def _refused(wdir: Path, body: bytes) -> witness.WitnessRefusal:
    with pytest.raises(witness.WitnessRefusal) as info:
        _cosign(wdir, body)
    return info.value


def _leaves(case: Case) -> list[bytes]:
    return [merkle.leaf_hash(x) for x in lines(case.root)]


# -- the cosignature format ------------------------------------------------------------------


def test_cosignature_is_the_specified_bytes(wsigner: ed25519.Signer) -> None:
    body = b"example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    line = cosignature.sign(body, wsigner, "witness.example.com/w1", 1679315147)
    dash, name, b64 = line.rstrip("\n").split(" ")
    assert dash == "\u2014" and name == "witness.example.com/w1" and line.endswith("\n")
    blob = base64.b64decode(b64)
    assert len(blob) == 4 + 8 + 64
    expected_id = hashlib.sha256(b"witness.example.com/w1\n\x04" + wsigner.public.raw).digest()
    assert blob[:4] == expected_id[:4]
    assert int.from_bytes(blob[4:12], "big") == 1679315147
    message = b"cosignature/v1\ntime 1679315147\n" + body
    assert wsigner.public.verify(blob[12:], message)
    sig = parse_note(body + b"\n" + line.encode()).signatures[0]
    assert cosignature.verify(body, sig, wsigner.public) == 1679315147
    assert cosignature.verify(body.replace(b"3\n", b"4\n", 1), sig, wsigner.public) is None
    other = seeded_signer("someone else")
    assert cosignature.verify(body, sig, other.public) is None


def test_the_specs_example_line_decodes() -> None:
    """The tlog-cosignature example: its timestamp is the one the spec's time line shows."""
    text = (
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n"
        "\u2014 witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9d"
        "lrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n"
    )
    sig = parse_note(text.encode()).signatures[0]
    decoded = cosignature.decode(sig)
    assert decoded is not None and decoded.timestamp == 1679315147


def test_a_tampered_timestamp_fails(wsigner: ed25519.Signer) -> None:
    body = b"o\n1\n" + base64.b64encode(b"\x00" * 32) + b"\n"
    line = cosignature.sign(body, wsigner, "w", T0)
    blob = bytearray(base64.b64decode(line.split(" ")[2]))
    blob[11] ^= 1
    forged = f"\u2014 w {base64.b64encode(bytes(blob)).decode()}\n"
    sig = parse_note(body + b"\n" + forged.encode()).signatures[0]
    assert cosignature.verify(body, sig, wsigner.public) is None


def test_vkeys_round_trip_and_are_checked(wsigner: ed25519.Signer) -> None:
    text = cosignature.vkey("example.org/w1", wsigner.public.raw)
    parsed = cosignature.parse_vkey(text)
    assert parsed.name == "example.org/w1" and parsed.key.raw == wsigner.public.raw
    assert parsed.alg == b"\x04"
    assert "+" in text.split("+", 2)[2]  # this key's base64 holds a '+' itself
    name, kid, key = text.split("+", 2)
    for bad in (
        f"{name}+{'0' * 8}+{key}",  # wrong key ID
        f"{name}+{kid}",
        f"na me+{kid}+{key}",
        f"{name}+{kid}+" + base64.b64encode(b"\x04" + b"\x00" * 32).decode(),  # small order
        f"{name}+{kid}+" + base64.b64encode(b"\x09" + wsigner.public.raw).decode(),
    ):
        with pytest.raises(InputError):
            cosignature.parse_vkey(bad)


def test_the_signed_note_specs_vkey_parses() -> None:
    """signed-note's example verifier key (type 0x01), and its example note verifies."""
    vk = cosignature.parse_vkey(
        "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
    )
    assert vk.name == "example.com/foo" and vk.alg == b"\x01"
    note = parse_note(
        "This is an example message.\n\n\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6"
        "TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n".encode()
    )
    assert vk.key.verify(note.signatures[0].signature, note.text)


# -- add-checkpoint ------------------------------------------------------------------------------


def test_first_cosignature_then_growth_with_a_proof(
    case: Case, alice: ed25519.Signer, wdir: Path
) -> None:
    _trust_case(wdir, case, alice)
    first = checkpoints.sign(case, alice)
    line = _cosign(wdir, witness.build_request(0, [], first.note))
    ident, _ = _ident(wdir)
    note = parse_note(first.note + line)
    assert witness.cosigned_by(note, ident.public) == [T0]
    state = witness.read_log(wdir, first.checkpoint.origin)
    assert state is not None and state.size == first.checkpoint.size
    assert base64.b64decode(state.root) == first.checkpoint.root
    assert state.checkpoint == (first.note + line).decode()

    add_note(case, alice, "more")
    add_note(case, alice, "and more")
    second = checkpoints.sign(case, alice)
    old = first.checkpoint.size
    proof = merkle.consistency_proof(old, _leaves(case))
    assert proof
    _cosign(wdir, witness.build_request(old, proof, second.note), clock=T0 + 5)
    state = witness.read_log(wdir, second.checkpoint.origin)
    assert state is not None and state.size == second.checkpoint.size
    # the same checkpoint again, from its own size: cosigned again (nothing to prove)
    _cosign(wdir, witness.build_request(second.checkpoint.size, [], second.note))


def test_refusals_carry_the_specified_status(
    case: Case, alice: ed25519.Signer, mallory: ed25519.Signer, wdir: Path
) -> None:
    first = checkpoints.sign(case, alice)
    assert _refused(wdir, witness.build_request(0, [], first.note)).status == 404
    _trust_case(wdir, case, alice)
    # a proof from the empty tree must be empty
    junk = [hashlib.sha256(b"x").digest()]
    assert _refused(wdir, witness.build_request(0, junk, first.note)).status == 422
    _cosign(wdir, witness.build_request(0, [], first.note))
    size = first.checkpoint.size
    # the witness is at `size` now: any other old size is a conflict naming it
    conflict = _refused(wdir, witness.build_request(0, [], first.note))
    assert conflict.status == 409
    assert conflict.body == f"{size}\n".encode()
    assert conflict.content_type == "text/x.tlog.size"
    # old size above the checkpoint's
    assert _refused(wdir, witness.build_request(size + 1, [], first.note)).status == 400
    # signed by a key the witness does not trust for the origin
    foreign = sign_note(first.checkpoint.body(), mallory)
    assert _refused(wdir, witness.build_request(size, [], foreign)).status == 403
    # a trusted key's signature that does not verify
    raw = bytearray(first.note)
    raw[-10] = ord("A") if raw[-10] != ord("A") else ord("B")
    assert _refused(wdir, witness.build_request(size, [], bytes(raw))).status == 403


def test_growth_refused_when_the_proof_is_wrong_or_not_used_up(
    case: Case, alice: ed25519.Signer, wdir: Path
) -> None:
    _trust_case(wdir, case, alice)
    first = checkpoints.sign(case, alice)
    _cosign(wdir, witness.build_request(0, [], first.note))
    old = first.checkpoint.size
    for text in ("a", "b", "c"):
        add_note(case, alice, text)
    second = checkpoints.sign(case, alice)
    proof = merkle.consistency_proof(old, _leaves(case))
    flipped = [bytes([proof[0][0] ^ 1]) + proof[0][1:], *proof[1:]]
    longer = [*proof, hashlib.sha256(b"extra").digest()]
    shorter = proof[:-1]
    for bad in (flipped, longer, shorter):
        refusal = _refused(wdir, witness.build_request(old, bad, second.note))
        assert refusal.status == 422, bad
        assert refusal.exit_code == 1
    state = witness.read_log(wdir, first.checkpoint.origin)
    assert state is not None and state.size == old  # nothing moved
    _cosign(wdir, witness.build_request(old, proof, second.note))


def test_a_smaller_tree_and_a_fork_are_refused(
    case: Case, alice: ed25519.Signer, wdir: Path, clock: object
) -> None:
    _trust_case(wdir, case, alice)
    early = checkpoints.sign(case, alice)
    for text in ("a", "b"):
        add_note(case, alice, text)
    late = checkpoints.sign(case, alice)
    _cosign(wdir, witness.build_request(0, [], late.note))
    big = late.checkpoint.size
    # rolled back: the smaller tree, from the witness's size or any other
    assert _refused(wdir, witness.build_request(big, [], early.note)).status == 400
    assert _refused(wdir, witness.build_request(0, [], early.note)).status == 409
    # forked: the last entry rewritten, same size, another root
    kept = lines(case.root)
    write_lines(case.root, kept[:-1])
    case.invalidate_state()
    add_note(case, alice, "rewritten")
    fork = checkpoints.sign(case, alice)
    assert fork.checkpoint.size == big and fork.checkpoint.root != late.checkpoint.root
    assert _refused(wdir, witness.build_request(big, [], fork.note)).status == 422
    # and grown past the fork: no proof from the witness's root leads there
    add_note(case, alice, "grown")
    grown = checkpoints.sign(case, alice)
    forged = merkle.consistency_proof(big, _leaves(case))
    assert _refused(wdir, witness.build_request(big, forged, grown.note)).status == 422


def test_size_zero_must_have_the_empty_root(case: Case, alice: ed25519.Signer, wdir: Path) -> None:
    _trust_case(wdir, case, alice)
    origin = origin_for(case.roster())
    assert origin is not None
    empty = sign_note(Checkpoint(origin, 0, merkle.EMPTY_ROOT).body(), alice)
    _cosign(wdir, witness.build_request(0, [], empty))
    wrong = sign_note(Checkpoint(origin, 0, b"\x01" * 32).body(), alice)
    assert _refused(wdir, witness.build_request(0, [], wrong)).status == 422


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"old\n\n",
        b"old 01\n\n",
        b"old -1\n\n",
        b"old 0\nnot base64!\n\n",
        b"old 0\n" + base64.b64encode(b"short") + b"\n\n",
        b"old 0\n" + (base64.b64encode(b"\x00" * 32) + b"\n") * 64 + b"\n",
        b"old 0\n",
        b"old 0\n\nnot a checkpoint\n",
        b"old 0\n\n\xff\xfe\n\n",
    ],
    ids=range(10),
)
def test_malformed_requests_are_400(wdir: Path, body: bytes) -> None:
    assert _refused(wdir, body).status == 400


def test_oversized_request_is_413(wdir: Path) -> None:
    assert _refused(wdir, b"old 0\n\n" + b"x" * witness.MAX_REQUEST).status == 413


def test_state_is_saved_before_the_answer(
    case: Case, alice: ed25519.Signer, wdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No cosignature leaves when the new state cannot be made durable."""
    _trust_case(wdir, case, alice)
    issued = checkpoints.sign(case, alice)

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("irkit.record.safefile.atomic_write", disk_full)
    with pytest.raises(OSError):
        _cosign(wdir, witness.build_request(0, [], issued.note))
    monkeypatch.undo()
    state = witness.read_log(wdir, issued.checkpoint.origin)
    assert state is not None and state.size == 0


def test_a_damaged_state_is_never_cosigned_from(
    case: Case, alice: ed25519.Signer, wdir: Path
) -> None:
    _trust_case(wdir, case, alice)
    issued = checkpoints.sign(case, alice)
    origin = issued.checkpoint.origin
    path = wdir / "logs" / f"{witness.origin_hash(origin)}.json"
    path.write_text('{"origin": "elsewhere", "keys": []}')
    with pytest.raises(InputError):
        _cosign(wdir, witness.build_request(0, [], issued.note))


# -- the log's side without HTTP, and verify ---------------------------------------------------


def _witnessed(case: Case, alice: ed25519.Signer, wdir: Path, clock: int = T0) -> str:
    """Checkpoint the case, have it cosigned from the size the case's record shows, keep it."""
    ident, _ = _ident(wdir)
    issued = checkpoints.sign(case, alice)
    old = witness.last_cosigned_size(case, ident.public)
    line = _cosign(wdir, witness.request_file(case, issued.note, old), clock)
    checkpoints.keep(case, issued)
    witness.attach(case, issued.path, [line.decode()], [ident.public])
    return issued.path


def test_verify_requires_the_witness_and_counts_the_tail(
    case: Case, alice: ed25519.Signer, wdir: Path
) -> None:
    _trust_case(wdir, case, alice)
    ident, _ = _ident(wdir)
    report = verify(case.root, witnesses=[ident.public], min_witnesses=1)
    assert any("no checkpoint consistent" in p for p in problems(report))
    _witnessed(case, alice, wdir)
    report = verify(case.root, witnesses=[ident.public], min_witnesses=1)
    assert report.ok, problems(report)
    assert report.witnessed == report.entries and report.unwitnessed == 0
    assert report.checkpoints[0].cosigners == [ident.fingerprint]
    add_note(case, alice, "after")
    add_note(case, alice, "after again")
    report = verify(case.root, witnesses=[ident.public], min_witnesses=1)
    assert report.ok and report.unwitnessed == 2
    assert any(w.code == "unwitnessed" for w in report.warnings)
    _witnessed(case, alice, wdir, clock=T0 + 60)  # from the last size, with a proof
    report = verify(case.root, witnesses=[ident.public], min_witnesses=1)
    assert report.ok and report.unwitnessed == 0
    # a quorum of two is not met by one witness
    other = seeded_signer("another witness").public
    report = verify(case.root, witnesses=[ident.public, other], min_witnesses=2)
    assert not report.ok


def test_rollback_fails_once_a_later_checkpoint_was_witnessed(
    case: Case, alice: ed25519.Signer, wdir: Path
) -> None:
    _trust_case(wdir, case, alice)
    ident, _ = _ident(wdir)
    older = _witnessed(case, alice, wdir)
    for text in ("a", "b", "c"):
        add_note(case, alice, text)
    later = _witnessed(case, alice, wdir, clock=T0 + 1)
    good = lines(case.root)
    write_lines(case.root, good[:-2])  # rolled back
    report = verify(case.root, witnesses=[ident.public], min_witnesses=1)
    assert not report.ok
    assert any(p.code == "truncated" for p in report.problems)
    # and with the later checkpoint removed too: only the older one covers the journal,
    # but the witness's own latest view (its GET .../checkpoint) shows the rollback
    (case.root / later).unlink()
    report = verify(case.root, witnesses=[ident.public], min_witnesses=1)
    assert report.ok and report.witnessed < report.entries  # the case alone cannot tell
    state = witness.read_log(wdir, origin_for(case.roster()) or "")
    assert state is not None and state.checkpoint is not None
    latest = case.root.parent / "latest.txt"
    latest.write_text(state.checkpoint)
    report = verify(case.root, witnesses=[ident.public], min_witnesses=1, checkpoints=[latest])
    assert not report.ok and any(p.code == "truncated" for p in report.problems)
    # without any cosigned checkpoint at all, --witness fails outright
    (case.root / older).unlink()
    report = verify(case.root, witnesses=[ident.public], min_witnesses=1)
    assert any(p.code == "unwitnessed" for p in report.problems)


def test_a_fork_fails_and_the_witness_will_not_cosign_it(
    case: Case, alice: ed25519.Signer, wdir: Path
) -> None:
    _trust_case(wdir, case, alice)
    ident, _ = _ident(wdir)
    add_note(case, alice, "original")
    path = _witnessed(case, alice, wdir)
    write_lines(case.root, lines(case.root)[:-1])
    case.invalidate_state()
    add_note(case, alice, "rewritten")
    report = verify(case.root, witnesses=[ident.public], min_witnesses=1)
    assert any(p.code == "checkpoint-root" for p in report.problems)
    assert any(p.code == "unwitnessed" for p in report.problems)
    (case.root / path).unlink()
    with pytest.raises(witness.WitnessRefusal) as info:
        _witnessed(case, alice, wdir)
    assert info.value.status == 409  # the case no longer shows the size the witness has
    issued = checkpoints.sign(case, alice)
    size = issued.checkpoint.size
    assert _refused(wdir, witness.build_request(size, [], issued.note)).status == 422


def test_a_tampered_cosignature_fails(case: Case, alice: ed25519.Signer, wdir: Path) -> None:
    _trust_case(wdir, case, alice)
    ident, _ = _ident(wdir)
    path = case.root / _witnessed(case, alice, wdir)
    text = path.read_text().splitlines(keepends=True)
    dash, name, b64 = text[-1].rstrip("\n").split(" ")
    blob = bytearray(base64.b64decode(b64))
    blob[-1] ^= 0x40
    text[-1] = f"{dash} {name} {base64.b64encode(bytes(blob)).decode()}\n"
    path.write_text("".join(text))
    report = verify(case.root, witnesses=[ident.public], min_witnesses=1)
    assert any(p.code == "cosignature" for p in report.problems)
    assert any(p.code == "unwitnessed" for p in report.problems)
    # without --witness nobody asked: the case's own checks still pass
    assert verify(case.root).ok


def test_a_cosignature_from_the_future_does_not_count(
    case: Case, alice: ed25519.Signer, wdir: Path
) -> None:
    import time

    _trust_case(wdir, case, alice)
    ident, _ = _ident(wdir)
    _witnessed(case, alice, wdir, clock=int(time.time()) + 86_400)
    report = verify(case.root, witnesses=[ident.public], min_witnesses=1)
    assert any("future" in p for p in problems(report))


def test_keeping_the_same_checkpoint_again_keeps_its_cosignatures(
    case: Case, alice: ed25519.Signer, wdir: Path
) -> None:
    _trust_case(wdir, case, alice)
    ident, _ = _ident(wdir)
    path = _witnessed(case, alice, wdir)
    checkpoints.issue(case, alice)  # same size, same signer: the same file
    note = parse_note((case.root / path).read_bytes())
    assert witness.cosigned_by(note, ident.public)
    assert witness.last_cosigned_size(case, ident.public) == len(lines(case.root))


def test_more_than_63_proof_lines_is_400(case: Case, alice: ed25519.Signer, wdir: Path) -> None:
    _trust_case(wdir, case, alice)
    issued = checkpoints.sign(case, alice)
    nodes = [hashlib.sha256(bytes([i])).digest() for i in range(64)]
    assert _refused(wdir, witness.build_request(0, nodes, issued.note)).status == 400
    assert _refused(wdir, witness.build_request(0, nodes[:63], issued.note)).status == 422


def test_a_bad_proof_line_before_a_good_checkpoint_is_400(
    case: Case, alice: ed25519.Signer, wdir: Path
) -> None:
    _trust_case(wdir, case, alice)
    issued = checkpoints.sign(case, alice)
    for line in (b"not base64!", base64.b64encode(b"short"), b"AAAA" * 11 + b"A"):
        body = b"old 0\n" + line + b"\n\n" + issued.note
        assert _refused(wdir, body).status == 400, line


def test_check_and_save_wait_for_another_process_holding_the_log(
    case: Case, alice: ed25519.Signer, wdir: Path
) -> None:
    """`witness cosign` beside a running `witness serve`: the per-origin flock serialises
    them, so neither checks against a state the other is about to replace."""
    import fcntl
    import os
    import threading

    _trust_case(wdir, case, alice)
    issued = checkpoints.sign(case, alice)
    origin = issued.checkpoint.origin
    fd = os.open(wdir / "logs" / f"{witness.origin_hash(origin)}.lock", os.O_RDWR)
    results: list[bytes] = []
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # as another process would hold it
        worker = threading.Thread(
            target=lambda: results.append(_cosign(wdir, witness.build_request(0, [], issued.note)))
        )
        worker.start()
        worker.join(0.5)
        assert worker.is_alive() and not results  # waiting for the lock, nothing answered
        state = witness.read_log(wdir, origin)
        assert state is not None and state.size == 0
    finally:
        os.close(fd)  # releases the lock
    worker.join(30)
    assert len(results) == 1
