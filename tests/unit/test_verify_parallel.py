"""The multi-process signature check finds the same problems as the single-process one."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from irkit.audit.verify import _PARALLEL_THRESHOLD, verify_case
from irkit.formats import ed25519
from irkit.formats.canonical import canonical_bytes
from irkit.record.case import Case, add_member, init_case
from irkit.record.entry import build_line
from irkit.record.journal import entry_hash
from tests.conftest import FixedClock, seeded_signer


def _big_case(root: Path, entries: int) -> tuple[Case, ed25519.Signer, ed25519.Signer]:
    alice, bob = seeded_signer("alice", "lead"), seeded_signer("bob")
    case = init_case(root, title="big", case_id="BIG-1", signer=alice, clock=FixedClock())
    add_member(case, alice, bob.public, name="Bob", role="responder", clock=FixedClock())
    prev = entry_hash(case.journal_path.read_bytes().splitlines()[-1])
    out = []
    for seq in range(2, entries):
        body = {"text": f"note {seq}", "tags": [], "attachments": [], "confidential": False}
        line = build_line(
            alice if seq % 2 else bob,
            seq=seq,
            prev=prev,
            kind="note.added",
            body=body,
            recorded="2026-01-02T03:04:05.000000Z",
        )
        prev = entry_hash(line)
        out.append(line + b"\n")
    with case.journal_path.open("ab") as fh:
        fh.write(b"".join(out))
    case.invalidate_state()
    return case, alice, bob


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    case, _, _ = _big_case(tmp_path_factory.mktemp("big") / "case", _PARALLEL_THRESHOLD + 500)
    return case.root


def _tampered_copy(src: Path, dst: Path, seq: int) -> Path:
    import shutil

    shutil.copytree(src, dst)
    lines = (dst / "journal.jsonl").read_bytes().splitlines()
    obj = json.loads(lines[seq])
    obj["sig"] = base64.b64encode(bytes(64)).decode()
    lines[seq] = canonical_bytes(obj)
    (dst / "journal.jsonl").write_bytes(b"".join(x + b"\n" for x in lines))
    return dst


def test_parallel_clean(big: Path) -> None:
    report = verify_case(big, jobs=2, content=False)
    assert report.ok and report.entries == _PARALLEL_THRESHOLD + 500


@pytest.mark.parametrize("seq", [2, 1234, _PARALLEL_THRESHOLD + 499])
def test_parallel_and_serial_agree(big: Path, tmp_path: Path, seq: int) -> None:
    case_dir = _tampered_copy(big, tmp_path / "t", seq)
    serial = verify_case(case_dir, jobs=1, content=False)
    parallel = verify_case(case_dir, jobs=2, content=False)
    assert serial.problems == parallel.problems
    found = [(p.seq, p.code) for p in parallel.problems]
    expected = [(seq, "bad-signature")]
    if seq < _PARALLEL_THRESHOLD + 499:  # the next entry's prev no longer matches
        expected.append((seq + 1, "chain"))
    assert sorted(found) == expected


def test_missing_keys_dir_falls_back_to_journal_keys(big: Path, tmp_path: Path) -> None:
    import shutil

    case_dir = tmp_path / "nokeys"
    shutil.copytree(big, case_dir)
    shutil.rmtree(case_dir / "keys")
    report = verify_case(case_dir, jobs=2, content=False)
    assert report.ok, report.problems[:3]
    assert any("missing" in str(w) for w in report.warnings)


def test_workers_started_without_fork_read_the_file(
    big: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where fork is missing (macOS, Windows), spawned workers read their byte ranges."""
    import multiprocessing

    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    case_dir = _tampered_copy(big, tmp_path / "t", 1500)
    found = [(p.seq, p.code) for p in verify_case(case_dir, jobs=2, content=False).problems]
    assert found == [(1500, "bad-signature"), (1501, "chain")]
