"""Issue #18, "commands people look for": note list/show/search, timeline filters,
evidence export and the store path, case list, log --kind, custody show's final step."""

from __future__ import annotations

import json
import os
from pathlib import Path

from irkit.formats import ed25519
from irkit.record.case import Case
from tests.conftest import KeyFiles, Runner


def _notes(irkit: Runner, key_files: KeyFiles, case: Case) -> None:
    def add(*args: str, key: Path = key_files.alice) -> None:
        r = irkit("note", "add", *args, key=key, case=case.root)
        assert r.exit_code == 0, r.output

    add("Server powered on, console locked", "--tag", "onsite", "-t", "2026-01-01T10:00Z")
    add(
        "Copied auth.log from web-01", "--tag", "onsite", "--tag", "logs", "-t", "2026-01-01T11:00Z"
    )
    add("Called the customer", "-t", "2026-01-01T12:00Z", key=key_files.bob)


def test_note_list_show_search(irkit: Runner, key_files: KeyFiles, case: Case) -> None:
    _notes(irkit, key_files, case)  # seqs 2, 3, 4 (0 opened, 1 added Bob)
    out = irkit("note", "list", case=case.root).output
    assert [ln.split()[0] for ln in out.splitlines()] == ["#2", "#3", "#4"]
    assert "2026-01-01 10:00:00 UTC" in out and "Bob" in out
    tagged = irkit("note", "list", "--tag", "onsite", "--tag", "logs", case=case.root).output
    assert [ln.split()[0] for ln in tagged.splitlines()] == ["#3"]
    by_bob = json.loads(irkit("note", "list", "--author", "bob", "--json", case=case.root).output)
    assert [n["seq"] for n in by_bob] == [4]
    fp = json.loads(
        irkit(
            "note",
            "list",
            "--author",
            "ed25519:" + by_bob[0]["actor"][8:20],
            "--json",
            case=case.root,
        ).output
    )
    assert [n["seq"] for n in fp] == [4]
    nobody = irkit("note", "list", "--author", "carol", case=case.root)
    assert nobody.exit_code == 2 and "members: Alice" in nobody.stderr
    since = irkit("note", "list", "--since", "2026-01-01T10:30Z", case=case.root).output
    assert [ln.split()[0] for ln in since.splitlines()] == ["#3", "#4"]
    none = irkit("note", "list", "--tag", "nope", case=case.root)
    assert "no notes match (tags in use: logs, onsite)" in none.output

    found = irkit("note", "search", "AUTH.LOG", case=case.root)
    assert found.exit_code == 0 and found.output.split()[0] == "#3"
    missing = irkit("note", "search", "ransom", case=case.root)
    assert missing.exit_code == 1 and "no notes match" in missing.stderr

    r = irkit(
        "note",
        "correct",
        "3",
        "Copied auth.log and syslog",
        "--reason",
        "more",
        key=key_files.alice,
        case=case.root,
    )
    assert r.exit_code == 0 and r.output.startswith("#5 corrects #3")
    current = irkit("note", "list", case=case.root).output  # superseded: hidden
    assert [ln.split()[0] for ln in current.splitlines()] == ["#2", "#5", "#4"]
    every = irkit("note", "list", "--all", case=case.root).output
    assert "(superseded by #5)" in every and "(corrects #3)" in every
    assert "#5" in irkit("note", "search", "syslog", case=case.root).output

    shown = irkit("note", "show", "5", case=case.root)
    assert shown.exit_code == 0
    assert "corrects #3: more" in shown.output and "| Copied auth.log and syslog" in shown.output
    assert json.loads(irkit("note", "show", "5", "--json", case=case.root).output)["corrects"] == 3
    assert irkit("note", "show", "1", case=case.root).exit_code == 2  # member.added


def test_timeline_filters(irkit: Runner, key_files: KeyFiles, case: Case) -> None:
    _notes(irkit, key_files, case)
    out = irkit("timeline", "--tag", "logs", case=case.root).output
    assert "#3" in out and "#2" not in out and "#4" not in out
    out = irkit("timeline", "--author", "Bob", case=case.root).output
    assert "#4" in out and "#2" not in out
    assert "written 2026-" in out and " UTC" in out


