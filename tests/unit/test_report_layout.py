"""Any note, any field, any size renders in every report template (no reportlab LayoutError
"Flowable too large"), and the PDF stays reproducible."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from irkit.formats.ed25519 import Signer
from irkit.record.case import Case
from irkit.report.cells import CELL_HEIGHT, CELL_LINES, split_tall
from irkit.report.export import render
from tests.conftest import KeyFiles, Runner

LOG_40 = "\n".join(
    f"2026-11-22T14:{i:02d}:07 web-01 sshd[4{i:03d}]: Failed password for invalid user "
    f"admin{i} from 203.0.113.{i} port 5{i:04d} ssh2"
    for i in range(40)
)  # about 4.4 KB: the note that broke `irkit report`
BIG = "\n".join(f"line {i}: " + "lorem ipsum dolor sit amet " * 5 for i in range(300))  # 40 KB
UNBROKEN = "x" * 10_000  # one line, no space to break at
LONG_PATH = "/" + "/".join(f"dir{i:03d}-" + "p" * 60 for i in range(120)) + "/file.log"
DIGESTS = " ".join("sha256:" + "ab" * 32 for _ in range(80))

FIELDS = {
    "40-log-lines": LOG_40,
    "40-KB": BIG,
    "10000-char-line": UNBROKEN,
    "long-path": LONG_PATH,
    "digests": DIGESTS,
}


@pytest.fixture
def huge_case(irkit: Runner, case: Case, key_files: KeyFiles, bob: Signer, tmp_path: Path) -> Case:
    """Every free-text field a report shows, each far taller than a page."""
    alice_run = {"key": key_files.alice, "case": case.root}

    def ok(*args: str, key: Path = key_files.alice) -> str:
        out = irkit(*args, key=key, case=case.root)
        assert out.exit_code == 0, out.output
        return out.output

    for text in FIELDS.values():
        ok("note", "add", text)
    # the Paragraph cells: a witnessed, confidential note and a correction of a long one
    seq = json.loads(ok("note", "add", BIG + UNBROKEN, "--confidential", "--json"))["seq"]
    ok("note", "witness", str(seq), key=key_files.bob)
    ok("note", "correct", str(seq), LOG_40 + UNBROKEN, "--reason", "r" * 200)
    src = tmp_path / "src.log"
    src.write_text("data\n", encoding="utf-8")
    ok("evidence", "collect", str(src), "--description", BIG, "--location", UNBROKEN)
    # a path as long as the body allows (stored bodies may carry any length)
    first = json.loads(ok("log", "--json", "--kind", "evidence.collected"))[0]["body"]
    item = dict(first["items"][0], id="E-0002", path=LONG_PATH + UNBROKEN)
    case.append(
        seeded_alice(),
        "evidence.collected",
        dict(first, items=[item], description=DIGESTS, location=LOG_40),
    )
    ok(
        "custody",
        "release",
        "E-0001",
        "--to",
        bob.fingerprint,
        "--purpose",
        "p" * 200,
        "--location",
        BIG,
        "--method",
        UNBROKEN,
    )
    ok("custody", "accept", "T-0001", "--condition", LOG_40 + UNBROKEN, key=key_files.bob)
    for name in ("root-cause", "lessons-learned"):  # free text, at most 4000 characters
        ok("case", "set", name, (UNBROKEN[:2000] + LOG_40)[:4000], "--reason", LOG_40[:200])
    ok("case", "set", "assets", ",".join(f"host-{i:04d}" for i in range(300)), "--reason", "r")
    case.append(
        seeded_alice(),
        "backup.verified",
        {
            "artifact": "/" + "b" * 199,
            "artifact_kind": "directory",
            "artifact_sha256": "0" * 64,
            "manifest_sha256": "1" * 64,
            "spec_sha256": None,
            "verdict": "FAIL",
            **dict.fromkeys(("matched", "changed", "missing", "extra", "moved", "refused"), 2**40),
            "checks_failed": 3,
            "restored_files": 1,
            "restored_bytes": 1,
            "restore_ms": 1,
            "result_sha256": "2" * 64,
            "signed_off": True,
        },
    )
    del alice_run
    return case


def seeded_alice() -> Signer:
    from tests.conftest import seeded_signer

    return seeded_signer("alice", "lead")


@pytest.mark.parametrize("redact", [False, True], ids=["full", "redacted"])
@pytest.mark.parametrize("template", ["incident", "custody", "backup-signoff"])
def test_every_template_renders_huge_fields(huge_case: Case, template: str, redact: bool) -> None:
    entries = huge_case.read_entries().entries
    pdf = render(entries, template, redact)
    assert pdf.startswith(b"%PDF-")
    assert render(entries, template, redact) == pdf  # still reproducible byte for byte


@pytest.mark.parametrize("template", ["incident", "custody", "backup-signoff"])
def test_cli_exports_huge_fields(
    irkit: Runner, huge_case: Case, key_files: KeyFiles, template: str
) -> None:
    out = irkit(
        "report",
        "--template",
        template,
        "-o",
        f"{template}.pdf",
        key=key_files.alice,
        case=huge_case.root,
    )
    assert out.exit_code == 0, out.output
    check = irkit("report", "--check", f"{template}.pdf", case=huge_case.root)
    assert check.exit_code == 0, check.output


@pytest.mark.parametrize("name", sorted(FIELDS))
def test_single_huge_note_renders(case: Case, alice: Signer, name: str) -> None:
    case.append(alice, "note.added", {"text": FIELDS[name]})
    assert render(case.read_entries().entries, "incident", False).startswith(b"%PDF-")


def test_rows_that_fit_are_left_alone() -> None:
    """Only what could not render is cut, so earlier reports keep their bytes."""
    rows = [["#1", "short", "a\nb"], ["#2", "x" * 10, "\n".join("l" * CELL_LINES)]]
    assert split_tall(rows, [30.0, 30.0, 300.0], 5.0) is not rows
    assert split_tall(rows, [30.0, 30.0, 300.0], 5.0) == rows


def test_tall_plain_cell_goes_on_in_continuation_rows() -> None:
    text = "\n".join(f"l{i}" for i in range(3 * CELL_LINES + 1))
    out = split_tall([["#7", "when", text]], [30.0, 30.0, 300.0], 5.0)
    assert len(out) == 4
    assert out[0][:2] == ["#7", "when"] and [r[0] for r in out[1:]] == ["(cont.)"] * 3
    assert "\n".join(r[2] for r in out) == text  # nothing lost, nothing added
    assert max(r[2].count("\n") + 1 for r in out) <= CELL_LINES
    assert CELL_LINES * 9.2 <= CELL_HEIGHT


def test_contents_longer_than_a_page_go_on(
    irkit: Runner, case: Case, key_files: KeyFiles, alice: Signer, tmp_path: Path
) -> None:
    """The custody report lists up to 200 forms in its contents: more than a page."""
    src = tmp_path / "one.log"
    src.write_text("x", encoding="utf-8")
    out = irkit("evidence", "collect", str(src), key=key_files.alice, case=case.root)
    assert out.exit_code == 0, out.output
    first = json.loads(
        irkit("log", "--json", "--kind", "evidence.collected", case=case.root).output
    )
    body = first[0]["body"]
    items = [dict(body["items"][0], id=f"E-{n:04d}") for n in range(2, 201)]
    case.append(alice, "evidence.collected", dict(body, items=items))
    pdf = render(case.read_entries().entries, "custody", False)
    assert pdf.startswith(b"%PDF-")
