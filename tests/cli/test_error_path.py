"""Every message reaches the user through IrkitError.diagnostics(), and every command ends
through the same path: `verify` finding problems raises ProblemsFound like the rest."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from irkit._cli import cli
from irkit._cli._common import safe
from irkit.errors import EXIT_PROBLEMS, EXIT_USAGE, InputError
from irkit.record.case import Case
from tests.conftest import KeyFiles


def _tampered(case: Case) -> Path:
    journal = case.root / "journal.jsonl"
    data = journal.read_bytes()
    journal.write_bytes(data.replace(b'"name":"Bob"', b'"name":"Rob"', 1))
    return case.root


def test_verify_problems_leave_by_the_one_exit_path(case: Case) -> None:
    root = _tampered(case)
    result = CliRunner().invoke(cli, ["verify", "--case", str(root)])
    assert result.exit_code == EXIT_PROBLEMS, result.output
    assert "FAILED: " in result.stdout
    assert result.stderr.splitlines()[-1].startswith("irkit: error: verification failed: ")


def test_verify_json_output_stays_json(case: Case) -> None:
    root = _tampered(case)
    result = CliRunner().invoke(cli, ["verify", "--case", str(root), "--json"])
    assert result.exit_code == EXIT_PROBLEMS
    assert json.loads(result.stdout)["ok"] is False
    assert "irkit: error: verification failed" in result.stderr


def test_diagnostics_escape_each_part_and_keep_the_hint_on_its_own_line() -> None:
    error = InputError("bad\nirkit: error: fake", hint="try \x1b[2Jthis")
    assert error.diagnostics() == "bad\nirkit: error: fake\nhint: try \x1b[2Jthis"
    shown = error.diagnostics(escape=safe)
    assert shown == "bad\\x0airkit: error: fake\nhint: try \\x1b[2Jthis"


def test_a_newline_in_a_message_cannot_fake_a_line(
    tmp_path: Path, key_files: KeyFiles, isolated_env: Path
) -> None:
    where = tmp_path / "no\nirkit: error: forged line"
    result = CliRunner().invoke(
        cli, ["note", "add", "x", "--case", str(where), "--key", str(key_files.alice)]
    )
    assert result.exit_code == EXIT_USAGE, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("irkit: error:")]
    assert len(errors) == 1 and "\\x0a" in errors[0], result.stderr
