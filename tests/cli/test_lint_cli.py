"""`irkit lint` from the command line: findings and exit 1, --json, waivers."""

from __future__ import annotations

import json
from pathlib import Path

from irkit.record.case import Case
from tests.conftest import KeyFiles, Runner


def test_findings_exit_1_and_a_waiver_hides_them(
    irkit: Runner, key_files: KeyFiles, case: Case, tmp_path: Path
) -> None:
    src = tmp_path / "usb.img"
    src.write_bytes(b"usb image")
    assert (
        irkit("evidence", "collect", str(src), key=key_files.alice, case=case.root).exit_code == 0
    )
    r = irkit("lint", case=case.root)
    assert r.exit_code == 1
    assert "source-host: entry 2: collection of E-0001 names no source system" in r.output
    assert "NIST SP 800-61r2 §3.3.2" in r.output and "not checked" not in r.output
    assert "handler-contact: entry 0: Alice (lead) handled evidence (first at entry 2)" in r.output
    r = irkit("lint", "--json", case=case.root)
    assert r.exit_code == 1
    doc = json.loads(r.stdout)
    assert doc["ok"] is False
    rules = {f["rule"] for f in doc["findings"]}
    assert rules == {"time-zone", "collection-location", "source-host", "source-identity",
                     "handler-contact", "storage-location", "never-rechecked",
                     "unanchored"}  # fmt: skip
    r = irkit("lint", "waive", "source-host", "--reason", "taken on the host itself",
              key=key_files.alice, case=case.root)  # fmt: skip
    assert r.exit_code == 0 and "lint.waived" in r.output
    r = irkit("lint", "--json", case=case.root)
    doc = json.loads(r.stdout)
    assert "source-host" not in {f["rule"] for f in doc["findings"]}
    assert [(w["rule"], w["hidden"]) for w in doc["waived"]] == [("source-host", 1)]
    r = irkit("lint", case=case.root)
    assert "waived: source-host (entry 3, by Alice: taken on the host itself)" in r.output


def test_bad_input(irkit: Runner, key_files: KeyFiles, case: Case) -> None:
    size = case.journal_path.stat().st_size
    r = irkit("lint", "waive", "nope", "--reason", "x", key=key_files.alice, case=case.root)
    assert r.exit_code == 2 and "unknown lint rule 'nope'" in r.stderr
    r = irkit("lint", "--max-transit", "soon", case=case.root)
    assert r.exit_code == 2 and "invalid duration" in r.stderr
    r = irkit("lint", "--max-transit", "0s", case=case.root)
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert case.journal_path.stat().st_size == size
