"""The foundation's commands end to end, as a responder and an auditor would use them."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import KeyFiles, Runner


def _open(irkit: Runner, key_files: KeyFiles, tmp_path: Path) -> Path:
    case_dir = tmp_path / "case"
    result = irkit(
        "init", str(case_dir), "--title", "CLI case", "--id", "CLI-1", key=key_files.alice
    )
    assert result.exit_code == 0, result.output
    bob_pub = tmp_path / "bob.pub"
    assert irkit("key", "export-public", str(key_files.bob), "-o", str(bob_pub)).exit_code == 0
    result = irkit(
        "member",
        "add",
        str(bob_pub),
        "--name",
        "Bob",
        "--role",
        "responder",
        key=key_files.alice,
        case=case_dir,
    )
    assert result.exit_code == 0, result.output
    return case_dir


def test_key_generate_show_and_passphrase_errors(irkit: Runner, tmp_path: Path) -> None:
    key = tmp_path / "me.key"
    result = irkit(
        "key",
        "generate",
        "--name",
        "Me",
        "--out",
        str(key),
        env={"IRKIT_PASSPHRASE": "s3cret pass"},
    )
    assert result.exit_code == 0, result.output
    assert "fingerprint: ed25519:" in result.output
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    shown = json.loads(irkit("key", "show", str(key), "--json").output)
    assert shown["encrypted"] is True and shown["name"] == "Me"
    case_dir = tmp_path / "c"
    wrong = irkit(
        "init", str(case_dir), "--title", "t", key=key, env={"IRKIT_PASSPHRASE": "not it"}
    )
    assert wrong.exit_code == 2
    assert wrong.stderr.strip().startswith("irkit: error: wrong passphrase")
    assert "Traceback" not in wrong.output and not case_dir.exists()
    assert "s3cret" not in wrong.output and "not it" not in wrong.output
    no_pass = irkit("init", str(case_dir), "--title", "t", key=key)
    assert no_pass.exit_code == 2 and "passphrase-protected" in no_pass.stderr
    ok = irkit(
        "init", str(case_dir), "--title", "t", key=key, env={"IRKIT_PASSPHRASE": "s3cret pass"}
    )
    assert ok.exit_code == 0, ok.output


def test_key_generate_refuses_without_passphrase_source(irkit: Runner, tmp_path: Path) -> None:
    result = irkit("key", "generate", "--name", "Me", "--out", str(tmp_path / "k"))
    assert result.exit_code == 2 and "no passphrase given" in result.stderr
    assert not (tmp_path / "k").exists()
    result = irkit(
        "key", "generate", "--name", "Me", "--out", str(tmp_path / "k"), "--no-passphrase"
    )
    assert result.exit_code == 0 and "UNENCRYPTED" in result.stderr


def test_default_key_location(irkit: Runner, isolated_env: Path, tmp_path: Path) -> None:
    assert irkit("key", "generate", "--name", "Default", "--no-passphrase").exit_code == 0
    assert (isolated_env / "default.key").is_file()
    assert irkit("init", str(tmp_path / "c"), "--title", "t").exit_code == 0


def test_missing_key_and_missing_case(irkit: Runner, tmp_path: Path) -> None:
    result = irkit("init", str(tmp_path / "c"), "--title", "t", key=tmp_path / "nope.key")
    assert result.exit_code == 2 and "no key at" in result.stderr
    result = irkit("log")
    assert result.exit_code == 2 and "not inside an irkit case" in result.stderr


def test_notes_timeline_log_and_verify(irkit: Runner, key_files: KeyFiles, tmp_path: Path) -> None:
    case_dir = _open(irkit, key_files, tmp_path)
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"\xff\xd8 jpeg bytes")
    r = irkit(
        "note",
        "add",
        "Arrived",
        "--event-time",
        "2026-11-22T14:05+01:00",
        "--tag",
        "onsite",
        "--attach",
        str(photo),
        key=key_files.bob,
        case=case_dir,
    )
    assert r.exit_code == 0, r.output
    r = irkit(
        "note", "add", "-", key=key_files.alice, case=case_dir, input="from stdin\nsecond line\n"
    )
    assert r.exit_code == 0, r.output
    r = irkit(
        "note",
        "correct",
        "2",
        "Arrived 14:10",
        "--reason",
        "clock was wrong",
        key=key_files.bob,
        case=case_dir,
    )
    assert r.exit_code == 0, r.output
    log = json.loads(irkit("log", "--json", case=case_dir).output)
    assert [e["kind"] for e in log] == [
        "case.opened",
        "member.added",
        "note.added",
        "note.added",
        "note.corrected",
    ]
    assert log[2]["body"]["event_time"] == "2026-11-22T14:05:00+01:00"
    timeline = irkit("timeline", case=case_dir).output
    assert "SUPERSEDED by #4" in timeline and "corrects #2: clock was wrong" in timeline
    assert timeline.index("Arrived") < timeline.index("from stdin")  # event time order
    opener = json.loads((case_dir / "irkit-case.json").read_text())["opener"]
    r = irkit("verify", "--trust", opener, case=case_dir)
    assert r.exit_code == 0 and "VERIFIED" in r.output and "anchored" in r.output
    r = irkit("verify", case=case_dir)
    assert r.exit_code == 0 and "NOT ANCHORED" in r.output
    report = json.loads(irkit("verify", "--json", case=case_dir).output)
    assert report["ok"] is True and report["entries"] == 5 and report["content_checked"] == 1


def test_non_member_refused_and_nothing_written(
    irkit: Runner, key_files: KeyFiles, tmp_path: Path
) -> None:
    case_dir = _open(irkit, key_files, tmp_path)
    before = (case_dir / "journal.jsonl").read_bytes()
    r = irkit("note", "add", "intruder", key=key_files.mallory, case=case_dir)
    assert r.exit_code == 2 and "not a member" in r.stderr
    assert (case_dir / "journal.jsonl").read_bytes() == before


def test_checkpoint_then_truncate_is_caught(
    irkit: Runner, key_files: KeyFiles, tmp_path: Path
) -> None:
    case_dir = _open(irkit, key_files, tmp_path)
    irkit("note", "add", "one", key=key_files.alice, case=case_dir)
    kept = tmp_path / "kept.txt"
    r = irkit("checkpoint", "-o", str(kept), key=key_files.bob, case=case_dir)
    assert r.exit_code == 0 and r.stdout.startswith("irkit.case/CLI-1/")
    journal = case_dir / "journal.jsonl"
    journal.write_bytes(b"".join(journal.read_bytes().splitlines(keepends=True)[:-1]))
    for cp in (case_dir / "checkpoints").iterdir():
        cp.unlink()
    r = irkit("verify", "--checkpoint", str(kept), case=case_dir)
    assert r.exit_code == 1 and "PROBLEM: entry 2:" in r.output and "truncation" in r.output


def test_bad_inputs_exit_2(irkit: Runner, key_files: KeyFiles, tmp_path: Path) -> None:
    case_dir = _open(irkit, key_files, tmp_path)
    before = (case_dir / "journal.jsonl").read_bytes()
    cases = [
        ("verify", "--trust", "not-a-key"),
        ("note", "add", "x", "--event-time", "yesterday-ish"),
        ("note", "add", "x", "--attach", str(tmp_path / "missing.bin")),
        ("note", "correct", "0", "x", "--reason", "r"),
        ("note", "correct", "99", "x", "--reason", "r"),
        ("init", str(case_dir), "--title", "again"),
        ("member", "add", str(tmp_path / "none.pub"), "--name", "n", "--role", "r"),
    ]
    for args in cases:
        r = irkit(*args, key=key_files.alice, case=case_dir)
        assert r.exit_code == 2, (args, r.output)
        assert r.stderr.startswith("irkit: error:") or "Error:" in r.stderr, (args, r.stderr)
        assert "Traceback" not in r.output
    assert (case_dir / "journal.jsonl").read_bytes() == before


def test_torn_tail_reported_and_repaired(
    irkit: Runner, key_files: KeyFiles, tmp_path: Path
) -> None:
    case_dir = _open(irkit, key_files, tmp_path)
    journal = case_dir / "journal.jsonl"
    complete = journal.read_bytes()
    journal.write_bytes(complete + b'{"actor":"ed25')
    for command in (["log"], ["timeline"], ["member", "list"], ["evidence", "list"]):
        assert "incomplete line" in irkit(*command, case=case_dir).stderr, command
    r = irkit("note", "add", "x", key=key_files.alice, case=case_dir)
    assert r.exit_code == 2 and "irkit repair" in r.output
    assert irkit("verify", case=case_dir).exit_code == 1
    r = irkit("repair", case=case_dir)  # no terminal, no --yes
    assert r.exit_code == 2 and journal.read_bytes().endswith(b'{"actor":"ed25')
    r = irkit("repair", "--yes", case=case_dir)
    assert r.exit_code == 0 and "quarantine" in r.output
    assert journal.read_bytes() == complete
    assert irkit("verify", case=case_dir).exit_code == 0


def test_malformed_journal_line_is_reported(
    irkit: Runner, key_files: KeyFiles, tmp_path: Path
) -> None:
    case_dir = _open(irkit, key_files, tmp_path)
    journal = case_dir / "journal.jsonl"
    journal.write_bytes(journal.read_bytes() + b"garbage\n")
    r = irkit("verify", case=case_dir)
    assert r.exit_code == 1 and "line 3" in r.output
    assert "line 3" in irkit("log", case=case_dir).stderr


def test_member_list_and_remove(irkit: Runner, key_files: KeyFiles, tmp_path: Path) -> None:
    case_dir = _open(irkit, key_files, tmp_path)
    members = json.loads(irkit("member", "list", "--json", case=case_dir).output)
    bob = next(m for m in members if m["name"] == "Bob")
    r = irkit(
        "member", "remove", bob["fingerprint"], "--reason", "left", key=key_files.bob, case=case_dir
    )
    assert r.exit_code == 2 and "may not sign member.removed" in r.stderr
    r = irkit(
        "member",
        "remove",
        bob["fingerprint"],
        "--reason",
        "left",
        key=key_files.alice,
        case=case_dir,
    )
    assert r.exit_code == 0
    assert irkit("note", "add", "x", key=key_files.bob, case=case_dir).exit_code == 2


def test_demo_and_python_m(tmp_path: Path) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "irkit", "demo", str(tmp_path / "demo")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "VERIFIED" in r.stdout
    r = subprocess.run(
        [sys.executable, "-m", "irkit", "--help"], capture_output=True, text=True, check=True
    )
    assert "Exit codes" in r.stdout
    r = subprocess.run(
        [sys.executable, "-m", "irkit", "demo", str(tmp_path / "demo")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 2 and "not empty" in r.stderr


def test_disk_full_is_one_line_and_leaves_the_journal(
    irkit: Runner, key_files: KeyFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno
    import os

    case_dir = _open(irkit, key_files, tmp_path)
    journal = case_dir / "journal.jsonl"
    before = journal.read_bytes()
    real_write = os.write

    def full_disk(fd: int, data: bytes) -> int:
        if os.fstat(fd).st_ino == journal.stat().st_ino:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", full_disk)
    r = irkit("note", "add", "cannot land", key=key_files.alice, case=case_dir)
    monkeypatch.setattr(os, "write", real_write)
    assert r.exit_code == 2
    assert r.output.strip() == "irkit: error: No space left on device"
    assert journal.read_bytes() == before
