"""Issue #18, "times": future event times, the DST gap and fall-back hour, one display
format, relative times both ways, corrections of corrections, links to nothing."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from irkit.record.case import Case
from tests.conftest import KeyFiles, Runner


def _real(args: list[str], key: Path, case: Path, tz: str) -> subprocess.CompletedProcess[str]:
    """The real irkit in a child, so TZ takes effect as it does for a user."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IRKIT_")}
    env.update(TZ=tz, IRKIT_KEY=str(key), IRKIT_CASE=str(case))
    env["IRKIT_HOME"] = os.environ.get("IRKIT_HOME", "")
    return subprocess.run(
        [sys.executable, "-m", "irkit", *args], env=env, capture_output=True, text=True
    )


def test_future_event_time_needs_future(irkit: Runner, key_files: KeyFiles, case: Case) -> None:
    before = case.journal_path.read_bytes()
    r = irkit("note", "add", "planned", "-t", "+2h", key=key_files.alice, case=case.root)
    assert r.exit_code == 2 and "in the future" in r.stderr and "--future" in r.stderr
    r = irkit("note", "add", "x", "-t", "2099-12-31", key=key_files.alice, case=case.root)
    assert r.exit_code == 2 and "in the future" in r.stderr
    assert case.journal_path.read_bytes() == before
    ok = irkit(
        "note",
        "add",
        "cut-over",
        "-t",
        "+2h",
        "--future",
        "--json",
        key=key_files.alice,
        case=case.root,
    )
    assert ok.exit_code == 0, ok.output
    soon = irkit("note", "add", "now-ish", "-t", "+2m", key=key_files.alice, case=case.root)
    assert soon.exit_code == 0  # within the five-minute grace for skewed clocks
    seq = json.loads(ok.output)["seq"]
    fixed = irkit(
        "note",
        "correct",
        str(seq),
        "y",
        "--reason",
        "r",
        "-t",
        "+1d",
        key=key_files.alice,
        case=case.root,
    )
    assert fixed.exit_code == 2 and "in the future" in fixed.stderr


def test_clock_time_later_today_suggests_yesterday(key_files: KeyFiles, case: Case) -> None:
    later = (datetime.now(UTC) + timedelta(hours=3)).strftime("%H:%M")
    if later < datetime.now(UTC).strftime("%H:%M"):
        pytest.skip("three hours from now is tomorrow: HH:MM would be in the past")
    r = _real(["note", "add", "x", "-t", later], key_files.alice, case.root, "UTC")
    assert r.returncode == 2 and "yesterday's is" in r.stderr, r.stderr


def test_dst_gap_and_fall_back_hour(key_files: KeyFiles, case: Case) -> None:
    before = case.journal_path.read_bytes()
    gap = _real(
        ["note", "add", "x", "-t", "2026-03-29T02:30"], key_files.alice, case.root, "Europe/Berlin"
    )
    assert gap.returncode == 2 and "does not exist in the local time zone" in gap.stderr
    twice = _real(
        ["note", "add", "x", "-t", "2026-10-25T02:30"], key_files.alice, case.root, "Europe/Berlin"
    )
    assert twice.returncode == 2 and "happens twice" in twice.stderr
    assert "2026-10-25T02:30+02:00" in twice.stderr and "2026-10-25T02:30+01:00" in twice.stderr
    assert "Traceback" not in gap.stderr + twice.stderr
    assert case.journal_path.read_bytes() == before
    ok = _real(
        ["note", "add", "x", "-t", "2026-10-25T02:30+01:00", "--json"],
        key_files.alice,
        case.root,
        "Europe/Berlin",
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["body"]["event_time"] == "2026-10-25T02:30:00+01:00"
    plain = _real(
        ["note", "add", "x", "-t", "2026-10-25T04:30", "--json"],
        key_files.alice,
        case.root,
        "Europe/Berlin",
    )
    assert json.loads(plain.stdout)["body"]["event_time"] == "2026-10-25T04:30:00+01:00"


_SHOWN = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}[^\s]*(?: UTC)?")


