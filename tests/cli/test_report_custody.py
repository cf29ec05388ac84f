"""`irkit report --template custody` on the demo case, checked against `custody.chain`.

`custody.chain` is the per-item view `irkit custody show` prints, computed independently of
the report model: every one of its rows must appear on the item's form.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader

from irkit.evidence import custody
from irkit.evidence.collect import inventory
from irkit.record.case import Case
from irkit.record.summary import names_from
from irkit.report.model import build, human_time
from tests.conftest import Runner


def _flat(pdf: bytes) -> str:
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    return re.sub(r"\s+", "", text)


@pytest.fixture
def demo(irkit: Runner, tmp_path: Path) -> Path:
    result = irkit("demo", str(tmp_path / "demo"))
    assert result.exit_code == 0, result.output
    return tmp_path / "demo"


def test_custody_form_for_every_item_and_event(demo: Path, irkit: Runner, tmp_path: Path) -> None:
    root = demo
    case = Case.open(root / "case")
    out = tmp_path / "custody.pdf"
    key = root / "demo-keys" / "alice.key"
    result = irkit("report", "--template", "custody", "-o", str(out), key=key, case=case.root)
    assert result.exit_code == 0, result.output
    pdf = out.read_bytes()
    flat = _flat(pdf)
    entries = case.read_entries().entries
    names = names_from(entries)
    items = inventory(entries).items
    assert items
    for item_id, item in items.items():
        assert item.body["sha256"] in flat
        rows = custody.chain(entries, item_id)
        assert rows
        for row in rows:
            assert row["signature"] == "valid"
            # shown for people: the case's zone and UTC, to the second
            assert re.sub(r"\s+", "", human_time(row["time"], build(entries).zone)) in flat
            for who in (row["from"], row["to"]):
                if who:
                    assert re.sub(r"\s+", "", names[who]) in flat, (item_id, row)
    pages = len(PdfReader(io.BytesIO(pdf)).pages)
    assert f"Page1of{pages}" in flat
    assert flat.count("custodychainverified") == len(items)
    check = irkit("report", "--check", str(out), case=case.root)
    assert check.exit_code == 0 and "IDENTICAL" in check.output, check.output
    qpdf = shutil.which("qpdf")
    if qpdf is not None:
        done = subprocess.run([qpdf, "--check", str(out)], capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr


def test_redacted_demo_report_leaks_nothing(demo: Path, irkit: Runner, tmp_path: Path) -> None:
    root = demo
    case = Case.open(root / "case")
    secret = next(
        e.body["text"]
        for e in case.read_entries().entries
        if e.kind == "note.added" and e.body.get("confidential")
    )
    assert "on-call manager" in secret
    out = tmp_path / "shared.pdf"
    key = root / "demo-keys" / "alice.key"
    result = irkit("report", "--redact", "-o", str(out), key=key, case=case.root)
    assert result.exit_code == 0, result.output
    pdf = out.read_bytes()
    assert b"on-call manager" not in pdf
    assert "on-call" not in _flat(pdf) and "[REDACTED]commit:" in _flat(pdf)
    qpdf = shutil.which("qpdf")
    if qpdf is None:
        pytest.skip("qpdf is not installed")
    qdf = tmp_path / "shared.qdf"
    subprocess.run([qpdf, "--qdf", "--object-streams=disable", str(out), str(qdf)], check=True)
    assert b"on-call manager" not in qdf.read_bytes()
    assert b"private number" not in qdf.read_bytes()
