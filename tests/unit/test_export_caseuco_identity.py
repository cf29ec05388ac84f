"""CASE/UCO export of identifying details (irkit/export/caseuco.py): a member's contact as a
`ContactFacet` on their Person, the source's serial and model as a `DeviceFacet`, its MAC
and IP addresses as address observables, objects of the collection; still conformant with
no warnings as `case_validate` judges it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from irkit.evidence import collect
from irkit.export import caseuco
from irkit.formats import ed25519
from irkit.record.case import Case, add_member, init_case
from tests.conftest import FixedClock, seeded_signer
from tests.unit.test_export_caseuco import case_validate


def _identified(tmp_path: Path, alice: ed25519.Signer, clock: FixedClock) -> Case:
    case = init_case(tmp_path / "case", title="T", case_id="TEST-1", signer=alice,
                     contact="+1 555 0100, alice@example.org", clock=clock)  # fmt: skip
    add_member(case, alice, seeded_signer("bob").public, name="Bob", role="responder",
               clock=clock)  # fmt: skip
    log = tmp_path / "auth.log"
    log.write_text("x\n")
    collect.collect(case, alice, [log], source_host="web01", serial="SN-9", model="R640",
                    macs=["00:1a:2b:3c:4d:5e"], ips=["192.0.2.7", "2001:db8::7"],
                    clock=clock)  # fmt: skip
    collect.collect(case, alice, [log], serial="DISK-1", clock=clock)  # a disk: no host
    return case


def _of(doc: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [n for n in doc["@graph"] if n["@type"] == kind]


def test_the_mapping(tmp_path: Path, alice: ed25519.Signer, clock: FixedClock) -> None:
    doc = caseuco.build(_identified(tmp_path, alice, clock).read_entries().entries)
    people = {n["uco-core:name"]: n for n in _of(doc, "uco-identity:Person")}
    (facet,) = people["Alice"]["uco-core:hasFacet"]
    assert facet["@type"] == "uco-observable:ContactFacet"
    assert facet["uco-observable:contactNote"] == ["+1 555 0100, alice@example.org"]
    assert "uco-core:hasFacet" not in people["Bob"]  # no contact: nothing invented
    devices = {n["uco-core:name"]: n for n in _of(doc, "uco-observable:Device")}
    (dev,) = devices["web01"]["uco-core:hasFacet"]
    assert (dev["uco-observable:serialNumber"], dev["uco-observable:model"]) == ("SN-9", "R640")
    assert devices["DISK-1"]["uco-core:hasFacet"][0]["uco-observable:serialNumber"] == "DISK-1"
    addresses = {
        n["uco-core:hasFacet"][0]["uco-observable:addressValue"]: n["@type"]
        for n in doc["@graph"]
        if n["@type"].endswith("Address")
    }
    assert addresses == {
        "00:1a:2b:3c:4d:5e": "uco-observable:MACAddress",
        "192.0.2.7": "uco-observable:IPv4Address",
        "2001:db8::7": "uco-observable:IPv6Address",
    }
    (first, _) = (n for n in doc["@graph"] if n.get("uco-core:name") == "collected")
    objects = {o["@id"] for o in first["uco-action:object"]}
    assert devices["web01"]["@id"] in objects
    assert {n["@id"] for n in doc["@graph"] if n["@type"].endswith("Address")} <= objects


def test_case_validate_conforms_without_warnings(
    tmp_path: Path, alice: ed25519.Signer, clock: FixedClock
) -> None:
    out = tmp_path / "case.jsonld"
    out.write_bytes(caseuco.dumps(_identified(tmp_path, alice, clock).read_entries().entries))
    run = case_validate(out)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Conforms: True" in run.stdout and "Results (" not in run.stdout, run.stdout
