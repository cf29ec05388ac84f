"""A folder remote named by a relative path keeps working from wherever the next command
runs: `irkit clone team-remote bob-case`, then `irkit sync` from inside bob-case."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import KeyFiles, Runner


def test_relative_folder_url_is_stored_absolute(
    irkit: Runner, key_files: KeyFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert irkit("init", "lead", "--title", "Team", "--id", "REL-1", key=key_files.alice)
    (tmp_path / "team-remote").mkdir()
    added = irkit("remote", "add", "origin", "team-remote", "--json", case=Path("lead"))
    assert added.exit_code == 0, added.output
    assert json.loads(added.output)["url"] == str(tmp_path / "team-remote")
    assert irkit("push", key=key_files.alice, case=Path("lead")).exit_code == 0
    cloned = irkit("clone", "team-remote", "copy")
    assert cloned.exit_code == 0, cloned.output
    stored = json.loads((tmp_path / "copy" / "remotes.json").read_text())
    assert stored["remotes"]["origin"]["url"] == str(tmp_path / "team-remote")
    monkeypatch.chdir(tmp_path / "copy")
    pulled = irkit("pull", case=Path("."))
    assert pulled.exit_code == 0, pulled.output
