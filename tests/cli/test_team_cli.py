"""Team cases from the command line: remote add/list/remove, clone, pull, push, sync,
conflicts, `verify --remote`, and log/timeline marking what is not published."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import KeyFiles, Runner
from tests.s3server import S3Remote


def _team(irkit: Runner, key_files: KeyFiles, tmp_path: Path, url: str, *extra: str) -> Path:
    case_dir = tmp_path / "case"
    assert irkit("init", str(case_dir), "--title", "Team", "--id", "TEAM-2", key=key_files.alice)
    bob_pub = tmp_path / "bob.pub"
    assert irkit("key", "export-public", str(key_files.bob), "-o", str(bob_pub)).exit_code == 0
    added = irkit(
        "member", "add", str(bob_pub), "--name", "Bob", "--role", "responder",
        key=key_files.alice, case=case_dir,
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    result = irkit("remote", "add", "origin", url, *extra, "--json", case=case_dir)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["url"] == url
    result = irkit("push", "--json", key=key_files.alice, case=case_dir)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["published"] == 2
    return case_dir


def _fingerprint(irkit: Runner, key: Path) -> str:
    return str(json.loads(irkit("key", "show", str(key), "--json").output)["fingerprint"])


@pytest.fixture(params=["dir", "s3"])
def remote_url(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, tuple[str, ...]]:
    if request.param == "dir":
        folder = tmp_path / "remote"
        folder.mkdir()
        return str(folder), ()
    make: S3Remote = request.getfixturevalue("s3_remote")
    url, settings = make()
    return url, ("--endpoint-url", str(settings.endpoint_url))


def test_team_round_trip(
    irkit: Runner, key_files: KeyFiles, tmp_path: Path, remote_url: tuple[str, tuple[str, ...]]
) -> None:
    url, extra = remote_url
    lead = _team(irkit, key_files, tmp_path, url, *extra)
    alice_fp = _fingerprint(irkit, key_files.alice)
    listed = json.loads(irkit("remote", "list", "--json", case=lead).output)
    assert [r["name"] for r in listed] == ["origin"] and listed[0]["published"] == 2
    bob_dir = tmp_path / "bob-case"
    cloned = irkit("clone", url, str(bob_dir), "--trust", alice_fp, *extra)
    assert cloned.exit_code == 0, cloned.output
    assert "VERIFIED, anchored" in cloned.output
    # offline work on both sides, then sync: one chain
    assert irkit("note", "add", "alice offline", key=key_files.alice, case=lead).exit_code == 0
    assert irkit("note", "add", "bob offline", key=key_files.bob, case=bob_dir).exit_code == 0
    log = irkit("log", case=bob_dir)
    assert log.output.splitlines()[-1].endswith("[unpublished]")
    assert "[unpublished]" not in log.output.splitlines()[0]
    pushed = irkit("push", key=key_files.bob, case=bob_dir)
    assert pushed.exit_code == 0, pushed.output
    refused = irkit("push", key=key_files.alice, case=lead)
    assert refused.exit_code == 2
    assert "irkit sync" in refused.stderr
    synced = irkit("sync", "--json", key=key_files.alice, case=lead)
    assert synced.exit_code == 0, synced.output
    doc = json.loads(synced.output)
    assert doc["pulled"] == 1 and doc["rebased"] == 1 and doc["published"] == 1
    pulled = irkit("pull", case=bob_dir)  # no key needed: nothing of Bob's to re-sign
    assert pulled.exit_code == 0, pulled.output
    assert (lead / "journal.jsonl").read_bytes() == (bob_dir / "journal.jsonl").read_bytes()
    shown = json.loads(irkit("log", "--json", case=bob_dir).output)
    assert all(row["published"] and row["published_at"] for row in shown)
    timeline = irkit("timeline", case=bob_dir)
    assert "published 20" in timeline.output and "[unpublished]" not in timeline.output
    verified = irkit("verify", "--remote", "origin", "--trust", alice_fp, case=bob_dir)
    assert verified.exit_code == 0, verified.output
    assert "remote origin" in verified.output and "VERIFIED" in verified.output
    removed = irkit("remote", "remove", "origin", case=bob_dir)
    assert removed.exit_code == 0
    assert json.loads(irkit("remote", "list", "--json", case=bob_dir).output) == []


def test_conflict_reported_with_exit_1_and_withdrawn(
    irkit: Runner, key_files: KeyFiles, tmp_path: Path
) -> None:
    remote = tmp_path / "remote"
    remote.mkdir()
    lead = _team(irkit, key_files, tmp_path, str(remote))
    assert irkit("note", "add", "the door was open", key=key_files.alice, case=lead)
    assert irkit("sync", key=key_files.alice, case=lead).exit_code == 0
    bob_dir = tmp_path / "bob-case"
    assert irkit("clone", str(remote), str(bob_dir)).exit_code == 0
    fixed = irkit(
        "note", "correct", "2", "the door was locked", "--reason", "checked",
        key=key_files.alice, case=lead,
    )  # fmt: skip
    assert fixed.exit_code == 0, fixed.output
    other = irkit(
        "note", "correct", "2", "the window was open", "--reason", "checked",
        key=key_files.bob, case=bob_dir,
    )  # fmt: skip
    assert other.exit_code == 0, other.output
    assert irkit("sync", key=key_files.alice, case=lead).exit_code == 0
    lost = irkit("sync", key=key_files.bob, case=bob_dir)
    assert lost.exit_code == 1, lost.output
    assert "CONFLICT 1: your entry #3 (note.corrected" in lost.stderr
    assert "already answers entry 2" in lost.stderr
    assert "--withdraw" in lost.stderr
    again = irkit("sync", key=key_files.bob, case=bob_dir)
    assert again.exit_code == 0 and "CONFLICT 1" in again.stderr  # still reported
    gone = irkit("sync", "--withdraw", "1", case=bob_dir)
    assert gone.exit_code == 0, gone.output
    assert "CONFLICT" not in irkit("sync", key=key_files.bob, case=bob_dir).stderr


def test_bad_remotes_one_line(irkit: Runner, key_files: KeyFiles, tmp_path: Path) -> None:
    case_dir = tmp_path / "case"
    assert irkit("init", str(case_dir), "--title", "T", key=key_files.alice).exit_code == 0
    creds = irkit("remote", "add", "x", "s3://user:pw@bucket/p", case=case_dir)
    assert creds.exit_code == 2 and "pw" not in creds.stderr
    missing = irkit("remote", "add", "x", str(tmp_path / "nowhere"), case=case_dir)
    assert missing.exit_code == 2 and "no such directory" in missing.stderr
    assert "Traceback" not in missing.stderr
    bad_name = irkit("remote", "add", "../x", str(tmp_path), case=case_dir)
    assert bad_name.exit_code == 2
    none = irkit("sync", key=key_files.alice, case=case_dir)
    assert none.exit_code == 2 and "no remote" in none.stderr
    assert not (case_dir / "remotes.json").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    clone = irkit("clone", str(empty), str(tmp_path / "c"))
    assert clone.exit_code == 2 and "holds no irkit case" in clone.stderr
    assert not (tmp_path / "c").exists()


def test_note_add_push_is_opt_in(irkit: Runner, key_files: KeyFiles, tmp_path: Path) -> None:
    remote = tmp_path / "remote"
    remote.mkdir()
    lead = _team(irkit, key_files, tmp_path, str(remote))
    remote.rename(tmp_path / "unplugged")  # offline: the share is not mounted
    quick = irkit("note", "add", "offline note", key=key_files.alice, case=lead)
    assert quick.exit_code == 0, quick.output  # no network on the quick path
    assert irkit("log", case=lead).output.splitlines()[-1].endswith("[unpublished]")
    failed = irkit("note", "add", "pushed", "--push", key=key_files.alice, case=lead)
    assert failed.exit_code == 2 and "no such directory" in failed.stderr
    (tmp_path / "unplugged").rename(remote)
    pushed = irkit("note", "add", "pushed too", "--push", key=key_files.alice, case=lead)
    assert pushed.exit_code == 0, pushed.output
    assert "[unpublished]" not in irkit("log", case=lead).output


def test_server_ignoring_conditional_writes_refused(
    irkit: Runner, key_files: KeyFiles, tmp_path: Path, s3_env: Any, s3_nocond: Any
) -> None:
    """At `remote add`, and again before the first push (a remote added unprobed)."""
    from tests.s3server import NOCOND_BUCKET

    case_dir = tmp_path / "case"
    assert irkit("init", str(case_dir), "--title", "T", key=key_files.alice).exit_code == 0
    url = f"s3://{NOCOND_BUCKET}/team-{tmp_path.name}"
    added = irkit("remote", "add", "x", url, "--endpoint-url", s3_nocond.endpoint, case=case_dir)
    assert added.exit_code == 2 and "If-None-Match" in added.stderr
    assert not (case_dir / "remotes.json").exists()
    unprobed = irkit(
        "remote", "add", "x", url, "--endpoint-url", s3_nocond.endpoint, "--no-probe",
        case=case_dir,
    )  # fmt: skip
    assert unprobed.exit_code == 0
    pushed = irkit("push", key=key_files.alice, case=case_dir)
    assert pushed.exit_code == 2 and "If-None-Match" in pushed.stderr
    assert "[unpublished]" in irkit("log", case=case_dir).output
