"""A `\\ud800` escape is valid JSON but no Unicode text: refused where it is parsed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from irkit.audit import exhibit
from irkit.errors import InputError
from irkit.notes.notes import add_note
from irkit.record.case import Case
from tests.conftest import KeyFiles, Runner
from tests.helpers import lines, write_lines


def test_a_lone_surrogate_in_the_journal_is_a_finding_not_a_crash(
    case: Case, bob: object, irkit: Runner, key_files: KeyFiles
) -> None:
    add_note(case, bob, "hello")  # type: ignore[arg-type]
    journal = lines(case.root)
    journal[-1] = journal[-1].replace(b'"hello"', b'"hel\\ud800lo"')
    write_lines(case.root, journal)
    result = irkit("verify", case=case.root)
    assert result.exit_code == 1, result.output
    assert "surrogate" in result.output
    for args in (
        ("log",),
        ("timeline",),
        ("case", "show"),
        ("evidence", "list"),
        ("log", "--json"),
    ):
        result = irkit(*args, case=case.root)
        assert result.exit_code in (0, 1), (args, result.output)
        assert "internal error" not in result.output, args


def test_a_lone_surrogate_in_an_exhibit_is_malformed_input(tmp_path: Path) -> None:
    doc = {
        "type": exhibit.EXHIBIT_TYPE,
        "format": 1,
        "checkpoint": "x",
        "entries": [{"seq": 0, "line": "\ud800", "proof": []}],
    }
    raw = json.dumps(doc).encode()
    assert b"\\ud800" in raw
    with pytest.raises(InputError, match="surrogate"):
        exhibit.verify(raw, ("ed25519:" + "ab" * 32,))
