"""Exhibits of items (issue #17): every entry concerning an item, a lead-signed item index,
and each item's custody chain shown complete; tampering with any of it fails."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from irkit.audit import exhibit, itemindex
from irkit.errors import InputError
from irkit.evidence import custody
from irkit.evidence.collect import collect
from irkit.formats import ed25519
from irkit.formats.signednote import sign_note
from irkit.notes.notes import add_note
from irkit.record import checkpoints
from irkit.record.case import Case, init_case
from tests.conftest import FixedClock


def make_custody_case(root: Path, alice: ed25519.Signer, bob: ed25519.Signer) -> Case:
    """Two items with separate chains, a linking note and unrelated notes in between:
    E-0001 collected, released to bob, accepted, stored, released back (pending);
    E-0002 collected, disposed."""
    from irkit.record.case import add_member

    clock = FixedClock()
    case = init_case(root, title="Exhibit test", case_id="CASE-7", signer=alice, clock=clock)
    add_member(case, alice, bob.public, name="Bob", role="responder", clock=clock)
    src = root.parent / f"{root.name}-src"
    src.mkdir()
    (src / "disk.img").write_bytes(b"disk" * 100)
    (src / "mem.raw").write_bytes(b"mem" * 100)
    collect(case, alice, [src / "disk.img"], location="server room", clock=clock)  # 2: E-0001
    add_note(case, bob, "unrelated", clock=clock)  # 3
    collect(case, alice, [src / "mem.raw"], location="server room", clock=clock)  # 4: E-0002
    custody.release(case, alice, ["E-0001"], to=bob.fingerprint, purpose="lab", clock=clock)
    custody.accept(case, bob, "T-0001", clock=clock)  # 6
    add_note(case, alice, "imaged the disk", extra={"links": ["E-0001"]}, clock=clock)  # 7
    custody.store(case, bob, ["E-0001"], location="locker 3", clock=clock)  # 8
    custody.finish(case, alice, "custody.disposed", ["E-0002"], reason="wiped", clock=clock)
    custody.release(case, bob, ["E-0001"], to=alice.fingerprint, purpose="court", clock=clock)
    add_note(case, bob, "unrelated again", clock=clock)  # 11
    return case


@pytest.fixture
def items_case(tmp_path: Path, alice: ed25519.Signer, bob: ed25519.Signer) -> Case:
    return make_custody_case(tmp_path / "case", alice, bob)


def _doc(case: Case, signer: ed25519.Signer, items: list[str], seqs: tuple[int, ...] = ()) -> Any:
    note = checkpoints.issue(case, signer).note
    return exhibit.create(case, seqs, note, items=items, index_signer=signer)


def _verify(doc: Any, alice: ed25519.Signer) -> exhibit.ExhibitReport:
    return exhibit.verify(json.dumps(doc).encode(), [alice.fingerprint])


def test_item_exhibit_selects_the_chain_and_its_signers(
    items_case: Case, alice: ed25519.Signer
) -> None:
    doc = _doc(items_case, alice, ["E-0001"])
    assert [e["seq"] for e in doc["entries"]] == [0, 1, 2, 5, 6, 7, 8, 10]
    assert doc["items"] == ["E-0001"]
    assert doc["index"].splitlines()[4] == "E-0001 2 5 6 7 8 10"
    report = _verify(doc, alice)
    assert report.ok, report.problems
    (chain,) = report.items
    assert chain.seqs == [2, 5, 6, 7, 8, 10] and not chain.problems
    assert chain.state.startswith("in transit to " + alice.fingerprint)
    assert [fp for fp, _, _ in report.index_signers] == [alice.fingerprint]


def test_two_items_and_a_disposal(items_case: Case, alice: ed25519.Signer) -> None:
    doc = _doc(items_case, alice, ["E-0002", "E-0001"], seqs=(3,))
    report = _verify(doc, alice)
    assert report.ok, report.problems
    states = {c.item: c.state for c in report.items}
    assert states["E-0002"] == "disposed"
    assert 3 in {e.seq for e in report.entries}


def _drop(doc: Any, seq: int) -> None:
    doc["entries"] = [e for e in doc["entries"] if e["seq"] != seq]


def _alter(doc: Any, seq: int) -> None:
    for e in doc["entries"]:
        if e["seq"] == seq:
            e["line"] = e["line"].replace("locker 3", "locker 4")


def _duplicate(doc: Any, seq: int) -> None:
    doc["entries"].append(next(e for e in doc["entries"] if e["seq"] == seq))


@pytest.mark.parametrize(
    ("mutate", "expect"),
    [
        (lambda d: _drop(d, 6), "missing"),  # the accept left out
        (lambda d: _drop(d, 7), "missing"),  # the linking note left out
        (lambda d: _alter(d, 8), "not included"),
        (lambda d: _duplicate(d, 5), "more than once"),
        (lambda d: d.update(index=d["index"].replace(" 6 7 8", " 7 8")), "index"),
        (lambda d: d.update(items=["E-0002"]), "different items"),
    ],
)
def test_item_exhibit_tampering_fails(
    items_case: Case, alice: ed25519.Signer, mutate: Any, expect: str
) -> None:
    doc = _doc(items_case, alice, ["E-0001"])
    assert _verify(doc, alice).ok
    mutate(doc)
    report = _verify(doc, alice)
    assert not report.ok
    assert any(expect in p for p in report.problems), report.problems


def test_an_entry_swapped_for_another_cases_fails(
    items_case: Case, tmp_path: Path, alice: ed25519.Signer, bob: ed25519.Signer
) -> None:
    other = make_custody_case(tmp_path / "other", alice, bob)
    ours, theirs = _doc(items_case, alice, ["E-0001"]), _doc(other, alice, ["E-0001"])
    ours["entries"][4] = theirs["entries"][4]  # same seq, same kind, other case
    report = _verify(ours, alice)
    assert not report.ok and any("not included" in p for p in report.problems)


def test_an_index_that_leaves_an_entry_out_is_caught_when_the_entry_is_shown(
    items_case: Case, alice: ed25519.Signer
) -> None:
    """A lead's index omitting the linking note: the exhibit carries the note for its seq
    anyway (requested), so the omission shows."""
    doc = _doc(items_case, alice, ["E-0001"], seqs=(7,))
    lines = doc["index"].split("\n\n")[0].split("\n")
    lines[4] = "E-0001 2 5 6 8 10"
    doc["index"] = sign_note(("\n".join(lines) + "\n").encode(), alice).decode()
    report = _verify(doc, alice)
    assert any("leaves it out" in p for p in report.problems), report.problems


def test_index_signed_by_a_non_lead_fails(
    items_case: Case, alice: ed25519.Signer, bob: ed25519.Signer
) -> None:
    doc = _doc(items_case, alice, ["E-0001"])
    text = doc["index"].split("\n\n")[0] + "\n"
    doc["index"] = sign_note(text.encode(), bob).decode()
    report = _verify(doc, alice)
    assert any("active lead" in p for p in report.problems), report.problems
    with pytest.raises(InputError, match="active lead"):
        note = checkpoints.issue(items_case, alice).note
        exhibit.create(items_case, (), note, items=["E-0001"], index_signer=bob)


def test_index_for_another_checkpoint_fails(items_case: Case, alice: ed25519.Signer) -> None:
    doc = _doc(items_case, alice, ["E-0001"])
    add_note(items_case, alice, "later")
    later = _doc(items_case, alice, ["E-0001"])
    doc["index"] = later["index"]
    report = _verify(doc, alice)
    assert any("another checkpoint" in p for p in report.problems), report.problems


def test_walk_chain_applies_the_custody_rules() -> None:
    from irkit.record.entry import Entry

    a, b = "ed25519:" + "a" * 64, "ed25519:" + "b" * 64

    def e(seq: int, kind: str, actor: str, **body: Any) -> Entry:
        return Entry(seq, "", kind, actor, "", body, "", b"")

    good = [
        e(2, "evidence.collected", a),
        e(3, "custody.released", a, transfer="T-0001", to=b),
        e(4, "custody.accepted", b, transfer="T-0001"),
        e(5, "custody.disposed", b),
    ]
    assert itemindex.walk_chain("E-0001", good).problems == []
    assert itemindex.walk_chain("E-0001", good[1:]).problems  # no collection
    assert itemindex.walk_chain("E-0001", [good[0], good[2]]).problems  # accept, no release
    assert itemindex.walk_chain("E-0001", [good[0], good[1], good[3]]).problems  # in transit
    assert itemindex.walk_chain("E-0001", [*good, e(6, "custody.stored", b)]).problems
    assert itemindex.walk_chain("E-0001", [good[0], e(3, "custody.stored", b)]).problems


def test_create_refuses_an_item_nothing_concerns(items_case: Case, alice: ed25519.Signer) -> None:
    with pytest.raises(InputError, match="E-0099"):
        _doc(items_case, alice, ["E-0099"])
    with pytest.raises(InputError, match="not an item id"):
        _doc(items_case, alice, ["disk"])


def test_exhibit_cli_by_item(
    irkit: object, key_files: object, items_case: Case, alice: ed25519.Signer, tmp_path: Path
) -> None:
    from tests.conftest import KeyFiles, Runner

    run: Runner = irkit  # type: ignore[assignment]
    kf: KeyFiles = key_files  # type: ignore[assignment]
    out = tmp_path / "ex.json"
    r = run(
        "exhibit", "create", "--item", "E-0001", "-o", str(out), key=kf.alice, case=items_case.root
    )
    assert r.exit_code == 0, r.output
    assert "items E-0001" in r.output
    r = run("exhibit", "verify", str(out), "--trust", alice.fingerprint)
    assert r.exit_code == 0, r.output
    assert (
        "E-0001: custody chain complete (#2, #5, #6, #7, #8, #10); in transit to Alice" in r.output
    )
    r = run("exhibit", "verify", str(out), "--trust", alice.fingerprint, "--json")
    doc = json.loads(r.output)
    assert doc["items"][0]["complete"] and doc["items"][0]["seqs"] == [2, 5, 6, 7, 8, 10]
    r = run("exhibit", "create", "-o", str(out), key=kf.alice, case=items_case.root)
    assert r.exit_code == 2 and "--item" in r.output


def test_an_omission_only_the_full_journal_shows(items_case: Case, alice: ed25519.Signer) -> None:
    """A lead's index leaving out the linking note (and the exhibit leaving out the note):
    the exhibit alone verifies, as it must (no proof of absence exists); checked against
    the case, the omission is named."""
    doc = _doc(items_case, alice, ["E-0001"])
    head, _ = doc["index"].split("\n\n")
    lines = head.split("\n")
    lines[4] = "E-0001 2 5 6 8 10"
    doc["index"] = sign_note(("\n".join(lines) + "\n").encode(), alice).decode()
    doc["entries"] = [e for e in doc["entries"] if e["seq"] != 7]
    data = json.dumps(doc).encode()
    assert exhibit.verify(data, [alice.fingerprint]).ok
    assert exhibit.check_against(data, items_case) == [
        "entry 7: concerns E-0001, but the item index leaves it out"
    ]
    honest = json.dumps(_doc(items_case, alice, ["E-0001"])).encode()
    assert exhibit.check_against(honest, items_case) == []


def test_check_against_another_journal(
    items_case: Case, tmp_path: Path, alice: ed25519.Signer, bob: ed25519.Signer
) -> None:
    doc = json.dumps(_doc(items_case, alice, ["E-0001"])).encode()
    other = make_custody_case(tmp_path / "other", alice, bob)
    add_note(other, alice, "diverges")
    assert "another root" in exhibit.check_against(doc, other)[0]


def test_exhibit_verify_against_cli(
    irkit: object, key_files: object, items_case: Case, alice: ed25519.Signer, tmp_path: Path
) -> None:
    from tests.conftest import KeyFiles, Runner

    run: Runner = irkit  # type: ignore[assignment]
    kf: KeyFiles = key_files  # type: ignore[assignment]
    out = tmp_path / "ex.json"
    run("exhibit", "create", "--item", "E-0001", "-o", str(out), key=kf.alice, case=items_case.root)
    doc = json.loads(out.read_text())
    head = doc["index"].split("\n\n")[0].split("\n")
    head[4] = "E-0001 2 5 6 8 10"
    doc["index"] = sign_note(("\n".join(head) + "\n").encode(), alice).decode()
    doc["entries"] = [e for e in doc["entries"] if e["seq"] != 7]
    out.write_text(json.dumps(doc))
    trust = ("--trust", alice.fingerprint)
    assert run("exhibit", "verify", str(out), *trust).exit_code == 0
    r = run("exhibit", "verify", str(out), *trust, "--against", str(items_case.root))
    assert r.exit_code == 1 and "leaves it out" in r.output
