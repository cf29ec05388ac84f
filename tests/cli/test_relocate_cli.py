"""`verify` on a machine where a by-reference original is not reachable, `--require-content`,
and `irkit evidence relocate` / `evidence show` through the CLI."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.cli.test_foundation_cli import _open
from tests.conftest import KeyFiles, Runner


def test_verify_not_checked_here_then_relocate(
    irkit: Runner, key_files: KeyFiles, tmp_path: Path
) -> None:
    case_dir = _open(irkit, key_files, tmp_path)
    image = tmp_path / "site" / "disk.img"
    image.parent.mkdir()
    image.write_bytes(os.urandom(2048))
    r = irkit(
        "evidence", "collect", "--by-reference", str(image), key=key_files.alice, case=case_dir
    )
    assert r.exit_code == 0, r.output
    moved = tmp_path / "nas.img"
    image.rename(moved)

    r = irkit("verify", case=case_dir)
    assert r.exit_code == 0, r.output
    assert "not checked here" in r.stderr and "E-0001" in r.stderr and str(image) in r.stderr
    assert "VERIFIED" in r.stdout
    r = irkit("verify", "--require-content", case=case_dir)
    assert r.exit_code == 1 and "not checked here" in r.stdout, r.output
    r = irkit("verify", "--require-content", "--no-content", case=case_dir)
    assert r.exit_code == 2 and "contradict" in r.stderr

    wrong = tmp_path / "wrong.img"
    wrong.write_bytes(b"something else")
    before = (case_dir / "journal.jsonl").read_bytes()
    r = irkit("evidence", "relocate", "E-0001", str(wrong), key=key_files.alice, case=case_dir)
    assert r.exit_code == 1 and "nothing recorded" in r.stderr, r.output
    assert (case_dir / "journal.jsonl").read_bytes() == before

    r = irkit(
        "evidence",
        "relocate",
        "E-0001",
        str(moved),
        "--reason",
        "to the NAS",
        "--json",
        key=key_files.alice,
        case=case_dir,
    )
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["body"]["path"] == str(moved)
    r = irkit("verify", "--require-content", "--json", case=case_dir)
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    assert report["evidence_checked"] == 1 and report["not_checked_here"] == 0

    shown = json.loads(irkit("evidence", "show", "E-0001", "--json", case=case_dir).stdout)
    assert shown["reachable_at"] == str(moved) and shown["path"] == str(image)
    assert [x["reason"] for x in shown["relocations"]] == ["to the NAS"]
    r = irkit("evidence", "show", "E-0001", case=case_dir)
    assert "relocations:" in r.stdout and str(moved) in r.stdout
