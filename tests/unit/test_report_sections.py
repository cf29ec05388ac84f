"""Report sections on a case with everything: notes, evidence, custody, lifecycle, backups.

Every expectation is derived from the journal (or the model folded from it), never typed in:
if the renderer drops a row, a digest or a page number, a test here fails.
"""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader

from irkit.backup import manifest as backupmanifest
from irkit.backup import testrestore
from irkit.errors import InputError
from irkit.evidence import custody
from irkit.evidence.collect import collect
from irkit.formats.ed25519 import Signer
from irkit.incident import actions
from irkit.incident.settings import preset
from irkit.notes.notes import add_note
from irkit.record.case import Case
from irkit.report import export
from irkit.report.model import build, human_time
from irkit.report.templates import load, parse
from tests.conftest import FixedClock
from tests.helpers import qpdf_decompressed
from tests.unit.test_report_everything import commitments

SECRET = "Insider is j.doe, badge 4471-Quokka"
LESSON = "Rotate deploy keys monthly"


def _clean(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _pages(pdf: bytes) -> list[str]:
    return [p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages]


@pytest.fixture
def rich(case: Case, alice: Signer, bob: Signer, clock: FixedClock, tmp_path: Path) -> Case:
    """Notes (one confidential lesson), three items, transfers (one in transit), a resolved
    and confirmed incident with a follow-up, and a PASS and a FAIL backup verification."""
    ck = clock
    add_note(case, alice, "Call from the web team", tags=["triage"], clock=ck)
    add_note(case, bob, "Cron job fetched a remote script", tags=["root-cause"], clock=ck)
    add_note(case, bob, SECRET, tags=["lessons-learned"], confidential=True, clock=ck)
    add_note(case, alice, LESSON, tags=["lessons-learned"], clock=ck)
    src = tmp_path / "seized"
    src.mkdir()
    for i, text in enumerate(["auth log", "crontab", "bash history"]):
        (src / f"f{i}.txt").write_text(f"{text}\n" * (i + 1))
    collected = collect(
        case, alice, [src], description="files from web-01", location="rack 4", md5=True, clock=ck
    )
    ids = [i["id"] for i in collected.body["items"]]
    t1 = custody.release(
        case,
        alice,
        ids,
        to=bob.fingerprint,
        purpose="lab analysis",
        location="site office",
        clock=ck,
    )
    custody.accept(case, bob, t1.body["transfer"], condition="seal intact", clock=ck)
    custody.store(case, bob, ids[:1], location="locker 2", clock=ck)
    custody.release(case, bob, ids[1:2], to=alice.fingerprint, purpose="court copy", clock=ck)
    actions.configure(case, alice, preset("itil3", "Europe/Berlin"), reason="desk", clock=ck)
    actions.set_field(case, alice, "impact", "2", reason="one server", clock=ck)
    actions.set_field(case, alice, "urgency", "1", reason="public site", clock=ck)
    actions.set_field(case, alice, "assignee", "Bob", reason="on site", clock=ck)
    actions.change_state(case, bob, "in_progress", reason="on it", clock=ck)
    actions.link(
        case, bob, "known-error", "KE-17", reason="seen before", workaround="disable cron", clock=ck
    )
    resolution = {
        "code": "MALWARE-REMOVED",
        "solution": "removed the cron entry",
        "outcome": "true-positive",
    }
    actions.change_state(case, bob, "resolved", reason="fixed", resolution=resolution, clock=ck)
    actions.confirm(
        case, alice, by="Ms Smith", channel="phone", satisfaction=5, comment="thanks", clock=ck
    )
    actions.followup_schedule(
        case, alice, due=datetime(2026, 2, 1, 9, tzinfo=UTC), note="review cron policy", clock=ck
    )
    good, bad = tmp_path / "good", tmp_path / "bad"
    testrestore.build_five_databases(good)
    testrestore.build_five_databases(bad, empty="payroll")
    manifest = tmp_path / "manifest.json"
    backupmanifest.write(good, manifest)
    for tree in (good, bad):
        result = testrestore.run_verify(tree, manifest=manifest)
        testrestore.record(case, bob, result, sign_off=result.verdict == "PASS", clock=ck)
    return case


def test_incident_report_shows_every_fact_of_the_case(rich: Case) -> None:
    entries = rich.read_entries().entries
    model = build(entries)
    pdf = export.render(entries, "incident", redact=False)
    pages = _pages(pdf)
    flat = _clean("\n".join(pages))
    assert len(model.evidence) == 3 and len(model.backups) == 2 and len(model.notes) == 4
    for item in model.evidence:
        assert item.sha256 in flat, item.id
    for note in model.notes:
        assert _clean(note.author) in flat
        assert _clean(human_time(note.event_time, model.zone)) in flat
        assert _clean(human_time(note.recorded, model.zone)) in flat
    verdicts = [e.body["verdict"] for e in entries if e.kind == "backup.verified"]
    assert sorted(verdicts) == ["FAIL", "PASS"]
    for e in (e for e in entries if e.kind == "backup.verified"):
        row = _clean(human_time(e.recorded, model.zone))
        assert row in flat
        assert e.body["artifact_sha256"] in flat
    # the verdicts sit in their rows: PASS with the sign-off, FAIL on its own
    assert "PASS,signedoff" in flat and "FAIL" in flat
    for e in entries:
        if e.kind.startswith("custody.") or e.kind == "evidence.collected":
            assert _clean(human_time(e.recorded, model.zone)) in flat, e.seq
    total = len(pages)
    assert f"Page 1 of {total}" in pages[0] and f"Page {total} of {total}" in pages[-1]
    for needle in (
        "Executive summary",
        "Document control",
        "MALWARE-REMOVED",
        "removed the cron entry",
        "KE-17: disable cron",
        "Ms Smith",
        "review cron policy",
        LESSON,
        "Cron job fetched a remote script",  # the note tagged root-cause
        "Time to acknowledge",
        "Prepared by",
        "irkit verify --case DIR --trust " + model.opener_fingerprint,
        "irkit report --case DIR --check",
        "openssl",
    ):
        assert _clean(needle) in flat, needle
    summary = _clean(" ".join(model.summary_lines))
    assert summary in flat
    assert (
        "3evidenceitemswerecollected" in summary
        and "2backupentriesrecorded(1PASS,1FAIL)" in summary
    )
    assert "Service levels:" in " ".join(model.summary_lines)


def _contents(pdf: bytes) -> list[tuple[str, int]]:
    """(title, page) pairs as the contents page prints them."""
    reader = PdfReader(io.BytesIO(pdf))
    page = next(p for p in reader.pages if "Contents" in p.extract_text())
    out = []
    for line in page.extract_text(extraction_mode="layout").splitlines():
        hit = re.match(r"^\s*(\S.*?\S)\s{2,}(\d+)\s*$", line)
        if hit:
            out.append((hit.group(1), int(hit.group(2))))
    return out


@pytest.mark.parametrize("template", ["incident", "custody"])
def test_contents_page_numbers_point_at_the_headings(rich: Case, template: str) -> None:
    pdf = export.render(rich.read_entries().entries, template, redact=False)
    pages = _pages(pdf)
    listed = _contents(pdf)
    wanted = [t for t in load(template).sections if t not in ("summary", "contents")]
    assert len(listed) >= len(wanted)
    for title, number in listed:
        assert 1 <= number <= len(pages)
        assert title in pages[number - 1], (title, number)  # the heading is on that page
    # and the outline (bookmarks) agrees: every entry lands on the page the contents name
    reader = PdfReader(io.BytesIO(pdf))
    by_title = {t: n for t, n in listed}
    for entry in reader.outline:
        if isinstance(entry, list):
            continue
        if entry.title in by_title:
            page = reader.get_destination_page_number(entry)
            assert page is not None and page + 1 == by_title[entry.title]


def test_custody_forms_show_every_event_and_the_verification(rich: Case) -> None:
    entries = rich.read_entries().entries
    model = build(entries)
    pdf = export.render(entries, "custody", redact=False)
    flat = _clean("\n".join(_pages(pdf)))
    assert len(model.custody) == 3
    events = 0
    for form in model.custody:
        assert form.item.sha256 in flat and form.item.md5 and form.item.md5 in flat
        assert _clean(f"{form.item.id} — {form.item.description}") in flat
        for v in form.events:
            events += 1
            assert _clean(v.at) in flat and _clean(v.giver) in flat and _clean(v.receiver) in flat
            # the case's zone (its settings: Europe/Berlin) with UTC, to the second
            assert v.signature == "valid" and re.search(r"CES?T \(\S+ UTC\)", v.at)
        assert not form.problems
    # collected for all 3, released+accepted for all 3, stored E-0001, released E-0002
    assert events == 3 * 3 + 2
    assert flat.count("custodychainverified") == 3
    transit = next(f for f in model.custody if f.item.id == "E-0002")
    assert transit.status.startswith("in transit (T-0002)")
    assert _clean(transit.status) in flat
    assert "locker2" in flat and "sealintact" in flat and "notrecorded" in flat
    assert "Contact" in flat  # the column is there, honestly "not recorded" when unknown


def test_custody_form_flags_a_forged_step(rich: Case) -> None:
    """A custody entry whose bytes were changed after signing shows as a problem."""
    path = rich.root / "journal.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    at = next(i for i, ln in enumerate(lines) if b'"custody.stored"' in ln)
    lines[at] = lines[at].replace(b"locker 2", b"locker 9")
    path.write_bytes(b"".join(lines))
    rich.invalidate_state()
    model = build(rich.read_entries().entries)
    form = next(f for f in model.custody if f.item.id == "E-0001")
    assert any("signature: INVALID" in p for p in form.problems)
    flat = _clean("\n".join(_pages(export.render(rich.read_entries().entries, "custody", False))))
    assert "PROBLEMS:" in flat and "INVALID" in flat


@pytest.mark.parametrize("template", ["incident", "custody", "backup-signoff"])
def test_reproducible_and_structurally_valid(rich: Case, tmp_path: Path, template: str) -> None:
    entries = rich.read_entries().entries
    pdf = export.render(entries, template, redact=False)
    assert pdf == export.render(entries, template, redact=False)
    qpdf = shutil.which("qpdf")
    if qpdf is None:
        pytest.skip("qpdf is not installed")
    path = tmp_path / "r.pdf"
    path.write_bytes(pdf)
    done = subprocess.run([qpdf, "--check", str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("template", ["incident", "custody"])
def test_redaction_covers_every_section(rich: Case, tmp_path: Path, template: str) -> None:
    entries = rich.read_entries().entries
    plain = export.render(entries, template, redact=False)
    pdf = export.render(entries, template, redact=True)
    raw = qpdf_decompressed(pdf, tmp_path)
    reader = PdfReader(io.BytesIO(pdf))
    text = "\n".join(p.extract_text() for p in reader.pages)
    meta = " ".join(str(v) for v in (reader.metadata or {}).values())
    outline = " ".join(str(o.title) for o in reader.outline if not isinstance(o, list))
    for needle in ("j.doe", "4471-Quokka", "Insider"):
        for where in (pdf, raw, meta.encode(), outline.encode(), text.encode()):
            assert needle.encode() not in where
    if template == "incident":
        # the secret is a tagged lesson: both the notes table and "Lessons learned" show it
        assert "Quokka" in "\n".join(_pages(plain))
        (shown,) = commitments(entries, SECRET)
        assert _clean(text).count(_clean(shown)) == 2
        assert _clean(LESSON) in _clean(text)


def test_template_keys_and_sections_are_checked() -> None:
    ok = parse("t", 'reviewers = "Carol (CISO)"\nsections = ["summary", "sign_off"]\n')
    assert ok.reviewers == "Carol (CISO)" and ok.sections == ("summary", "sign_off")
    with pytest.raises(InputError, match="unknown keys"):
        parse("t", 'reviewer = "x"\nsections = ["summary"]\n')
    with pytest.raises(InputError, match="unknown sections"):
        parse("t", 'sections = ["summary", "lesons_learned"]\n')


def test_sections_say_not_recorded_on_an_empty_case(case: Case) -> None:
    pdf = export.render(case.read_entries().entries, "incident", redact=False)
    flat = _clean("\n".join(_pages(pdf)))
    for needle in (
        "Notresolvedinthejournalshown",
        "Nocustomerconfirmationrecorded",
        "Notrecorded:nolessons-learnedincidentfield",
    ):
        assert needle in flat
    assert (
        hashlib.sha256(pdf).hexdigest()
        == hashlib.sha256(
            export.render(case.read_entries().entries, "incident", redact=False)
        ).hexdigest()
    )


def test_confidential_lifecycle_text_is_withheld(
    case: Case, alice: Signer, bob: Signer, clock: FixedClock, tmp_path: Path
) -> None:
    """Fields, consent, escalation, workaround, resolution, confirmation and follow-up
    marked confidential show only their digest in a redacted report, and in full otherwise."""
    ck = clock
    actions.configure(case, alice, preset("itil3", "Europe/Berlin"), reason="desk", clock=ck)
    actions.set_field(
        case, alice, "assets", "hr-db-Wombat", reason="x", confidential=True, clock=ck
    )
    actions.set_field(case, alice, "assignee", "Bob", reason="on site", clock=ck)
    actions.consent_grant(
        case,
        alice,
        by="Mr Numbat",
        scope="read mailbox",
        method="phone",
        confidential=True,
        clock=ck,
    )
    actions.change_state(case, bob, "in_progress", reason="on it", clock=ck)
    actions.escalate(
        case,
        bob,
        kind="hierarchical",
        team="legal",
        reason="payroll of Ms Quoll",
        confidential=True,
        clock=ck,
    )
    actions.link(
        case,
        bob,
        "known-error",
        "KE-9",
        reason="seen",
        workaround="ask Dingo to reset",
        confidential=True,
        clock=ck,
    )
    resolution = {"code": "FIXED", "solution": "revoked Bilby token", "outcome": "true-positive"}
    actions.change_state(
        case, bob, "resolved", reason="fixed", resolution=resolution, confidential=True, clock=ck
    )
    actions.confirm(
        case,
        alice,
        by="Ms Echidna",
        channel="phone",
        satisfaction=4,
        comment="call Wallaby",
        confidential=True,
        clock=ck,
    )
    actions.followup_schedule(
        case,
        alice,
        due=datetime(2026, 2, 1, 9, tzinfo=UTC),
        note="audit Possum account",
        confidential=True,
        clock=ck,
    )
    secrets = {
        "hr-db-Wombat": "hr-db-Wombat",
        "Numbat": "Mr Numbat",
        "Quoll": "payroll of Ms Quoll",
        "Dingo": "ask Dingo to reset",
        "Bilby": "revoked Bilby token",
        "Echidna": "Ms Echidna",
        "Wallaby": "call Wallaby",
        "Possum": "audit Possum account",
    }
    entries = case.read_entries().entries
    plain = "\n".join(_pages(export.render(entries, "incident", redact=False)))
    pdf = export.render(entries, "incident", redact=True)
    text = _clean("\n".join(_pages(pdf)))
    raw = qpdf_decompressed(pdf, tmp_path)
    for needle, full in secrets.items():
        assert needle in plain, needle
        assert needle.encode() not in pdf and needle.encode() not in raw, needle
        (shown,) = commitments(entries, full)
        assert _clean(shown) in text, needle
    assert "Bob" in text  # what was not marked stays readable


def test_long_tables_repeat_their_header_on_every_page(
    case: Case, alice: Signer, tmp_path: Path
) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    for i in range(150):
        (folder / f"host-{i:03d}.log").write_text(f"log {i}\n")
    collect(case, alice, [folder], description="many logs")
    pages = _pages(export.render(case.read_entries().entries, "incident", redact=False))
    with_rows = [p for p in pages if re.search(r"E-0\d{3}", p) and "host-" in p]
    assert len(with_rows) >= 3  # the inventory spans several pages
    for page in with_rows:
        assert "Path as collected" in page and "SHA-256" in page


@pytest.mark.parametrize("template", ["incident", "custody"])
def test_confidential_collection_withholds_paths_and_description(
    case: Case, alice: Signer, tmp_path: Path, template: str
) -> None:
    folder = tmp_path / "home-kangaroo"
    folder.mkdir()
    secret_file = folder / "platypus-payroll.xlsx"
    secret_file.write_bytes(b"salaries")
    collect(case, alice, [folder], description="laptop of Mr Koala", confidential=True)
    collect(case, alice, [tmp_path / "home-kangaroo"], description="second copy, public")
    entries = case.read_entries().entries
    plain = _clean("\n".join(_pages(export.render(entries, template, redact=False))))
    pdf = export.render(entries, template, redact=True)
    text = _clean("\n".join(_pages(pdf)))
    raw = qpdf_decompressed(pdf, tmp_path)
    assert "Koala" in plain and "platypus" in plain
    (path,) = commitments(entries, str(secret_file))
    (description,) = commitments(entries, "laptop of Mr Koala")
    assert _clean(path) in text and _clean(description) in text
    assert b"Koala" not in raw and b"Koala" not in pdf
    # the second, public collection of the same folder still shows its paths
    assert "platypus" in text
