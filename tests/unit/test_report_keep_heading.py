"""A heading stays with what follows it without leaving a page half blank: when the first
rows of a long table fit below the heading, they start on the same page (reportlab's own
keepWithNext moved the heading and a page of rows to the next page whole)."""

from __future__ import annotations

import io
from pathlib import Path

from pypdf import PdfReader

from irkit.formats.ed25519 import Signer
from irkit.notes.notes import add_note
from irkit.record.case import Case
from irkit.report import export
from tests.conftest import FixedClock


def test_a_long_table_starts_under_its_heading(
    case: Case, alice: Signer, clock: FixedClock, tmp_path: Path
) -> None:
    for n in range(45):
        add_note(case, alice, f"observation {n}: nothing unusual in the logs", clock=clock)
    template = tmp_path / "short.toml"
    template.write_text('title = "Notes only"\nsections = ["summary", "notes"]\n')
    pdf = export.render(case.read_entries().entries, str(template), redact=False)
    pages = [p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages]
    assert "Notes (45)" in pages[0], "the notes moved to page 2, leaving the cover page blank"
    assert "observation 0" in pages[0]  # with their first rows
    assert "Event / recorded" in pages[1]  # the table goes on with its header row
