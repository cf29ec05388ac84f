"""`irkit report`: export records a signed entry; --check proves a PDF is the case's own."""

from __future__ import annotations

import hashlib
from pathlib import Path

from irkit.record.case import Case
from tests.conftest import KeyFiles, Runner


def _setup(case: Case, irkit: Runner, key_files: KeyFiles) -> Path:
    root = case.root
    assert irkit("note", "add", "Disk imaged by Zoë", key=key_files.alice, case=root).exit_code == 0
    result = irkit("note", "add", "--confidential", "root pw hunter2", key=key_files.bob, case=root)
    assert result.exit_code == 0, result.output
    return root


def test_export_records_entry_and_check_says_identical(
    case: Case, irkit: Runner, key_files: KeyFiles, tmp_path: Path
) -> None:
    root = _setup(case, irkit, key_files)
    size_before = len(case.read_entries().entries)
    out = tmp_path / "r.pdf"
    result = irkit("report", "-o", str(out), key=key_files.alice, case=root)
    assert result.exit_code == 0, result.output
    pdf = out.read_bytes()
    last = case.read_entries().entries[-1]
    assert last.kind == "report.exported"
    assert last.body["pdf_sha256"] == hashlib.sha256(pdf).hexdigest()
    assert last.body["checkpoint_size"] == size_before
    assert last.body["template"] == "incident" and last.body["redacted"] is False
    # more entries later: --check still regenerates from the prefix the entry names
    assert irkit("note", "add", "later note", key=key_files.alice, case=root).exit_code == 0
    check = irkit("report", "--check", str(out), case=root)
    assert check.exit_code == 0, check.output
    assert "IDENTICAL" in check.output
    assert irkit("verify", case=root).exit_code == 0


def test_check_rejects_a_modified_pdf(
    case: Case, irkit: Runner, key_files: KeyFiles, tmp_path: Path
) -> None:
    root = _setup(case, irkit, key_files)
    out = tmp_path / "r.pdf"
    assert irkit("report", "-o", str(out), key=key_files.alice, case=root).exit_code == 0
    tampered = tmp_path / "t.pdf"
    data = out.read_bytes()
    tampered.write_bytes(data.replace(b"/Producer", b"/Producex", 1))
    check = irkit("report", "--check", str(tampered), case=root)
    assert check.exit_code == 1, check.output
    assert "DIFFERENT" in check.output


def test_redacted_export_and_bad_template(
    case: Case, irkit: Runner, key_files: KeyFiles, tmp_path: Path
) -> None:
    root = _setup(case, irkit, key_files)
    out = tmp_path / "red.pdf"
    result = irkit("report", "--redact", "-o", str(out), key=key_files.alice, case=root)
    assert result.exit_code == 0, result.output
    assert b"hunter2" not in out.read_bytes()
    assert case.read_entries().entries[-1].body["redacted"] is True
    before = len(case.read_entries().entries)
    bad = irkit(
        "report",
        "--template",
        "nope",
        "-o",
        str(tmp_path / "x.pdf"),
        key=key_files.alice,
        case=root,
    )
    assert bad.exit_code == 2
    assert "no report template" in bad.output
    assert not (tmp_path / "x.pdf").exists()
    assert len(case.read_entries().entries) == before  # nothing half-written


def test_non_member_renders_unrecorded(
    case: Case, irkit: Runner, key_files: KeyFiles, tmp_path: Path
) -> None:
    """A non-member's key cannot record an export (#14): the PDF is written, marked as not
    recorded, and the journal is left exactly as it was."""
    journal = case.journal_path.read_bytes()
    out = tmp_path / "r.pdf"
    result = irkit("report", "-o", str(out), key=key_files.mallory, case=case.root)
    assert result.exit_code == 0, result.output
    assert "not recorded in the journal" in result.output and "not a member" in result.output
    assert out.read_bytes().startswith(b"%PDF-")
    assert case.journal_path.read_bytes() == journal


def test_demo_ends_with_a_checkable_report(irkit: Runner, tmp_path: Path) -> None:
    result = irkit("demo", str(tmp_path / "demo"))
    assert result.exit_code == 0, result.output
    pdf = tmp_path / "demo" / "case" / "reports" / "report.pdf"
    assert str(pdf) in result.output  # the whole path, not just the name
    assert pdf.read_bytes().startswith(b"%PDF-")
    check = irkit("report", "--check", str(pdf), case=tmp_path / "demo" / "case")
    assert check.exit_code == 0, check.output
