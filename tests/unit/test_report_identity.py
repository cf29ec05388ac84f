"""Identifying details in reports: each handler's contact on the custody form beside their
name and role, the source's serial, model, MAC and IP on the item's form, and "not
recorded" (never a blank) where the journal gives none."""

from __future__ import annotations

import io
import re
from pathlib import Path

from pypdf import PdfReader

from irkit.evidence import collect, custody
from irkit.formats.ed25519 import Signer
from irkit.record.case import add_member, init_case
from irkit.report import export
from tests.conftest import FixedClock, seeded_signer


def _flat(pdf: bytes) -> str:
    return re.sub(r"\s+", "", "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages))


def test_custody_form_shows_contacts_and_source_identifiers(
    tmp_path: Path, alice: Signer, bob: Signer, clock: FixedClock
) -> None:
    case = init_case(tmp_path / "case", title="T", case_id="TEST-1", signer=alice,
                     contact="+1 555 0100", clock=clock)  # fmt: skip
    add_member(case, alice, bob.public, name="Bob", role="responder", clock=clock)
    carol = seeded_signer("carol")
    add_member(case, alice, carol.public, name="Carol", role="technician",
               contact="carol@lab.example", clock=clock)  # fmt: skip
    src = tmp_path / "disk.img"
    src.write_bytes(b"image")
    collect.collect(case, alice, [src], source_host="laptop-7", serial="PF2XYZ9",
                    model="ThinkPad T14", macs=["3c:52:82:00:11:22"],
                    ips=["198.51.100.23", "fe80::1"], clock=clock)  # fmt: skip
    t = custody.release(case, alice, ["E-0001"], to="Carol", purpose="imaging",
                        method="in person", clock=clock)  # fmt: skip
    custody.accept(case, carol, t.body["transfer"], clock=clock)
    plain = tmp_path / "other.log"
    plain.write_text("x\n")
    collect.collect(case, bob, [plain], clock=clock)  # Bob: no contact, nothing identified
    entries = case.read_entries().entries
    flat = _flat(export.render(entries, "custody", redact=False))
    for text in ("+1 555 0100", "carol@lab.example", "PF2XYZ9", "ThinkPad T14",
                 "3c:52:82:00:11:22", "198.51.100.23, fe80::1"):  # fmt: skip
        assert re.sub(r"\s+", "", text) in flat, text
    # E-0002's form: Bob's contact, its serial, model, MAC and IP are all "not recorded"
    second = flat[flat.index("Serialno.", flat.rindex("E-0002")) :]
    assert second.startswith("Serialno.notrecordedModelnotrecordedMACaddressesnotrecorded")
    assert "Bobresponder" + "notrecorded" in flat
    # in the form's handlers table: name, role, contact, key (the members table has a status)
    assert f"Caroltechniciancarol@lab.example{carol.fingerprint}" in flat
    assert f"Alicelead+15550100{alice.fingerprint}" in flat
    incident = _flat(export.render(entries, "incident", redact=False))
    assert "Sourcesystemsasidentified" in incident and "PF2XYZ9" in incident
    assert "Caroltechniciancarol@lab.example" in incident  # the members table
