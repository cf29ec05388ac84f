"""Identifying details (irkit/incident/lint.py rules `handler-contact` and `source-identity`):
a member's contact and a collection's source identifiers are recorded, checked in one
spelling, and each missing one is found on a crafted case, nothing on a complete one."""

from __future__ import annotations

from pathlib import Path

import pytest

from irkit.audit.verify import verify_case
from irkit.errors import InputError
from irkit.evidence import collect, custody, source
from irkit.formats import ed25519
from irkit.incident import lint
from irkit.record.case import Case, add_member, init_case
from tests.conftest import FixedClock, seeded_signer
from tests.unit.test_lint import _complete, _witnessed, wdir

__all__ = ["wdir"]  # fixture used by name


def _open(tmp_path: Path, alice: ed25519.Signer, bob: ed25519.Signer, clock: FixedClock,
          *, alice_contact: str | None, bob_contact: str | None) -> Case:  # fmt: skip
    case = init_case(tmp_path / "case", title="Test case", case_id="TEST-1", signer=alice,
                     contact=alice_contact, clock=clock)  # fmt: skip
    add_member(case, alice, bob.public, name="Bob", role="responder", contact=bob_contact,
               clock=clock)  # fmt: skip
    return case


def _rules(report: lint.LintReport) -> list[str]:
    return sorted(f.rule for f in report.findings)


def test_a_complete_case_has_no_finding(
    tmp_path: Path, alice: ed25519.Signer, bob: ed25519.Signer, clock: FixedClock, wdir: Path
) -> None:
    case = _open(tmp_path, alice, bob, clock, alice_contact="+1 555 0100",
                 bob_contact="bob@example.org")  # fmt: skip
    _complete(case, tmp_path, alice, bob, clock, source_host=None, serial="SN-7",
              model="Dell R640", macs=["00-1A-2B-3C-4D-5E"], ips=["192.0.2.7"])  # fmt: skip
    _witnessed(case, alice, wdir)
    report = lint.lint(case, clock=clock)
    assert _rules(report) == ["source-host"]  # a serial identifies it; the host is unnamed
    assert report.unchecked == []
    body = case.read_entries().entries[3].body
    assert body["source_mac"] == ["00:1a:2b:3c:4d:5e"] and body["source_ip"] == ["192.0.2.7"]
    assert (body["source_serial"], body["source_model"]) == ("SN-7", "Dell R640")
    assert case.roster().members[bob.fingerprint].contact == "bob@example.org"
    assert verify_case(case.root).ok


@pytest.mark.parametrize(
    ("alice_contact", "bob_contact", "missing"),
    [(None, "bob@example.org", ["Alice"]), ("+1 555 0100", None, ["Bob"]), (None, None,
     ["Alice", "Bob"])],
)  # fmt: skip
def test_a_handler_without_contact_is_found(
    tmp_path: Path, alice: ed25519.Signer, bob: ed25519.Signer, clock: FixedClock, wdir: Path,
    alice_contact: str | None, bob_contact: str | None, missing: list[str],
) -> None:  # fmt: skip
    case = _open(tmp_path, alice, bob, clock, alice_contact=alice_contact,
                 bob_contact=bob_contact)  # fmt: skip
    carol = seeded_signer("carol", "auditor")  # a member who never handles evidence: fine
    add_member(case, alice, carol.public, name="Carol", role="auditor", clock=clock)
    _complete(case, tmp_path, alice, bob, clock)
    _witnessed(case, alice, wdir)
    report = lint.lint(case, clock=clock)
    found = [f for f in report.findings if f.rule == "handler-contact"]
    assert _rules(report) == ["handler-contact"] * len(missing)
    assert [f.missing.split(" (")[0] for f in found] == missing
    added = {"Alice": 0, "Bob": 1}
    assert [f.seq for f in found] == [added[name] for name in missing]
    assert all(any("NIST" in s for s in f.standards) for f in found)


def test_bob_is_a_handler_by_accepting_custody_alone(
    tmp_path: Path, alice: ed25519.Signer, bob: ed25519.Signer, clock: FixedClock
) -> None:
    case = _open(tmp_path, alice, bob, clock, alice_contact="x", bob_contact=None)
    _complete(case, tmp_path, alice, bob, clock, transfer=False)
    assert "handler-contact" not in _rules(lint.lint(case, clock=clock))
    custody.release(case, alice, ["E-0001"], to="Bob", purpose="lab", method="in person",
                    clock=clock)  # fmt: skip
    assert "handler-contact" not in _rules(lint.lint(case, clock=clock))  # named, not acting
    custody.accept(case, bob, "T-0001", clock=clock)
    assert "handler-contact" in _rules(lint.lint(case, clock=clock))


