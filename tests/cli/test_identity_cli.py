"""Identifying details from the command line: `--contact` on `init` and `member add`, shown
by `member list`; `--serial/--model/--mac/--ip` on `evidence collect`, shown by `evidence
show/list`; bad values are one line and exit 2, with nothing written."""

from __future__ import annotations

import json
from pathlib import Path

from irkit.record.case import Case
from tests.conftest import KeyFiles, Runner


def test_contacts(irkit: Runner, key_files: KeyFiles, tmp_path: Path) -> None:
    case = tmp_path / "c"
    r = irkit("init", str(case), "--title", "T", "--contact", "+1 555 0100", key=key_files.alice)
    assert r.exit_code == 0, r.output
    pub = tmp_path / "bob.pem"
    pub.write_text(irkit("key", "export-public", str(key_files.bob)).stdout)
    r = irkit("member", "add", str(pub), "--name", "Bob", "--role", "responder",
              "--contact", "bob@example.org\x1b[2J", key=key_files.alice, case=case)  # fmt: skip
    assert r.exit_code == 0, r.output
    rows = json.loads(irkit("member", "list", "--json", case=case).stdout)
    assert [row["contact"] for row in rows] == ["+1 555 0100", "bob@example.org\x1b[2J"]
    shown = irkit("member", "list", case=case).stdout
    assert "Alice <+1 555 0100>" in shown
    assert "\x1b" not in shown and "bob@example.org" in shown  # escaped, not obeyed


def test_a_blank_contact_is_refused(
    irkit: Runner, key_files: KeyFiles, case: Case, tmp_path: Path
) -> None:
    size = case.journal_path.stat().st_size
    pub = tmp_path / "mallory.pem"
    pub.write_text(irkit("key", "export-public", str(key_files.mallory)).stdout)
    keys = sorted(p.name for p in case.root.rglob("*.pub*"))
    r = irkit("member", "add", str(pub), "--name", "M", "--role", "responder",
              "--contact", "  ", key=key_files.alice, case=case.root)  # fmt: skip
    assert r.exit_code == 2 and "a contact cannot be empty" in r.stderr, r.output
    assert "Traceback" not in r.output
    assert case.journal_path.stat().st_size == size
    assert sorted(p.name for p in case.root.rglob("*.pub*")) == keys  # no key file left
    r = irkit("init", str(tmp_path / "c2"), "--title", "T", "--contact", "",
              key=key_files.alice)  # fmt: skip
    assert r.exit_code == 2 and not (tmp_path / "c2").exists()


def test_source_identifiers(irkit: Runner, key_files: KeyFiles, case: Case, tmp_path: Path) -> None:
    src = tmp_path / "auth.log"
    src.write_text("log")
    r = irkit("evidence", "collect", str(src), "--serial", "SN-1", "--model", "R640",
              "--mac", "00-1A-2B-3C-4D-5E", "--mac", "00:1a:2b:3c:4d:5f", "--ip", "192.0.2.7",
              "--ip", "2001:DB8::7", key=key_files.alice, case=case.root)  # fmt: skip
    assert r.exit_code == 0, r.output
    want = {
        "source_serial": "SN-1",
        "source_model": "R640",
        "source_mac": ["00:1a:2b:3c:4d:5e", "00:1a:2b:3c:4d:5f"],
        "source_ip": ["192.0.2.7", "2001:db8::7"],
    }
    shown = json.loads(irkit("evidence", "show", "E-0001", "--json", case=case.root).stdout)
    assert {k: shown.get(k) for k in want} == want
    (listed,) = json.loads(irkit("evidence", "list", "--json", case=case.root).stdout)
    assert {k: listed.get(k) for k in want} == want
    text = irkit("evidence", "show", "E-0001", case=case.root).stdout
    assert "source_mac:    00:1a:2b:3c:4d:5e, 00:1a:2b:3c:4d:5f" in text
    assert "source_ip:     192.0.2.7, 2001:db8::7" in text


def test_bad_identifiers_are_one_line_and_nothing_is_written(
    irkit: Runner, key_files: KeyFiles, case: Case, tmp_path: Path
) -> None:
    src = tmp_path / "auth.log"
    src.write_text("log")
    size = case.journal_path.stat().st_size
    for args, said in (
        (("--mac", "00:1a:2b"), "invalid MAC address '00:1a:2b'"),
        (("--ip", "300.1.1.1"), "invalid IP address '300.1.1.1'"),
        (("--serial", ""), None),  # empty: as if not given
        (("--model", "x" * 201), "--model must be 1 to 200 characters"),
    ):
        r = irkit("evidence", "collect", str(src), *args, key=key_files.alice, case=case.root)
        if said is None:
            assert r.exit_code == 0, r.output
            size = case.journal_path.stat().st_size
            continue
        assert r.exit_code == 2, r.output
        assert said in r.stderr and "Traceback" not in r.output
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert case.journal_path.stat().st_size == size