def test_one_display_format(irkit: Runner, key_files: KeyFiles, case: Case, tmp_path: Path) -> None:
    src = tmp_path / "a.log"
    src.write_text("a")
    irkit("evidence", "collect", str(src), key=key_files.alice, case=case.root)
    irkit(
        "note",
        "add",
        "n",
        "-t",
        "2026-01-01T10:00+01:00",
        "--link",
        "E-0001",
        key=key_files.alice,
        case=case.root,
    )
    outputs = [
        irkit(*args, case=case.root).output
        for args in (
            ("log",),
            ("timeline",),
            ("note", "list"),
            ("note", "show", "3"),
            ("custody", "show", "E-0001"),
        )
    ]
    shown = [m for out in outputs for m in _SHOWN.findall(out)]
    assert len(shown) >= 8
    for text in shown:
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC", text), text
    assert "2026-01-01 09:00:00 UTC" in outputs[1]  # 10:00+01:00, shown in UTC


def test_followup_due_relative_forward(irkit: Runner, key_files: KeyFiles, case: Case) -> None:
    r = irkit(
        "case",
        "followup",
        "schedule",
        "--due",
        "+3d",
        "--note",
        "call back",
        "--json",
        key=key_files.alice,
        case=case.root,
    )
    assert r.exit_code == 0, r.output
    due = datetime.fromisoformat(json.loads(r.output)[-1]["body"]["due"])
    assert timedelta(days=3) - timedelta(minutes=5) < due - datetime.now(UTC) <= timedelta(days=3)
    back = irkit(
        "case",
        "followup",
        "schedule",
        "--due",
        "-15m",
        "--note",
        "x",
        key=key_files.alice,
        case=case.root,
    )
    assert back.exit_code == 0


def test_correcting_a_superseded_note_corrects_the_latest(
    irkit: Runner, key_files: KeyFiles, case: Case
) -> None:
    irkit("note", "add", "Address was 203.0.113.4", key=key_files.alice, case=case.root)  # 2
    first = irkit(
        "note",
        "correct",
        "2",
        "Address was 203.0.113.45",
        "--reason",
        "typo",
        key=key_files.alice,
        case=case.root,
    )
    assert first.output.strip() == "#3 corrects #2"
    again = irkit(
        "note",
        "correct",
        "2",
        "Address was 203.0.113.46",
        "--reason",
        "typo again",
        "--json",
        key=key_files.alice,
        case=case.root,
    )
    assert json.loads(again.output)["body"]["corrects"] == 3
    timeline = json.loads(irkit("timeline", "--json", case=case.root).output)
    current = [n["seq"] for n in timeline if not n["corrected_by"]]
    assert current == [4]


def test_link_to_missing_item_refused(
    irkit: Runner, key_files: KeyFiles, case: Case, tmp_path: Path
) -> None:
    before = case.journal_path.read_bytes()
    r = irkit("note", "add", "x", "--link", "E-0009", key=key_files.alice, case=case.root)
    assert r.exit_code == 2 and "no such evidence item" in r.stderr and "none yet" in r.stderr
    assert case.journal_path.read_bytes() == before
    src = tmp_path / "a"
    src.write_text("a")
    irkit("evidence", "collect", str(src), key=key_files.alice, case=case.root)
    assert (
        irkit("note", "add", "x", "--link", "e-0001", key=key_files.alice, case=case.root).exit_code
        == 0
    )
    r = irkit(
        "note",
        "add",
        "x",
        "--link",
        "E-0001",
        "--link",
        "E-0002",
        key=key_files.alice,
        case=case.root,
    )
    assert r.exit_code == 2 and "E-0002" in r.stderr and "items: E-0001" in r.stderr


def test_consent_given_in_the_future_refused(
    irkit: Runner, key_files: KeyFiles, case: Case
) -> None:
    r = irkit(
        "case",
        "consent",
        "grant",
        "--by",
        "Ms Smith",
        "--for",
        "remote access",
        "--how",
        "phone",
        "--at",
        "+1d",
        key=key_files.alice,
        case=case.root,
    )
    assert (
        r.exit_code == 2
        and "--at '+1d' is 24 h 0 min in the future" in r.stderr
        and "--future" not in r.stderr
    )
    r = irkit(
        "case",
        "consent",
        "grant",
        "--by",
        "Ms Smith",
        "--for",
        "remote access",
        "--how",
        "phone",
        "--at",
        "-1h",
        key=key_files.alice,
        case=case.root,
    )
    assert r.exit_code == 0, r.output
