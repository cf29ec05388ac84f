"""Items collected by reference on a machine where the original is not reachable: "not
checked here" (a warning, or a problem with require_content), and `evidence.relocated`."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from irkit.errors import InputError, ProblemsFound
from irkit.evidence.collect import check_items, collect, inventory
from irkit.evidence.relocate import relocate
from irkit.formats import ed25519
from irkit.formats.timefmt import format_utc
from irkit.record.case import Case
from irkit.record.entry import build_line
from irkit.record.journal import entry_hash
from tests.conftest import FixedClock
from tests.helpers import lines, problems, verify


@pytest.fixture
def by_ref(case: Case, alice: ed25519.Signer, tmp_path: Path) -> Path:
    """A disk image collected by reference, then moved away (another machine's view)."""
    original = tmp_path / "site" / "disk.img"
    original.parent.mkdir()
    original.write_bytes(os.urandom(4096))
    collect(case, alice, [original], by_reference=True)
    moved = tmp_path / "nas" / "disk.img"
    moved.parent.mkdir()
    original.rename(moved)
    return moved


def test_unreachable_original_is_not_checked_here_not_a_failure(case: Case, by_ref: Path) -> None:
    report = verify(case.root)
    assert report.ok, problems(report)
    warned = [w for w in report.warnings if w.code == "not-checked-here"]
    assert len(warned) == 1
    assert "E-0001" in warned[0].message and "site/disk.img" in warned[0].message
    assert report.not_checked_here == 1 and report.evidence_checked == 0

    strict = verify(case.root, require_content=True)
    assert not strict.ok
    assert [p.code for p in strict.problems] == ["not-checked-here"]


def test_relocate_records_the_new_path_and_verify_rehashes_there(
    case: Case, alice: ed25519.Signer, by_ref: Path
) -> None:
    entry = relocate(case, alice, "e-0001", by_ref, reason="moved to the lab NAS")
    assert entry.kind == "evidence.relocated"
    assert entry.body["item"] == "E-0001" and entry.body["path"] == str(by_ref)
    report = verify(case.root, require_content=True)
    assert report.ok, problems(report)
    assert report.evidence_checked == 1 and report.not_checked_here == 0
    item = inventory(case.read_entries().entries).items["E-0001"]
    assert [r["path"] for r in item.moved] == [str(by_ref)]
    assert check_items(case, ["E-0001"]) == [("E-0001", None)]

    # the bytes at the new location change: a finding, not "not checked here"
    by_ref.write_bytes(b"tampered")
    report = verify(case.root)
    assert [p.code for p in report.problems] == ["evidence"], problems(report)
    assert str(by_ref) in report.problems[0].message


def test_relocate_refuses_a_file_with_other_content(
    case: Case, alice: ed25519.Signer, by_ref: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other.img"
    other.write_bytes(b"not the disk")
    before = case.journal_path.read_bytes()
    with pytest.raises(ProblemsFound, match="is not E-0001"):
        relocate(case, alice, "E-0001", other)
    with pytest.raises(InputError, match="cannot read"):
        relocate(case, alice, "E-0001", tmp_path / "absent.img")
    with pytest.raises(InputError, match="no such item"):
        relocate(case, alice, "E-0099", by_ref)
    assert case.journal_path.read_bytes() == before


def test_relocate_refuses_a_stored_item(case: Case, alice: ed25519.Signer, tmp_path: Path) -> None:
    f = tmp_path / "log.txt"
    f.write_text("copied into the store")
    collect(case, alice, [f])
    with pytest.raises(InputError, match="stored in the case"):
        relocate(case, alice, "E-0001", f)


def test_newest_reachable_location_wins_and_older_ones_are_fallbacks(
    case: Case, alice: ed25519.Signer, by_ref: Path, tmp_path: Path
) -> None:
    relocate(case, alice, "E-0001", by_ref)
    second = tmp_path / "vault" / "disk.img"
    second.parent.mkdir()
    second.write_bytes(by_ref.read_bytes())
    relocate(case, alice, "E-0001", second)
    second.unlink()  # newest not reachable here: the older location still is
    report = verify(case.root, require_content=True)
    assert report.ok and report.evidence_checked == 1, problems(report)
    by_ref.unlink()
    report = verify(case.root)
    assert report.ok and report.not_checked_here == 1
    assert str(second) in next(w for w in report.warnings if w.code == "not-checked-here").message


def test_verify_flags_a_relocation_that_does_not_match_the_item(
    case: Case, alice: ed25519.Signer, by_ref: Path, clock: FixedClock
) -> None:
    """A relocation written by hand (not through `relocate`) with another digest."""
    last = lines(case.root)[-1]
    body = {
        "item": "E-0001",
        "path": str(by_ref),
        "sha256": "0" * 64,
        "size": 4096,
        "host": "forged",
    }
    line = build_line(
        alice,
        seq=json.loads(last)["seq"] + 1,
        prev=entry_hash(last),
        kind="evidence.relocated",
        body=body,
        recorded=format_utc(clock()),
    )
    with case.journal_path.open("ab") as fh:
        fh.write(line + b"\n")
    report = verify(case.root)
    assert [p.code for p in report.problems] == ["relocated"], problems(report)


def test_custody_checks_look_at_the_relocated_original(
    case: Case, alice: ed25519.Signer, bob: ed25519.Signer, by_ref: Path
) -> None:
    """A receiver's re-hash (custody accept/check) finds the original where it was moved."""
    from irkit.evidence import custody

    relocate(case, alice, "E-0001", by_ref)
    released = custody.release(case, alice, ["E-0001"], to=bob.fingerprint, purpose="lab")
    accepted = custody.accept(case, bob, released.body["transfer"])
    assert accepted.body["checks"] == [{"item": "E-0001", "ok": True}]
