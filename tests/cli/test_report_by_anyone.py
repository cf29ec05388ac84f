"""Reports by anyone (#14): a non-member renders every template from a copy of the case
without writing to its journal, and `report --check` proves a PDF against any journal that
holds the prefix the PDF shows, however far that journal has grown since."""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path

import pytest
from pypdf import PdfReader

from irkit.formats.ed25519 import Signer
from irkit.record import keyfiles
from irkit.record.case import Case
from irkit.report import templates
from tests.conftest import KeyFiles, Runner


def _text(pdf: Path) -> str:
    return re.sub(r"\s+", "", "".join(p.extract_text() for p in PdfReader(pdf).pages))


def _clone(case: Case, tmp_path: Path, irkit: Runner, key_files: KeyFiles) -> Path:
    """Some history, then a copy of the folder as another machine would hold it."""
    for text in ("Disk imaged", "Hash noted"):
        assert irkit("note", "add", text, key=key_files.alice, case=case.root).exit_code == 0
    clone = tmp_path / "clone"
    shutil.copytree(case.root, clone, symlinks=True)
    return clone


@pytest.mark.parametrize("template", templates.names())
def test_a_non_member_renders_every_template_without_a_key(
    case: Case, irkit: Runner, key_files: KeyFiles, tmp_path: Path, template: str
) -> None:
    clone = _clone(case, tmp_path, irkit, key_files)
    journal = (clone / "journal.jsonl").read_bytes()
    out = tmp_path / f"{template}.pdf"
    # no key anywhere on this machine: IRKIT_HOME is empty, IRKIT_KEY unset
    result = irkit("report", "--template", template, "-o", str(out), "--json", case=clone)
    assert result.exit_code == 0, result.output
    said = json.loads(result.output)
    assert said["recorded"] is False and "no key on this machine" in said["why"]
    assert (clone / "journal.jsonl").read_bytes() == journal
    assert "NOTRECORDEDinthejournal" in _text(out)
    check = irkit("report", "--check", str(out), case=clone)
    assert check.exit_code == 0 and "IDENTICAL" in check.output, check.output


def test_a_non_member_with_an_encrypted_key_is_not_asked_for_its_passphrase(
    case: Case, irkit: Runner, mallory: Signer, tmp_path: Path
) -> None:
    key = tmp_path / "mallory-sealed.key"
    keyfiles.write_key_file(
        key, mallory, "a long enough passphrase", created="2026-01-01T00:00:00.000000Z"
    )
    journal = case.journal_path.read_bytes()
    out = tmp_path / "r.pdf"
    result = irkit("report", "-o", str(out), key=key, case=case.root, input="")
    assert result.exit_code == 0, result.output
    assert "passphrase" not in result.output.lower()
    assert "not a member of the case" in result.output
    assert case.journal_path.read_bytes() == journal


def test_a_member_opts_out_with_no_record(
    case: Case, irkit: Runner, key_files: KeyFiles, tmp_path: Path
) -> None:
    journal = case.journal_path.read_bytes()
    out = tmp_path / "r.pdf"
    result = irkit("report", "--no-record", "-o", str(out), key=key_files.alice, case=case.root)
    assert result.exit_code == 0, result.output
    assert "not recorded in the journal: --no-record" in result.output
    assert case.journal_path.read_bytes() == journal
    recorded = tmp_path / "rec.pdf"
    result = irkit("report", "-o", str(recorded), key=key_files.alice, case=case.root)
    assert "recorded as entry" in result.output
    assert case.read_entries().entries[-1].kind == "report.exported"
    assert "NOTRECORDED" in _text(out) and "NOTRECORDED" not in _text(recorded)


def test_check_an_unrecorded_pdf_after_the_journal_grew(
    case: Case, irkit: Runner, key_files: KeyFiles, tmp_path: Path
) -> None:
    clone = _clone(case, tmp_path, irkit, key_files)
    out = tmp_path / "r.pdf"
    made = irkit("report", "--redact", "--template", "custody", "-o", str(out), case=clone)
    assert made.exit_code == 0, made.output
    size = len(case.read_entries().entries)
    for n in range(3):  # the members' journal moves on
        assert irkit("note", "add", f"later {n}", key=key_files.bob, case=case.root).exit_code == 0
    # template and redaction come from the PDF itself
    check = irkit("report", "--check", str(out), "--json", case=case.root)
    assert check.exit_code == 0, check.output
    said = json.loads(check.output)
    assert said["identical"] and said["size"] == size and said["template"] == "custody"
    assert said["redacted"] is True and said["recorded"] is False
    # a tampered copy is still told apart
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(out.read_bytes().replace(b"/Producer", b"/Producex", 1))
    assert irkit("report", "--check", str(bad), case=case.root).exit_code == 1


def test_check_a_recorded_pdf_on_a_copy_that_lacks_its_entry(
    case: Case, irkit: Runner, key_files: KeyFiles, tmp_path: Path
) -> None:
    """Alice exports on her machine; Bob's copy, taken before, grows on its own and still
    proves her PDF from the prefix the PDF shows."""
    clone = _clone(case, tmp_path, irkit, key_files)
    out = tmp_path / "alice.pdf"
    assert irkit("report", "-o", str(out), key=key_files.alice, case=case.root).exit_code == 0
    assert irkit("note", "add", "Bob's own", key=key_files.bob, case=clone).exit_code == 0
    check = irkit("report", "--check", str(out), case=clone)
    assert check.exit_code == 0, check.output
    assert "no report.exported entry here names it" in check.output


def test_check_says_why_a_journal_cannot_have_produced_the_pdf(
    case: Case, irkit: Runner, key_files: KeyFiles, tmp_path: Path
) -> None:
    clone = _clone(case, tmp_path, irkit, key_files)
    assert irkit("note", "add", "more", key=key_files.alice, case=case.root).exit_code == 0
    out = tmp_path / "r.pdf"
    assert irkit("report", "--no-record", "-o", str(out), case=case.root).exit_code == 0
    short = irkit("report", "--check", str(out), case=clone)  # the copy is behind
    assert short.exit_code == 1 and "pull or sync" in short.output, short.output
    assert irkit("note", "add", "forked", key=key_files.bob, case=clone).exit_code == 0
    assert irkit("note", "add", "forked 2", key=key_files.bob, case=clone).exit_code == 0
    forked = irkit("report", "--check", str(out), case=clone)  # same size, other history
    assert forked.exit_code == 1 and "different Merkle root" in forked.output, forked.output


def test_shown_reads_the_prefix_from_the_pdf(
    case: Case, irkit: Runner, key_files: KeyFiles, tmp_path: Path
) -> None:
    from irkit.report.export import shown

    out = tmp_path / "r.pdf"
    assert irkit("report", "-o", str(out), key=key_files.alice, case=case.root).exit_code == 0
    claim = shown(out.read_bytes())
    entries = case.read_entries().entries
    assert claim is not None and claim.size == len(entries) - 1
    assert claim.template == "incident" and claim.redacted is False and claim.recorded is True
    assert PdfReader(io.BytesIO(out.read_bytes())).metadata is not None
    assert shown(b"%PDF-1.4 nothing here") is None