@pytest.mark.parametrize(
    ("given", "found"),
    [
        ({}, True),
        ({"model": "ThinkPad T14"}, True),  # a model alone identifies nothing
        ({"source_host": "web01"}, False),
        ({"serial": "PF2ABC"}, False),
        ({"macs": ["00:1a:2b:3c:4d:5e"]}, False),
        ({"ips": ["2001:db8::1"]}, False),
    ],
)
def test_a_collection_identifying_nothing_is_found(
    tmp_path: Path, alice: ed25519.Signer, bob: ed25519.Signer, clock: FixedClock, wdir: Path,
    given: dict[str, object], found: bool,
) -> None:  # fmt: skip
    case = _open(tmp_path, alice, bob, clock, alice_contact="a", bob_contact="b")
    fields: dict[str, object] = {"source_host": None, **given}
    _complete(case, tmp_path, alice, bob, clock, **fields)  # type: ignore[arg-type]
    _witnessed(case, alice, wdir)
    report = lint.lint(case, clock=clock)
    hits = [f for f in report.findings if f.rule == "source-identity"]
    assert len(hits) == int(found)
    if found:
        seq = hits[0].seq
        assert seq is not None and case.read_entries().entries[seq].kind == "evidence.collected"
        assert "E-0001" in hits[0].missing


@pytest.mark.parametrize(
    ("spelled", "recorded"),
    [
        ("00:1A:2B:3C:4D:5E", "00:1a:2b:3c:4d:5e"),
        ("00-1a-2b-3c-4d-5e", "00:1a:2b:3c:4d:5e"),
        ("001a2b3c4d5e", "00:1a:2b:3c:4d:5e"),
    ],
)
def test_a_mac_is_recorded_in_one_spelling(spelled: str, recorded: str) -> None:
    assert source.mac_address(spelled) == recorded


@pytest.mark.parametrize(
    "kw",
    [
        {"macs": ["00:1a:2b:3c:4d"]},
        {"macs": ["00:1a-2b:3c:4d:5e"]},
        {"macs": ["0g:1a:2b:3c:4d:5e"]},
        {"ips": ["10.0.0.256"]},
        {"ips": ["10.0.0.01"]},
        {"ips": ["web01"]},
        {"serial": "  "},
        {"model": "x" * 201},
    ],
)
def test_a_bad_identifier_is_refused_and_nothing_is_written(
    case: Case, tmp_path: Path, alice: ed25519.Signer, kw: dict[str, object]
) -> None:
    f = tmp_path / "syslog"
    f.write_text("log\n")
    size = case.journal_path.stat().st_size
    stored = sorted((case.root / "evidence").rglob("*"))
    with pytest.raises(InputError):
        collect.collect(case, alice, [f], **kw)  # type: ignore[arg-type]
    assert case.journal_path.stat().st_size == size
    assert sorted((case.root / "evidence").rglob("*")) == stored


def test_ips_are_canonical_and_duplicates_dropped(
    case: Case, tmp_path: Path, alice: ed25519.Signer
) -> None:
    f = tmp_path / "syslog"
    f.write_text("log\n")
    e = collect.collect(case, alice, [f], ips=["2001:DB8:0::1", "2001:db8::1", " 10.0.0.1",
                        "::ffff:10.0.0.1", "::ffff:192.0.2.9"],
                        macs=["00:1A:2B:3C:4D:5E", "001a2b3c4d5e"])  # fmt: skip
    assert e.body["source_ip"] == ["2001:db8::1", "10.0.0.1", "192.0.2.9"]
    assert e.body["source_mac"] == ["00:1a:2b:3c:4d:5e"]
    assert verify_case(case.root).ok


def test_unused_fields_are_not_written(case: Case, tmp_path: Path, alice: ed25519.Signer) -> None:
    f = tmp_path / "syslog"
    f.write_text("log\n")
    e = collect.collect(case, alice, [f])
    assert not {k for k in e.body if k.startswith("source")}
    opened = case.read_entries().entries[0].body["opener"]
    assert "contact" not in opened  # conftest's case: no contact given


def test_an_empty_contact_is_refused(tmp_path: Path, alice: ed25519.Signer) -> None:
    with pytest.raises(InputError, match="contact"):
        init_case(tmp_path / "c", title="t", case_id="X", signer=alice, contact=" ")
    assert not (tmp_path / "c").exists()