def test_evidence_export(irkit: Runner, key_files: KeyFiles, case: Case, tmp_path: Path) -> None:
    src = tmp_path / "auth.log"
    src.write_bytes(b"log line\n" * 1000)
    os.utime(src, (1_700_000_000, 1_700_000_000))
    assert (
        irkit("evidence", "collect", str(src), key=key_files.alice, case=case.root).exit_code == 0
    )
    shown = json.loads(irkit("evidence", "show", "E-0001", "--json", case=case.root).output)
    stored = Path(shown["stored_at"])
    assert stored.read_bytes() == src.read_bytes()
    assert f"stored_at:     {stored}" in irkit("evidence", "show", "E-0001", case=case.root).output

    out = tmp_path / "out"
    out.mkdir()
    r = irkit("evidence", "export", "E-0001", "-o", str(out), case=case.root)
    assert r.exit_code == 0 and "verified" in r.output
    copy = out / "auth.log"  # a folder: the original name
    assert copy.read_bytes() == src.read_bytes()
    assert int(copy.stat().st_mtime) == 1_700_000_000
    copy.write_bytes(b"mine")
    again = irkit("evidence", "export", "E-0001", "-o", str(copy), case=case.root)
    assert again.exit_code == 2 and "exists" in again.stderr and "--force" in again.stderr
    assert copy.read_bytes() == b"mine"
    forced = irkit("evidence", "export", "E-0001", "-o", str(copy), "--force", case=case.root)
    assert forced.exit_code == 0 and copy.read_bytes() == src.read_bytes()
    assert (
        irkit("evidence", "export", "E-0009", "-o", str(out / "x"), case=case.root).exit_code == 2
    )

    # a store copy that no longer matches is never handed out, and nothing is left behind
    stored.chmod(0o644)
    stored.write_bytes(b"tampered" + src.read_bytes()[8:])
    bad = irkit("evidence", "export", "E-0001", "-o", str(out / "bad.log"), case=case.root)
    assert bad.exit_code == 1 and "no longer matches" in bad.stderr
    assert sorted(p.name for p in out.iterdir()) == ["auth.log"]


def test_export_by_reference_refused(
    irkit: Runner, key_files: KeyFiles, case: Case, tmp_path: Path
) -> None:
    src = tmp_path / "disk.img"
    src.write_bytes(b"disk")
    irkit("evidence", "collect", str(src), "--by-reference", key=key_files.alice, case=case.root)
    r = irkit("evidence", "export", "E-0001", "-o", str(tmp_path / "x"), case=case.root)
    assert r.exit_code == 2 and "by reference" in r.stderr and not (tmp_path / "x").exists()


def test_case_list(irkit: Runner, key_files: KeyFiles, tmp_path: Path) -> None:
    cases = tmp_path / "cases"
    for name in ("A-1", "B-2"):
        r = irkit(
            "init",
            str(cases / "2026" / name),
            "--title",
            f"case {name}",
            "--id",
            name,
            key=key_files.alice,
        )
        assert r.exit_code == 0, r.output
    b = cases / "2026" / "B-2"
    for args in (
        ("case", "set", "impact", "1"),
        ("case", "set", "urgency", "1"),
        ("case", "assign", "Alice"),
    ):
        assert irkit(*args, key=key_files.alice, case=b).exit_code == 0
    rows = json.loads(irkit("case", "list", str(cases), "--json").output)
    assert [(r["case_id"], r["state"], r["priority"]) for r in rows] == [
        ("A-1", "new", None),
        ("B-2", "assigned", 1),
    ]
    text = irkit("case", "list", str(cases)).output
    assert "A-1" in text and "case B-2" in text and "assigned" in text
    (cases / "broken").mkdir()
    (cases / "broken" / "irkit-case.json").write_text("{")
    r = irkit("case", "list", str(cases))
    assert r.exit_code == 1 and "unreadable" in r.output and "broken" in r.stderr
    assert "no cases under" in irkit("case", "list", str(tmp_path / "home")).output


def test_log_kind(irkit: Runner, key_files: KeyFiles, case: Case) -> None:
    irkit("note", "add", "n", key=key_files.alice, case=case.root)
    typo = irkit("log", "--kind", "note.add", case=case.root)
    assert typo.exit_code == 2 and "kinds: " in typo.stderr and "note.added" in typo.stderr
    family = irkit("log", "--kind", "note", case=case.root)
    assert family.exit_code == 0 and "note.added" in family.output
    assert "member.added" not in family.output
    empty = irkit("log", "--kind", "custody.*", case=case.root)
    assert empty.exit_code == 2 and "kinds in this journal: case.opened" in empty.stderr


def test_custody_show_final_step(
    irkit: Runner, key_files: KeyFiles, case: Case, bob: ed25519.Signer, tmp_path: Path
) -> None:
    src = tmp_path / "usb.img"
    src.write_bytes(b"usb")
    irkit("evidence", "collect", str(src), key=key_files.alice, case=case.root)
    r = irkit(
        "custody",
        "return",
        "E-0001",
        "--reason",
        "back to owner",
        key=key_files.alice,
        case=case.root,
    )
    assert r.exit_code == 0, r.output
    text = irkit("custody", "show", "E-0001", case=case.root).output
    assert "custody.returned" in text and "back to owner" in text and "final: returned" in text
    data = json.loads(irkit("custody", "show", "E-0001", "--json", case=case.root).output)
    assert [c["event"] for c in data["chain"]] == ["evidence.collected", "custody.returned"]
    assert data["final"] == "returned"
