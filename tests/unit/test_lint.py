"""`irkit lint` (irkit/incident/lint.py): each missing field is found on a crafted case,
nothing on a complete one; a waiver is a signed entry and is honoured."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from irkit.audit import timestamp, witness
from irkit.audit.verify import verify_case
from irkit.errors import InputError
from irkit.evidence import collect, custody
from irkit.formats import cosignature, ed25519
from irkit.incident import lint
from irkit.incident.actions import configure
from irkit.incident.settings import preset
from irkit.record import checkpoints, keyfiles
from irkit.record.case import Case, add_member, init_case
from irkit.record.roster import origin_for
from tests.conftest import FixedClock, seeded_signer
from tests.tsa import TsaServer, tsa, tsa_certs

__all__ = ["tsa", "tsa_certs"]  # fixtures used by name


@pytest.fixture
def case(tmp_path: Path, alice: ed25519.Signer, bob: ed25519.Signer, clock: FixedClock) -> Case:
    """As conftest's, with each handler's contact (the `handler-contact` rule asks for it)."""
    opened = init_case(tmp_path / "case", title="Test case", case_id="TEST-1", signer=alice,
                       contact="+49 30 1234567", clock=clock)  # fmt: skip
    add_member(opened, alice, bob.public, name="Bob", role="responder",
               contact="bob@example.org", clock=clock)  # fmt: skip
    return opened


@pytest.fixture
def wdir(tmp_path: Path) -> Path:
    folder = tmp_path / "witness"
    w = seeded_signer("lint witness", "witness")
    signer = ed25519.Signer(w._private, name="example.org/lint", role="witness")
    keyfiles.write_key_file(folder / witness.KEY_FILE, signer, None, created="x")
    return folder


def _witnessed(case: Case, signer: ed25519.Signer, wdir: Path) -> None:
    """Checkpoint the case and keep it with a witness's cosignature (as tests/unit/test_witness)."""
    ident, wsigner = witness.load_signer(wdir, lambda: None)
    origin = origin_for(case.roster())
    assert origin is not None
    keys = [cosignature.VerifierKey(m.fingerprint, cosignature.LOG_ALG, m.public)
            for m in (signer,)]  # fmt: skip
    witness.add_log(wdir, origin, keys)
    issued = checkpoints.sign(case, signer)
    old = witness.last_cosigned_size(case, ident.public)
    body = witness.request_file(case, issued.note, old)
    line = witness.add_checkpoint(wdir, ident, wsigner, body, lambda: 1_767_000_000)
    checkpoints.keep(case, issued)
    witness.attach(case, issued.path, [line.decode()], [ident.public])


def _evidence(case: Case, tmp_path: Path, alice: ed25519.Signer, clock: FixedClock,
              **kw: object) -> None:  # fmt: skip
    f = tmp_path / "syslog"
    f.write_text("Dec  1 10:00:00 web01 sshd[1]: Accepted password for root\n")
    fields: dict[str, object] = {"location": "rack 4, server room", "source_host": "web01"}
    fields.update(kw)
    collect.collect(case, alice, [f], clock=clock, **fields)  # type: ignore[arg-type]


def _complete(
    case: Case, tmp_path: Path, alice: ed25519.Signer, bob: ed25519.Signer, clock: FixedClock,
    *, method: str | None = "sealed bag 17, in person", check: bool = True, store: bool = True,
    settings: bool = True, transfer: bool = True, **collected: object,
) -> None:  # fmt: skip
    if settings:
        configure(case, alice, preset("itil3", "Europe/Berlin"), reason="desk hours", clock=clock)
    _evidence(case, tmp_path, alice, clock, **collected)
    holder = alice
    if transfer:  # the receiver's accept re-hashes the item: a check
        custody.release(case, alice, ["E-0001"], to="Bob", purpose="lab", method=method,
                        location="front desk", clock=clock)  # fmt: skip
        custody.accept(case, bob, "T-0001", condition="seal intact", clock=clock)
        holder = bob
    if check:
        custody.check(case, holder, ["E-0001"], clock=clock)
    if store:
        custody.store(case, holder, ["E-0001"], location="evidence safe 2", clock=clock)


def _rules(report: lint.LintReport) -> list[str]:
    return sorted(f.rule for f in report.findings)


def test_a_complete_case_has_no_finding(
    case: Case, tmp_path: Path, alice: ed25519.Signer, bob: ed25519.Signer, clock: FixedClock,
    wdir: Path,
) -> None:  # fmt: skip
    _complete(case, tmp_path, alice, bob, clock)
    _witnessed(case, alice, wdir)
    report = lint.lint(case, clock=clock)
    assert report.findings == [], report.findings
    assert report.ok and report.case_id == "TEST-1"
    assert report.unchecked == []  # contact and source identifiers are checked now
    assert verify_case(case.root).ok


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        ({"settings": False}, "time-zone"),
        ({"location": None}, "collection-location"),
        ({"source_host": None, "serial": "SN-1"}, "source-host"),  # identified, unnamed
        ({"store": False}, "storage-location"),
        ({"method": None}, "transfer-method"),
        ({"check": False, "transfer": False}, "never-rechecked"),
    ],
)
def test_each_missing_field_is_found(
    case: Case, tmp_path: Path, alice: ed25519.Signer, bob: ed25519.Signer, clock: FixedClock,
    wdir: Path, change: dict[str, object], rule: str,
) -> None:  # fmt: skip
    _complete(case, tmp_path, alice, bob, clock, **change)  # type: ignore[arg-type]
    _witnessed(case, alice, wdir)
    report = lint.lint(case, clock=clock)
    assert _rules(report) == [rule]
    (found,) = report.findings
    assert found.standards and all("RFC 3227" in s or "NIST" in s for s in found.standards)
    if rule in ("storage-location", "never-rechecked"):
        assert found.item == "E-0001" and found.seq is not None
    if rule in ("collection-location", "source-host", "transfer-method"):
        assert found.seq is not None and case.read_entries().entries[found.seq].kind in (
            "evidence.collected",
            "custody.released",
        )


