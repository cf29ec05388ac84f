"""Crash safety (SIGKILL mid-append) and concurrent appenders."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from irkit.formats import ed25519
from irkit.record.case import Case
from irkit.record.journal import scan_bytes
from irkit.record.repair import repair
from tests.conftest import KeyFiles
from tests.helpers import problems, verify

REPO = Path(__file__).resolve().parents[2]

APPENDER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    sys.path.insert(0, {repo!r})
    from irkit.record.case import Case
    from irkit.record.keyfiles import load_signer
    from irkit.notes.notes import add_note

    case = Case.open(Path(sys.argv[1]))
    signer = load_signer(Path(sys.argv[2]), lambda: None)
    count = int(sys.argv[3])
    size = int(sys.argv[4])
    tag = sys.argv[5]
    if tag == "raw":
        # Journal layer only: pre-sign a few large chained entries, then append them, so
        # that most of the loop's time is spent inside write() where a kill can tear a line.
        from irkit.record.entry import build_line
        from irkit.record.journal import GENESIS_PREV, Journal, entry_hash

        last = case.journal_path.read_bytes().splitlines()[-1]
        seq, prev = int(last.split(b'"seq":')[1].split(b",")[0]) + 1, entry_hash(last)
        batch = []
        for i in range(count):
            body = {{"text": "big " + "x" * size, "tags": [], "attachments": [],
                    "confidential": False}}
            line = build_line(signer, seq=seq + i, prev=prev, kind="note.added", body=body,
                              recorded="2026-01-02T03:04:05.000000Z")
            prev = entry_hash(line)
            batch.append(line)
        print("ready", flush=True)
        for line in batch:
            with Journal(case.journal_path).locked() as locked:
                locked.append_line(line)
        raise SystemExit(0)
    print("ready", flush=True)
    for i in range(count):
        add_note(case, signer, f"{{tag}} {{i}} " + "x" * size)
    """
)


def _appender(tmp_path: Path) -> Path:
    script = tmp_path / "appender.py"
    script.write_text(APPENDER.format(repo=str(REPO)))
    return script


def test_sigkill_mid_append_loses_nothing_complete(
    case: Case, key_files: object, tmp_path: Path
) -> None:
    script = _appender(tmp_path)
    alice_key = key_files.alice  # type: ignore[attr-defined]
    rng = random.Random(1234)
    torn_seen = 0
    for attempt in range(16):
        # alternate the full stack (small notes, state cache) killed at a random moment, and
        # the raw journal layer (large lines) killed as soon as a write is seen under way
        raw = attempt % 2 == 0
        args = ["2", "16000000", "raw"] if raw else ["100000", "10", "loop"]
        start_size = case.journal_path.stat().st_size
        proc = subprocess.Popen(
            [sys.executable, str(script), str(case.root), str(alice_key), *args],
            stdout=subprocess.PIPE,
        )
        assert proc.stdout is not None
        proc.stdout.readline()  # wait until it is appending
        if raw:
            deadline = time.monotonic() + 30
            while case.journal_path.stat().st_size == start_size:
                if time.monotonic() > deadline:
                    break
            time.sleep(rng.uniform(0.0, 0.004))
        else:
            time.sleep(rng.uniform(0.0, 0.3))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        data = case.journal_path.read_bytes()
        scan = scan_bytes(data)
        report = verify(case.root, content=False)
        torn = [p for p in report.problems if p.code == "torn-tail"]
        assert len(torn) <= 1
        if scan.torn is None:
            assert report.ok, problems(report)
            continue
        torn_seen += 1
        assert [p.code for p in report.problems] == ["torn-tail"], problems(report)
        complete = scan.lines
        result = repair(case, lambda _t: True)
        assert result.action in ("quarantined", "completed")
        after = scan_bytes(case.journal_path.read_bytes())
        assert after.lines[: len(complete)] == complete  # every complete entry kept
        assert verify(case.root, content=False).ok
    # real torn tails must have happened, or this test proved less than it claims
    assert torn_seen >= 1, "no SIGKILL landed mid-write: make the raw entries larger"


def test_repair_quarantines_and_keeps_complete_entries(case: Case, alice: ed25519.Signer) -> None:
    from irkit.notes.notes import add_note

    add_note(case, alice, "complete")
    complete = case.journal_path.read_bytes()
    with case.journal_path.open("ab") as fh:
        fh.write(b'{"actor":"ed25519:abc')
    report = verify(case.root)
    assert [p.code for p in report.problems] == ["torn-tail"]
    declined = repair(case, lambda _t: False)
    assert declined.action == "declined"
    result = repair(case, lambda _t: True)
    assert result.action == "quarantined" and result.quarantine
    assert case.journal_path.read_bytes() == complete
    assert (case.root / result.quarantine).read_bytes() == b'{"actor":"ed25519:abc'
    assert verify(case.root).ok
    assert repair(case, lambda _t: True).action == "none"


def test_repair_completes_an_entry_that_lost_only_its_newline(
    case: Case, alice: ed25519.Signer
) -> None:
    from irkit.notes.notes import add_note

    add_note(case, alice, "last")
    data = case.journal_path.read_bytes()
    case.journal_path.write_bytes(data[:-1])

    def never(_t: object) -> bool:
        raise AssertionError("a complete entry must not need confirmation to keep")

    assert repair(case, never).action == "completed"
    assert case.journal_path.read_bytes() == data
    assert verify(case.root).ok


def test_four_processes_append_concurrently(
    case: Case, key_files: KeyFiles, tmp_path: Path
) -> None:
    script = _appender(tmp_path)
    keys_ = key_files
    env = dict(os.environ)
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(case.root), str(path), "250", "10", f"p{n}"],
            stdout=subprocess.DEVNULL,
            env=env,
        )
        for n, path in enumerate([keys_.alice, keys_.bob, keys_.alice, keys_.bob])
    ]
    for proc in procs:
        assert proc.wait(timeout=300) == 0
    report = verify(case.root, content=False, jobs=2)
    assert report.ok, problems(report)
    assert report.entries == 2 + 1000
    texts = case.read_entries().entries[2:]
    for n in range(4):
        mine = [
            int(e.body["text"].split()[1]) for e in texts if e.body["text"].startswith(f"p{n} ")
        ]
        assert mine == list(range(250))


def test_a_failed_write_is_cut_back(
    case: Case, alice: ed25519.Signer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk fills up half-way through an entry: the partial bytes are removed, the error
    reaches the caller, and the journal is byte for byte what it was."""
    import errno

    from irkit.notes.notes import add_note

    before = case.journal_path.read_bytes()
    real_write = os.write
    calls = {"n": 0}

    def full_disk(fd: int, data: bytes) -> int:
        calls["n"] += 1
        if calls["n"] == 1:
            return real_write(fd, bytes(data)[:10])  # a short write: part of the line lands
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", full_disk)
    with pytest.raises(Exception, match="space"):
        add_note(case, alice, "this note cannot be written in full")
    monkeypatch.setattr(os, "write", real_write)
    assert calls["n"] == 2
    assert case.journal_path.read_bytes() == before
    add_note(case, alice, "the next note appends cleanly")
    assert verify(case.root).ok
