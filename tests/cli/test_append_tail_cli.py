"""The issue's two-copies mishap through the CLI: Bob's lines appended to Alice's journal
make `note add` refuse (one line, exit 2, the repair path), `repair` sets them aside."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.cli.test_foundation_cli import _open
from tests.conftest import KeyFiles, Runner


def test_note_add_refuses_after_bobs_lines_and_repair_sets_them_aside(
    irkit: Runner, key_files: KeyFiles, tmp_path: Path
) -> None:
    alice_dir = _open(irkit, key_files, tmp_path)
    bob_dir = tmp_path / "bob-copy"
    shutil.copytree(alice_dir, bob_dir)
    assert irkit("note", "add", "alice", key=key_files.alice, case=alice_dir).exit_code == 0
    for n in range(2):
        assert irkit("note", "add", f"bob {n}", key=key_files.bob, case=bob_dir).exit_code == 0
    journal = alice_dir / "journal.jsonl"
    alices = journal.read_bytes()
    bobs_new = (bob_dir / "journal.jsonl").read_bytes().splitlines(keepends=True)[-2:]
    journal.write_bytes(alices + b"".join(bobs_new))

    r = irkit("note", "add", "on a broken journal", key=key_files.alice, case=alice_dir)
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output
    first = r.stderr.splitlines()[0]
    assert "does not verify from line" in first and "another copy" in first, r.stderr
    assert "irkit repair" in r.stderr
    assert journal.read_bytes() == alices + b"".join(bobs_new)
    for reader in (["log"], ["member", "list"], ["evidence", "list"]):
        assert irkit(*reader, case=alice_dir).exit_code == 0, reader  # reading still works
    r = irkit("checkpoint", key=key_files.alice, case=alice_dir)
    assert r.exit_code == 2 and "does not verify" in r.stderr, r.output

    r = irkit("repair", case=alice_dir)  # no terminal, no --yes: nothing changes
    assert r.exit_code == 2 and journal.read_bytes() == alices + b"".join(bobs_new)
    r = irkit("repair", "--yes", "--json", case=alice_dir)
    assert r.exit_code == 0, r.output
    done = json.loads(r.stdout)
    assert done["action"] == "foreign" and done["foreign"]["lines"] == 2
    assert (alice_dir / done["quarantine"]).read_bytes() == b"".join(bobs_new)
    assert journal.read_bytes() == alices
    assert irkit("note", "add", "again", key=key_files.alice, case=alice_dir).exit_code == 0
    assert irkit("verify", case=alice_dir).exit_code == 0


def test_repair_refuses_an_altered_journal_and_changes_nothing(
    irkit: Runner, key_files: KeyFiles, tmp_path: Path
) -> None:
    case_dir = _open(irkit, key_files, tmp_path)
    assert irkit("note", "add", "original", key=key_files.alice, case=case_dir).exit_code == 0
    journal = case_dir / "journal.jsonl"
    altered = journal.read_bytes().replace(b"original", b"altered!")
    journal.write_bytes(altered)
    r = irkit("note", "add", "x", key=key_files.alice, case=case_dir)
    assert r.exit_code == 2 and "evidence" in r.stderr, r.output
    r = irkit("repair", "--yes", case=case_dir)
    assert r.exit_code == 1 and "changed nothing" in r.stderr, r.output
    assert journal.read_bytes() == altered