def test_a_transfer_in_transit_too_long(
    case: Case, tmp_path: Path, alice: ed25519.Signer, bob: ed25519.Signer, clock: FixedClock,
    wdir: Path,
) -> None:  # fmt: skip
    configure(case, alice, preset("itil3", "UTC"), reason="desk", clock=clock)
    _evidence(case, tmp_path, alice, clock)
    custody.store(case, alice, ["E-0001"], location="safe", clock=clock)
    custody.check(case, alice, ["E-0001"], clock=clock)
    release = custody.release(case, alice, ["E-0001"], to="Bob", purpose="lab", method="courier",
                              clock=clock)  # fmt: skip
    _witnessed(case, alice, wdir)
    assert lint.lint(case, clock=clock).ok  # seconds later: in transit, not too long
    clock.now += timedelta(hours=30)
    report = lint.lint(case, clock=clock)
    assert _rules(report) == ["in-transit"] and report.findings[0].seq == release.seq
    assert lint.lint(case, clock=clock, max_transit=48 * 3600).ok
    custody.accept(case, bob, "T-0001", clock=clock)  # accepted 30 h after the release
    _witnessed(case, alice, wdir)
    assert _rules(lint.lint(case, clock=clock)) == ["in-transit"]


def test_a_checkpoint_never_witnessed_nor_timestamped(
    case: Case, tmp_path: Path, alice: ed25519.Signer, bob: ed25519.Signer, clock: FixedClock,
    wdir: Path,
) -> None:  # fmt: skip
    _complete(case, tmp_path, alice, bob, clock)
    report = lint.lint(case, clock=clock)
    assert _rules(report) == ["unanchored"] and "ever signed" in report.findings[0].missing
    checkpoints.issue(case, alice)
    report = lint.lint(case, clock=clock)
    assert _rules(report) == ["unanchored"] and "witnessed" in report.findings[0].missing
    _witnessed(case, alice, wdir)
    assert lint.lint(case, clock=clock).ok
    custody.check(case, bob, ["E-0001"], clock=clock)  # a tail no witness saw
    (found,) = lint.lint(case, clock=clock).findings
    n = len(case.read_entries().entries)
    assert found.rule == "unanchored" and f"entries {n - 1}-{n - 1}" in found.missing


def test_a_timestamped_checkpoint_anchors_the_case(
    case: Case, tmp_path: Path, alice: ed25519.Signer, bob: ed25519.Signer, clock: FixedClock,
    tsa: TsaServer,
) -> None:  # fmt: skip
    _complete(case, tmp_path, alice, bob, clock)
    issued = checkpoints.issue(case, alice)
    item = timestamp.queue(case, issued.note, tsa.url)
    roots = [timestamp.read_root(tsa.tsa.root)]
    timestamp.send(case, item, alice, url=tsa.url, roots=roots, policy=None)
    # the checkpoint.timestamped entry lies beyond the checkpoint it stamps: not asked for
    assert case.read_entries().entries[-1].kind == "checkpoint.timestamped"
    assert lint.lint(case, clock=clock).ok
    custody.check(case, bob, ["E-0001"], clock=clock)  # a tail no TSA saw
    (found,) = lint.lint(case, clock=clock).findings
    assert found.rule == "unanchored" and found.seq == len(case.read_entries().entries) - 2


def test_a_waiver_is_recorded_and_honoured(
    case: Case, tmp_path: Path, alice: ed25519.Signer, bob: ed25519.Signer, clock: FixedClock,
    wdir: Path,
) -> None:  # fmt: skip
    _complete(case, tmp_path, alice, bob, clock, source_host=None, serial="SN-1", method=None)
    before = lint.lint(case, clock=clock)
    assert "source-host" in _rules(before)
    entry = lint.waive(case, bob, "source-host", "collected on the machine itself", clock=clock)
    assert entry.kind == "lint.waived"
    assert entry.body == {"rule": "source-host", "reason": "collected on the machine itself"}
    _witnessed(case, alice, wdir)
    report = lint.lint(case, clock=clock)
    assert _rules(report) == ["transfer-method"]
    (waived,) = report.waived
    assert (waived.rule, waived.seq, waived.by, waived.hidden) == (
        "source-host",
        entry.seq,
        bob.fingerprint,
        1,
    )
    assert verify_case(case.root).ok  # the kind is registered: body and rule


def test_a_waiver_needs_a_known_rule_and_a_reason(case: Case, alice: ed25519.Signer) -> None:
    size = case.journal_path.stat().st_size
    with pytest.raises(InputError, match="unknown lint rule"):
        lint.waive(case, alice, "no-such-rule", "because")
    with pytest.raises(InputError, match="reason"):
        lint.waive(case, alice, "time-zone", "  ")
    assert case.journal_path.stat().st_size == size


def test_an_unknown_rule_in_a_journal_is_a_warning(case: Case, alice: ed25519.Signer) -> None:
    """A newer irkit's rule: it hides nothing here, so verify warns and lint ignores it."""
    case.append(alice, "lint.waived", {"rule": "future-rule", "reason": "later"})
    report = verify_case(case.root)
    assert report.ok and any(w.code == "lint" for w in report.warnings)
    assert [w.rule for w in lint.lint(case).waived] == ["future-rule"]
