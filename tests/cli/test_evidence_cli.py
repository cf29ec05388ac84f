"""`irkit evidence` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

from irkit.record.case import Case
from tests.conftest import KeyFiles, Runner


def test_collect_list_show_check(
    irkit: Runner, key_files: KeyFiles, case: Case, tmp_path: Path
) -> None:
    src = tmp_path / "photo.jpg"
    src.write_bytes(b"\xff\xd8 jpeg")
    r = irkit(
        "evidence", "collect", str(src), "--description", "photo", key=key_files.bob, case=case.root
    )
    assert r.exit_code == 0 and "E-0001" in r.output
    listed = json.loads(irkit("evidence", "list", "--json", case=case.root).output)
    assert listed[0]["id"] == "E-0001" and listed[0]["size"] == 7
    shown = json.loads(irkit("evidence", "show", "E-0001", "--json", case=case.root).output)
    assert shown["collected_by"] == "Bob" and shown["description"] == "photo"
    assert irkit("evidence", "check", case=case.root).exit_code == 0
    stored = case.store.path_for(listed[0]["sha256"])
    stored.chmod(0o644)
    stored.write_bytes(b"\xff\xd8 JPEG")
    r = irkit("evidence", "check", "E-0001", case=case.root)
    assert r.exit_code == 1 and "E-0001: FAILED" in r.output
    assert irkit("verify", case=case.root).exit_code == 1
    assert irkit("evidence", "show", "E-0999", case=case.root).exit_code == 2


def test_collect_names_what_it_skipped(
    irkit: Runner, key_files: KeyFiles, case: Case, tmp_path: Path
) -> None:
    src = tmp_path / "folder"
    src.mkdir()
    (src / "log.txt").write_text("log\n")
    (src / "current").symlink_to("log.txt")
    r = irkit("evidence", "collect", str(src), key=key_files.bob, case=case.root)
    assert r.exit_code == 0
    assert "skipped symlink" in r.output and "-> log.txt" in r.output
    assert "1 non-regular path recorded as skipped" in r.output
