"""`--template PATH` and $IRKIT_HOME/templates/ for reports and note checklists."""

from __future__ import annotations

import io
import re
from pathlib import Path

from pypdf import PdfReader

from irkit.record.case import Case
from tests.conftest import KeyFiles, Runner


def _png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (60, 20), (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


def _text(pdf: bytes) -> str:
    return re.sub(r"\s+", "", "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages))


def test_report_from_an_organisation_template_file(
    irkit: Runner, case: Case, key_files: KeyFiles, tmp_path: Path
) -> None:
    folder = tmp_path / "org"
    folder.mkdir()
    (folder / "logo.png").write_bytes(_png())
    template = folder / "acme.toml"
    template.write_text(
        'title = "ACME incident brief"\norganisation = "ACME Corp CSIRT"\n'
        'classification = "ACME INTERNAL"\ntlp = "TLP:AMBER"\n'
        'reviewers = "Dana (CISO)"\ndistribution = "CSIRT only"\nlogo = "logo.png"\n'
        'sections = ["summary", "document_control", "notes", "sign_off"]\n'
    )
    out = tmp_path / "r.pdf"
    done = irkit(
        "report", "--template", str(template), "-o", str(out), key=key_files.alice, case=case.root
    )
    assert done.exit_code == 0, done.output
    pdf = out.read_bytes()
    flat = _text(pdf)
    for needle in (
        "ACMEincidentbrief",
        "ACMECorpCSIRT",
        "TLP:AMBER·ACMEINTERNAL",
        "Dana(CISO)",
        "CSIRTonly",
    ):
        assert needle in flat, needle
    assert b"/Subtype /Image" in pdf or b"/Subtype/Image" in pdf
    assert "Evidence(" not in flat  # the template's sections, in its order, nothing else
    check = irkit("report", "--check", str(out), case=case.root)
    assert check.exit_code == 0 and "IDENTICAL" in check.output, check.output


def test_bad_template_files_say_why(
    irkit: Runner, case: Case, key_files: KeyFiles, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.toml"
    (tmp_path / "fake.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"junk" * 10)
    for text, why in (
        ('tlp = "TLP:PINK"\nsections = ["summary"]\n', "tlp"),
        ('logo = "missing.png"\nsections = ["summary"]\n', "cannot read logo"),
        ('sections = ["summary", "nope"]\n', "unknown sections"),
        ('logo = "fake.png"\nsections = ["summary"]\n', "cannot be read as an image"),
    ):
        bad.write_text(text)
        done = irkit(
            "report",
            "--template",
            str(bad),
            "-o",
            str(tmp_path / "x.pdf"),
            key=key_files.alice,
            case=case.root,
        )
        assert done.exit_code == 2 and why in done.output, done.output
        assert not (tmp_path / "x.pdf").exists()
    missing = irkit(
        "report", "--template", str(tmp_path / "none.toml"), key=key_files.alice, case=case.root
    )
    assert missing.exit_code == 2 and "no report template file" in missing.output


def test_user_folder_templates_for_reports_and_notes(
    irkit: Runner, case: Case, key_files: KeyFiles, tmp_path: Path, isolated_env: Path
) -> None:
    reports = isolated_env / "templates" / "reports"
    notes = isolated_env / "templates" / "notes"
    reports.mkdir(parents=True)
    notes.mkdir(parents=True)
    (reports / "brief.toml").write_text('title = "Brief"\nsections = ["summary", "notes"]\n')
    (notes / "phone-call.toml").write_text(
        'title = "Phone call"\n[[fields]]\nname = "caller"\nlabel = "Caller"\n'
    )
    answers = tmp_path / "answers.txt"
    answers.write_text("caller: Ms Smith\n")
    done = irkit(
        "note",
        "add",
        "--template",
        "phone-call",
        "--from-file",
        str(answers),
        key=key_files.alice,
        case=case.root,
    )
    assert done.exit_code == 0, done.output
    file_tpl = tmp_path / "door-check.toml"
    file_tpl.write_text('title = "Door"\n[[fields]]\nname = "door"\nlabel = "Door"\n')
    answers.write_text("door: locked\n")
    done = irkit(
        "note",
        "add",
        "--template",
        str(file_tpl),
        "--from-file",
        str(answers),
        key=key_files.alice,
        case=case.root,
    )
    assert done.exit_code == 0, done.output
    entries = case.read_entries().entries
    assert [e.body.get("template") for e in entries[-2:]] == ["phone-call", "door-check"]
    out = tmp_path / "b.pdf"
    done = irkit(
        "report", "--template", "brief", "-o", str(out), key=key_files.alice, case=case.root
    )
    assert done.exit_code == 0, done.output
    flat = _text(out.read_bytes())
    assert "Brief" in flat and "Caller:MsSmith" in flat and "Door:locked" in flat
