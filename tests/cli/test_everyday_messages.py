"""Issue #18, messages: what irkit prints reads as a person would write it (no Python
reprs, counts that agree, percentages rounded), says what it did (entry numbers, what was
re-hashed, both hosts), and ends quietly when the reader goes away."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from irkit.formats import ed25519
from irkit.incident import actions
from irkit.notes.notes import add_note
from irkit.record import keyfiles
from irkit.record.case import Case
from irkit.record.summary import percent, plural
from tests.conftest import FixedClock, KeyFiles, Runner


def test_field_changes_read_without_python(irkit: Runner, key_files: KeyFiles, case: Case) -> None:
    r = irkit("case", "set", "impact", "2", key=key_files.alice, case=case.root)
    assert r.exit_code == 0 and "impact: unset -> 2" in r.output, r.output
    r = irkit("case", "set", "assets", "web-01,db-02", key=key_files.alice, case=case.root)
    assert "assets: unset -> db-02, web-01" in r.output, r.output
    r = irkit("case", "set", "impact", "3", key=key_files.alice, case=case.root)
    assert "impact: 2 -> 3" in r.output
    log = irkit("log", case=case.root).output
    assert "None" not in log and "['" not in log


def test_counts_agree_with_their_nouns(
    irkit: Runner, key_files: KeyFiles, case: Case, tmp_path: Path
) -> None:
    assert plural(1, "event") == "1 event" and plural(2, "entry", "entries") == "2 entries"
    one = tmp_path / "one.txt"
    one.write_text("x")
    r = irkit("evidence", "collect", str(one), key=key_files.alice, case=case.root)
    assert "collected 1 item" in r.output and "item(s)" not in r.output
    assert "1 item E-0001" in irkit("log", case=case.root).output
    r = irkit("verify", case=case.root)
    assert "3 entries" in r.output and "re-checked: 1 evidence item, 0 other stored files" in (
        r.output
    )


def test_percentages_are_rounded_not_truncated(
    irkit: Runner, key_files: KeyFiles, case: Case
) -> None:
    assert percent(8889, 10000) == "88.89%" and percent(1, 3) == "33.33%"
    assert percent(2, 3) == "66.67%" and percent(1, 2) == "50%" and percent(1, 0) == "-"
    for field, value in (("impact", "2"), ("urgency", "2")):
        irkit("case", "set", field, value, key=key_files.alice, case=case.root)
    at = datetime.now(UTC) + timedelta(minutes=7, seconds=13)
    r = irkit("case", "show", "--now", at.isoformat(), case=case.root)
    shown = json.loads(
        irkit("case", "show", "--json", "--now", at.isoformat(), case=case.root).output
    )["clocks"][0]
    assert f"({percent(shown['percent'], 100)})" in r.output
    assert isinstance(shown["percent"], float)
    # elapsed_s is whole seconds; the percentage is of the exact elapsed time
    slack = 100 / shown["target_s"] + 0.01
    assert abs(shown["percent"] - 100 * shown["elapsed_s"] / shown["target_s"]) < slack


def test_kpi_breaches_read_as_additional_and_satisfaction_is_a_number(
    irkit: Runner, key_files: KeyFiles, case: Case, alice: ed25519.Signer
) -> None:
    clock = FixedClock(datetime.now(UTC) - timedelta(hours=1))
    actions.set_field(case, alice, "impact", "3", reason="r", clock=clock)
    actions.set_field(case, alice, "urgency", "3", reason="r", clock=clock)
    actions.change_state(case, alice, "in_progress", reason="go", clock=clock)
    actions.change_state(
        case,
        alice,
        "resolved",
        reason="fixed",
        resolution={"code": "FIX", "solution": "fixed", "outcome": "benign"},
        clock=clock,
    )
    actions.confirm(
        case, alice, by="Ms Smith", channel="phone", satisfaction=4, comment=None, clock=clock
    )
    data = json.loads(irkit("case", "kpi", "--json", case=case.root).output)
    assert data["satisfaction_mean"] == 4 and "satisfaction_mean_permille" not in data
    assert data["fcr_percent"] == 100
    text = irkit("case", "kpi", case=case.root).output
    assert re.search(r"SLA breaches \d+ customer \+ \d+ internal \(tier\)", text), text
    assert "(internal" not in text
    assert "1 case, 1 resolved" in text and "satisfaction 4/5" in text and "0 reopens" in text


def test_verify_counts_every_copy_it_re_hashed(
    irkit: Runner, key_files: KeyFiles, case: Case, tmp_path: Path
) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    for name in ("a.log", "b.log", "c.log"):
        (folder / name).write_text("same bytes\n")  # one digest, three items
    attachment = tmp_path / "photo.jpg"
    attachment.write_bytes(b"jpeg")
    assert (
        irkit("evidence", "collect", str(folder), key=key_files.alice, case=case.root).exit_code
        == 0
    )
    r = irkit(
        "note", "add", "--attach", str(attachment), "rack", key=key_files.alice, case=case.root
    )
    assert r.exit_code == 0, r.output
    r = irkit("verify", case=case.root)
    assert "re-checked: 3 evidence items, 1 other stored file" in r.output, r.output
    data = json.loads(irkit("verify", "--json", case=case.root).output)
    assert data["evidence_checked"] == 3 and data["content_checked"] == 1
    r = irkit("verify", "--no-content", case=case.root)
    assert "re-checked" not in r.output


def test_custody_check_prints_its_entry(
    irkit: Runner, key_files: KeyFiles, case: Case, tmp_path: Path
) -> None:
    src = tmp_path / "usb.img"
    src.write_bytes(b"usb")
    irkit("evidence", "collect", str(src), key=key_files.alice, case=case.root)
    r = irkit("custody", "check", "E-0001", key=key_files.alice, case=case.root)
    assert r.exit_code == 0 and "E-0001: hash OK" in r.output
    assert "#3 custody.checked: E-0001" in r.output, r.output


def test_collect_records_source_and_collector_hosts(
    irkit: Runner, key_files: KeyFiles, case: Case, tmp_path: Path
) -> None:
    import socket

    src = tmp_path / "auth.log"
    src.write_text("log")
    r = irkit(
        "evidence", "collect", str(src), "--source-host", "web-01",
        key=key_files.alice, case=case.root,
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    body = json.loads(irkit("log", "--json", case=case.root).output)[-1]["body"]
    assert body["source_host"] == "web-01" and body["host"] == socket.gethostname()
    shown = irkit("evidence", "show", "E-0001", case=case.root).output
    assert "source_host:   web-01" in shown
    assert f"collector_host:{socket.gethostname()}" in shown
    # without it, nothing claims a source host
    other = tmp_path / "other.log"
    other.write_text("o")
    irkit("evidence", "collect", str(other), key=key_files.alice, case=case.root)
    body = json.loads(irkit("log", "--json", case=case.root).output)[-1]["body"]
    assert "source_host" not in body


def test_case_show_before_settings_says_defaults_apply(
    irkit: Runner, key_files: KeyFiles, case: Case
) -> None:
    r = irkit("case", "show", case=case.root)
    assert "need settings" not in r.output
    assert "the built-in itil3 settings, UTC, apply until `irkit case configure`" in r.output
    r = irkit(
        "case", "configure", "--preset", "itil3", "--reason", "desk",
        key=key_files.alice, case=case.root,
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    r = irkit("case", "show", case=case.root)
    assert "SLA clocks: none yet (set impact and urgency)" in r.output


def test_key_generate_wants_a_real_passphrase(irkit: Runner, tmp_path: Path) -> None:
    out = tmp_path / "k.key"
    for weak in ("a", "1234567"):
        r = irkit(
            "key", "generate", "--name", "A", "--out", str(out), env={"IRKIT_PASSPHRASE": weak}
        )
        assert r.exit_code == 2 and "needs at least 8" in r.stderr, r.output
        assert "--weak-passphrase" in r.stderr and not out.exists()
    r = irkit(
        "key", "generate", "--name", "A", "--out", str(out), "--weak-passphrase",
        env={"IRKIT_PASSPHRASE": "a"},
    )  # fmt: skip
    assert r.exit_code == 0 and keyfiles.is_encrypted(out)
    out.unlink()
    r = irkit(
        "key", "generate", "--name", "A", "--out", str(out), env={"IRKIT_PASSPHRASE": "12345678"}
    )
    assert r.exit_code == 0
    assert "8 characters" in irkit("key", "generate", "--help").output


def _piped(args: str, case_root: Path) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IRKIT_")}
    env["IRKIT_CASE"] = str(case_root)
    return subprocess.run(
        f"{sys.executable} -m irkit {args} | head -n 1",
        shell=True,
        capture_output=True,
        env=env,
        timeout=120,
    )


def test_log_and_case_show_end_quietly_into_head(
    case: Case, alice: ed25519.Signer, clock: FixedClock
) -> None:
    for i in range(1500):
        add_note(case, alice, f"note {i} " + "x" * 60, clock=clock)
    for i in range(700):
        actions.inform(case, alice, channel="phone", summary=f"update {i} " + "y" * 60, clock=clock)
    for args in ("log", "case show", "timeline"):
        proc = _piped(args, case.root)
        assert proc.stdout.count(b"\n") == 1, args
        assert proc.stderr == b"", (args, proc.stderr)
