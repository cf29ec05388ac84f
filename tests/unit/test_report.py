"""The PDF report: content, reproducibility, redaction, structure (qpdf)."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader

from irkit.formats.ed25519 import Signer
from irkit.notes.notes import add_note, correct_note, witness_note
from irkit.record.case import Case
from irkit.report import export
from irkit.report.model import build, human_time, withheld
from tests.conftest import FixedClock
from tests.helpers import qpdf_decompressed

SECRET = "Suspect password is hunter2-Zebra"
NOTES = [
    "Café owner Zoë saw the façade lights flicker",
    "Сервер перезагружен в 14:05",
    "Ο διακομιστής αποσυνδέθηκε από το δίκτυο",
]


@pytest.fixture
def filled(case: Case, alice: Signer, bob: Signer, clock: FixedClock) -> Case:
    first = add_note(case, alice, NOTES[0], clock=clock)
    add_note(case, bob, NOTES[1], clock=clock)
    add_note(case, alice, NOTES[2], clock=clock)
    secret = add_note(case, bob, SECRET, confidential=True, clock=clock)
    correct_note(case, bob, secret.seq, SECRET + " (typo fixed)", reason="typo", clock=clock)
    correct_note(
        case,
        alice,
        first.seq,
        "Café owner Zoë saw the lights go out",
        reason="precise",
        clock=clock,
    )
    witness_note(case, bob, first.seq, statement="I was there", clock=clock)
    return case


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_report_shows_case_notes_authors_times_and_pages(filled: Case) -> None:
    entries = filled.read_entries().entries
    pdf = export.render(entries, "incident", redact=False)
    text = _text(pdf)
    pages = len(PdfReader(io.BytesIO(pdf)).pages)
    assert "TEST-1" in text
    assert f"Page 1 of {pages}" in text and f"Page {pages} of {pages}" in text
    flat = _squash(text)
    model = build(entries)
    for note in model.notes:
        assert _squash(note.text) in flat, note.text
        assert note.author in text
        assert _squash(human_time(note.event_time, model.zone)) in flat
        assert _squash(human_time(note.recorded, model.zone)) in flat
    for signer in model.signers:
        assert signer.fingerprint in flat  # wrapped inside its cell, still copyable
    assert model.root_hex in flat
    for text_ in NOTES:  # accents, Cyrillic, Greek survive through the embedded font
        assert _squash(text_) in flat
    assert b"DejaVuSans" in pdf
    meta = PdfReader(io.BytesIO(pdf)).metadata
    assert meta is not None and "TEST-1" in (meta.title or "") and meta.author


def test_two_exports_are_byte_identical(filled: Case) -> None:
    entries = filled.read_entries().entries
    assert export.render(entries, "incident", False) == export.render(entries, "incident", False)
    assert export.render(entries, "custody", False) != export.render(entries, "incident", False)
    # the document date is the last shown entry's time, not the wall clock nor 2000-01-01
    meta = PdfReader(io.BytesIO(export.render(entries, "incident", False))).metadata
    stamp = entries[-1].recorded  # e.g. 2026-01-02T03:04:20.000000Z
    expected = "D:" + re.sub(r"\D", "", stamp[:19])
    assert meta is not None and str(meta["/CreationDate"]).startswith(expected)


def test_redacted_report_leaks_nothing_confidential(filled: Case, tmp_path: Path) -> None:
    import hashlib

    pdf = export.render(filled.read_entries().entries, "incident", redact=True)
    raw = qpdf_decompressed(pdf, tmp_path)
    text = _text(pdf)
    for needle in ("hunter2", "Zebra", "Suspect password"):
        assert needle.encode() not in pdf
        assert needle.encode() not in raw
        assert needle not in text
    assert "[REDACTED]" in text
    # an unsalted digest would confirm a guess: only the salted commitment is shown
    assert hashlib.sha256(SECRET.encode()).hexdigest().encode() not in raw
    entry = next(e for e in filled.read_entries().entries if e.body.get("text") == SECRET)
    assert _squash(withheld(SECRET, entry.body["salt"], "text")) in _squash(text)
    assert entry.body["salt"].encode() not in raw
    assert _squash(NOTES[1]) in _squash(text)  # the rest is still there


def test_unredacted_report_does_contain_the_secret(filled: Case) -> None:
    # the redaction test above can fail: without --redact the text is there
    assert "hunter2" in _text(export.render(filled.read_entries().entries, "incident", False))


def test_qpdf_check_passes(filled: Case, tmp_path: Path) -> None:
    qpdf = shutil.which("qpdf")
    if qpdf is None:
        pytest.skip("qpdf is not installed: cannot check PDF structure")
    path = tmp_path / "r.pdf"
    path.write_bytes(export.render(filled.read_entries().entries, "incident", False))
    done = subprocess.run([qpdf, "--check", str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_long_timeline_splits_into_tables_with_header_on_each_page(
    case: Case, alice: Signer, clock: FixedClock
) -> None:
    for i in range(120):
        add_note(case, alice, f"step {i}", clock=clock)
    pdf = export.render(case.read_entries().entries, "incident", False)
    reader = PdfReader(io.BytesIO(pdf))
    pages = [p.extract_text() for p in reader.pages]
    # the executive summary quotes the first note ("step 0"); the table holds them all
    with_notes = [p for p in pages if re.search(r"step [1-9]", p)]
    assert len(with_notes) >= 3
    assert all("Event / recorded" in p for p in with_notes)
    assert all(f"step {i}" in "\n".join(pages) for i in range(120))


def test_verify_checks_the_root_a_report_entry_names(
    case: Case, alice: Signer, clock: FixedClock
) -> None:
    from irkit.audit.verify import verify_case

    done = export.export(case, alice, "incident", False, case.root.parent / "r.pdf", clock=clock)
    assert verify_case(case.root).ok
    body = dict(done.entry.body, checkpoint_root="00" * 32)
    case.append(alice, "report.exported", body, clock=clock)
    report = verify_case(case.root)
    assert not report.ok
    assert any(p.code == "report-root" for p in report.problems)


def test_reportlab_accelerators_change_no_byte(case: Case, alice: Signer, tmp_path: Path) -> None:
    """rl_accel (a dependency, for speed) must render exactly what reportlab's pure-Python
    path renders, or `irkit report --check` would depend on what is installed."""
    import sys

    pytest.importorskip("_rl_accel", reason="rl_accel is a dependency: install it")
    add_note(case, alice, "Números 1.5 × 2.25 — проверка")
    fast = export.render(case.read_entries().entries, "incident", redact=False)
    out = tmp_path / "slow.pdf"
    script = (
        "import sys; sys.modules['_rl_accel'] = None\n"  # reportlab falls back to Python
        "from pathlib import Path\n"
        "from reportlab.lib import rl_accel\n"
        "assert not rl_accel._c_funcs, 'accelerators still loaded'\n"
        "from irkit.record.case import Case\n"
        "from irkit.report import export\n"
        f"entries = Case.open(Path({str(case.root)!r})).read_entries().entries\n"
        f"Path({str(out)!r}).write_bytes(export.render(entries, 'incident', redact=False))\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
    assert out.read_bytes() == fast
