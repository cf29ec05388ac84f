"""`irkit export` from the command line: formats, stdout, atomic files, refusals, and the
demo case's CASE/UCO export through `case_validate`."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from irkit.record.case import Case
from tests.conftest import KeyFiles, Runner
from tests.helpers import lines, write_lines
from tests.unit.test_export_caseuco import case_validate


def _collect(irkit: Runner, key_files: KeyFiles, case: Case, tmp_path: Path) -> None:
    src = tmp_path / "usb.img"
    src.write_bytes(b"usb image")
    r = irkit("evidence", "collect", str(src), "--location", "=cmd|' /C calc'!A0",
              key=key_files.alice, case=case.root)  # fmt: skip
    assert r.exit_code == 0, r.output


def test_each_format_to_a_file_and_to_stdout(
    irkit: Runner, key_files: KeyFiles, case: Case, tmp_path: Path
) -> None:
    _collect(irkit, key_files, case, tmp_path)
    out = tmp_path / "out.jsonl"
    r = irkit("export", "--format", "jsonl", "-o", str(out), "--json", case=case.root)
    assert r.exit_code == 0, r.output
    assert out.read_bytes() == case.journal_path.read_bytes()
    assert json.loads(r.output) == {
        "format": "jsonl", "output": str(out), "entries": 3, "bytes": out.stat().st_size,
    }  # fmt: skip
    r = irkit("export", "--format", "csv", "-o", "-", case=case.root)
    assert r.exit_code == 0, r.stderr
    (row,) = csv.DictReader(io.StringIO(r.stdout, newline=""))
    assert row["item"] == "E-0001" and row["location"] == "'=cmd|' /C calc'!A0"
    r = irkit("export", "--format", "case", "-o", "-", case=case.root)
    assert r.exit_code == 0 and json.loads(r.stdout)["@graph"][0]["uco-core:name"] == "TEST-1"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_a_failed_export_writes_nothing(
    irkit: Runner, key_files: KeyFiles, case: Case, tmp_path: Path
) -> None:
    _collect(irkit, key_files, case, tmp_path)
    old = lines(case.root)
    write_lines(case.root, [old[0], old[2], old[1]])  # entries swapped: the chain breaks
    out = tmp_path / "out.jsonl"
    before = sorted(p.name for p in tmp_path.iterdir())
    r = irkit("export", "--format", "jsonl", "-o", str(out), case=case.root)
    assert r.exit_code == 1 and "does not verify" in r.stderr and "Traceback" not in r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no file, no temp file
    r = irkit("export", "--format", "jsonl", "-o", str(out), "--force", case=case.root)
    assert r.exit_code == 0 and "does not verify" in r.stderr
    assert out.read_bytes() == case.journal_path.read_bytes()


def test_bad_arguments_are_one_line(irkit: Runner, case: Case, tmp_path: Path) -> None:
    r = irkit("export", "--format", "xml", "-o", "-", case=case.root)
    assert r.exit_code == 2 and "Traceback" not in r.output
    r = irkit("export", "--format", "csv", "-o", str(tmp_path / "no" / "such" / "dir.csv"),
              case=case.root)  # fmt: skip
    assert r.exit_code == 2 and "cannot write" in r.stderr


def test_the_demo_case_exports_as_valid_case_uco(irkit: Runner, tmp_path: Path) -> None:
    assert irkit("demo", str(tmp_path / "demo")).exit_code == 0
    out = tmp_path / "demo.jsonld"
    r = irkit("export", "--format", "case", "-o", str(out), case=tmp_path / "demo" / "case")
    assert r.exit_code == 0, r.output
    doc = json.loads(out.read_bytes())
    kinds = {n["@type"] for n in doc["@graph"]}
    assert {"case-investigation:InvestigativeAction", "case-investigation:ProvenanceRecord",
            "uco-observable:File", "uco-identity:Person", "uco-tool:Tool"} <= kinds  # fmt: skip
    run = case_validate(out)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Conforms: True" in run.stdout and "Results (" not in run.stdout
