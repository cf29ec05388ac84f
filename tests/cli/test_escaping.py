"""Recorded text cannot drive the terminal or fake a line of irkit's human output."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from irkit._cli._common import safe
from irkit.formats.ed25519 import Signer
from irkit.record.case import Case
from tests.conftest import KeyFiles, Runner

# OSC title, NUL, CR (overwrite the line), one-byte CSI, right-to-left override, BEL,
# DEL, a lone surrogate-free bidi isolate, and a newline that would fake an entry line.
HOSTILE = "ok\x1b]0;pwned\x07 nul\x00 cr\rX csi\x9b2J rlo\u202eevil del\x7f iso\u2066"
FAKE_LINE = "first\n#99    2026-01-01T00:00:00.000000Z  case.opened  forged"

# What must never reach the terminal: C0 except the newline that ends an output line, DEL,
# C1, the bidi controls.
_RAW = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b]0;t\x07", "\\x1b]0;t\\x07"),
        ("a\x00b", "a\\x00b"),
        ("a\rb\nc\td", "a\\x0db\\x0ac\\x09d"),
        ("\x9b", "\\x9b"),
        ("\x7f", "\\x7f"),
        ("\u202eabc\u2069", "\\u202eabc\\u2069"),
        ("\udcff", "\\udcff"),
        ("\u2028", "\\u2028"),
        ("plain é ✓ 😀 C:\\path", "plain é ✓ 😀 C:\\path"),
    ],
)
def test_safe(raw: str, shown: str) -> None:
    assert safe(raw) == shown


def _clean(output: str) -> None:
    assert not _RAW.search(output), repr(output)
    assert "\u202e" not in output and "\x1b" not in output


@pytest.fixture
def hostile_case(
    irkit: Runner, case: Case, key_files: KeyFiles, bob: Signer, tmp_path: Path
) -> Case:
    """Every kind of recorded text the CLI shows, each carrying control characters."""
    run = {"key": key_files.alice, "case": case.root}
    assert irkit("note", "add", HOSTILE, "--tag", "t\x1b[2J", **run).exit_code == 0
    assert irkit("note", "add", FAKE_LINE, **run).exit_code == 0
    added = irkit(
        "member",
        "add",
        str(key_files.mallory),
        "--name",
        "Mal\x1b]0;x\x07",
        "--role",
        "lead",
        **run,
    )
    assert added.exit_code == 0, added.output
    _clean(added.output)
    src = tmp_path / "src"
    src.mkdir()
    (src / "f\x1b[31mred.log").write_bytes(b"data")
    collected = irkit(
        "evidence",
        "collect",
        str(src),
        "--description",
        HOSTILE,
        "--location",
        "room\r\x9b",
        **run,
    )
    assert collected.exit_code == 0, collected.output
    _clean(collected.output)
    released = irkit(
        "custody",
        "release",
        "E-0001",
        "--to",
        bob.fingerprint,
        "--purpose",
        HOSTILE,
        **run,
    )
    assert released.exit_code == 0, released.output
    _clean(released.output)
    field = irkit("case", "set", "category", HOSTILE, "--reason", "r\x1b[1A", **run)
    assert field.exit_code == 0, field.output
    _clean(field.output)
    return case


@pytest.mark.parametrize(
    "command",
    [
        ("log",),
        ("timeline",),
        ("member", "list"),
        ("case", "show"),
        ("evidence", "list"),
        ("evidence", "show", "E-0001"),
        ("custody", "show", "E-0001"),
    ],
)
def test_commands_escape_recorded_text(
    irkit: Runner, hostile_case: Case, command: tuple[str, ...]
) -> None:
    out = irkit(*command, case=hostile_case.root)
    assert out.exit_code == 0, out.output
    _clean(out.output)
    assert "\\x1b" in out.output  # shown escaped, not dropped


def test_note_newline_cannot_fake_a_log_line(irkit: Runner, hostile_case: Case) -> None:
    log = irkit("log", case=hostile_case.root).output
    assert not any(line.startswith("#99") for line in log.splitlines())
    timeline = irkit("timeline", case=hostile_case.root).output
    lines = timeline.splitlines()
    at = lines.index("    | first")
    assert lines[at + 1].startswith("    | #99")  # a continuation, not a record


def test_json_output_keeps_the_text_exact(irkit: Runner, hostile_case: Case) -> None:
    out = irkit("log", "--json", case=hostile_case.root)
    texts = [e["body"].get("text") for e in json.loads(out.output)]
    assert HOSTILE in texts


def test_error_messages_are_escaped(irkit: Runner, hostile_case: Case) -> None:
    out = irkit("evidence", "show", "E-\x1b]0;x\x07", case=hostile_case.root)
    assert out.exit_code == 2
    _clean(out.output)
