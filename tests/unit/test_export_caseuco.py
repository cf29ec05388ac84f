"""CASE/UCO export (irkit/export/caseuco.py): the mapping, stable ids, and conformance as
`case_validate` (case-utils, the CASE community's SHACL validator) judges it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from irkit.childenv import child_env
from irkit.evidence import collect, custody, relocate
from irkit.export import caseuco
from irkit.formats import ed25519
from irkit.record.case import Case
from tests.conftest import FixedClock


def case_validate(path: Path) -> subprocess.CompletedProcess[str]:
    """Run case_validate on `path` (the CASE release case-utils ships, no network); no
    warnings and no infos allowed: the run fails on any result."""
    tool = Path(sys.executable).parent / "case_validate"
    found = str(tool) if tool.exists() else shutil.which("case_validate")
    if found is None:
        pytest.skip(
            "case_validate (pip install 'irkit[case]') is NOT installed: CASE export unvalidated"
        )
    return subprocess.run(
        [found, "--built-version", "case-1.5.0", str(path)],
        capture_output=True, text=True, env=child_env(), timeout=300, check=False,
    )  # fmt: skip


def _custody_case(
    case: Case, tmp_path: Path, alice: ed25519.Signer, bob: ed25519.Signer, clock: FixedClock
) -> None:
    log = tmp_path / "auth.log"
    log.write_text("Accepted password for root from 203.0.113.9\n")
    image = tmp_path / "disk.img"
    image.write_bytes(b"\x00" * 4096)
    collect.collect(case, alice, [log], location="server room", source_host="web01", md5=True,
                    description="auth log", clock=clock)  # fmt: skip
    collect.collect(case, alice, [image], by_reference=True, clock=clock)
    moved = tmp_path / "nas"
    moved.mkdir()
    shutil.copy(image, moved / "disk.img")
    relocate.relocate(case, alice, "E-0002", moved / "disk.img", reason="moved to NAS",
                      clock=clock)  # fmt: skip
    custody.release(case, alice, ["E-0001", "E-0002"], to="Bob", purpose="lab analysis",
                    location="front desk", method="courier", clock=clock)  # fmt: skip
    custody.accept(case, bob, "T-0001", condition="seal intact", clock=clock)
    custody.check(case, bob, ["E-0001"], clock=clock)
    custody.store(case, bob, ["E-0001", "E-0002"], location="evidence safe 2", clock=clock)
    custody.finish(case, bob, "custody.disposed", ["E-0002"], reason="copy superseded",
                   clock=clock)  # fmt: skip


def _nodes(doc: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [n for n in doc["@graph"] if n["@type"] == kind]


def test_the_mapping(
    case: Case, tmp_path: Path, alice: ed25519.Signer, bob: ed25519.Signer, clock: FixedClock
) -> None:
    _custody_case(case, tmp_path, alice, bob, clock)
    entries = case.read_entries().entries
    doc = caseuco.build(entries)
    by_id = {n["@id"]: n for n in doc["@graph"]}
    people = {n["uco-core:name"]: n for n in _nodes(doc, "uco-identity:Person")}
    assert set(people) == {"Alice", "Bob"}
    ref = people["Bob"]["uco-core:externalReference"][0]
    assert ref["uco-core:externalIdentifier"] == bob.fingerprint
    (tool,) = _nodes(doc, "uco-tool:Tool")
    assert tool["uco-core:name"] == "irkit" and tool["uco-tool:version"]
    files = {n["uco-core:name"]: n for n in _nodes(doc, "uco-observable:File")}
    facets = files["E-0001"]["uco-core:hasFacet"]
    content = next(f for f in facets if f["@type"] == "uco-observable:ContentDataFacet")
    hashes = {h["uco-types:hashMethod"]: h["uco-types:hashValue"]["@value"]
              for h in content["uco-observable:hash"]}  # fmt: skip
    first = entries[2].body["items"][0]
    assert hashes == {"SHA256": first["sha256"], "MD5": first["md5"]}  # plain strings
    actions = _nodes(doc, "case-investigation:InvestigativeAction")
    names = [a["uco-core:name"] for a in actions]
    assert names == ["collected", "collected", "relocated", "released for transfer",
                     "accepted in transfer", "checked", "stored", "disposed of"]  # fmt: skip
    accepted = actions[4]
    assert by_id[accepted["uco-action:performer"]["@id"]] is people["Bob"]
    assert accepted["uco-action:instrument"]["@id"] == tool["@id"]
    assert [o["@id"] for o in accepted["uco-action:object"]] == [
        files["E-0001"]["@id"],
        files["E-0002"]["@id"],
    ]
    records = [by_id[r["@id"]] for r in accepted["uco-action:result"]]
    assert [r["case-investigation:exhibitNumber"] for r in records] == ["E-0001", "E-0002"]
    assert all(r["@type"] == "case-investigation:ProvenanceRecord" for r in records)
    collected = actions[0]
    assert by_id[collected["uco-action:object"][0]["@id"]]["uco-core:name"] == "web01"
    assert by_id[collected["uco-action:location"][0]["@id"]]["uco-core:name"] == "server room"
    assert "MISMATCH" not in actions[5]["uco-core:description"]
    (investigation,) = _nodes(doc, "case-investigation:Investigation")
    assert investigation["uco-core:name"] == "TEST-1"


def test_the_output_is_reproducible_and_ids_are_stable(
    case: Case, tmp_path: Path, alice: ed25519.Signer, bob: ed25519.Signer, clock: FixedClock
) -> None:
    _custody_case(case, tmp_path, alice, bob, clock)
    entries = case.read_entries().entries
    first = caseuco.dumps(entries)
    assert caseuco.dumps(entries) == first
    ids = [n["@id"] for n in json.loads(first)["@graph"]]
    assert len(ids) == len(set(ids))
    assert all(i.startswith("kb:") for i in ids)
    # a prefix of the journal names its nodes as the whole does: ids come from seq and item
    prefix = {n["@id"] for n in caseuco.build(entries[:5])["@graph"]}
    whole = set(ids)
    changed = {i for i in prefix - whole if not i.startswith("kb:investigation-")}
    assert not changed


def test_case_validate_conforms_without_warnings(
    case: Case, tmp_path: Path, alice: ed25519.Signer, bob: ed25519.Signer, clock: FixedClock
) -> None:
    _custody_case(case, tmp_path, alice, bob, clock)
    out = tmp_path / "case.jsonld"
    out.write_bytes(caseuco.dumps(case.read_entries().entries))
    run = case_validate(out)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Conforms: True" in run.stdout and "Results (" not in run.stdout, run.stdout


def test_a_journal_must_start_with_the_case() -> None:
    with pytest.raises(ValueError, match=r"case\.opened"):
        caseuco.build([])
