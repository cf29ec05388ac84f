"""Notes grow up: evidence links, stars, witnesses, templates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from irkit.formats.ed25519 import Signer
from irkit.record.case import Case
from irkit.record.entry import build_line
from irkit.record.journal import entry_hash
from tests.conftest import KeyFiles, Runner
from tests.helpers import lines, verify


def _entry(output: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(output)
    return data


def test_plain_note_body_is_unchanged(irkit: Runner, case: Case, key_files: KeyFiles) -> None:
    out = irkit("note", "add", "plain", "--json", key=key_files.alice, case=case.root)
    body = _entry(out.output)["body"]
    assert sorted(body) == ["attachments", "confidential", "tags", "text"]


def test_link_and_star(irkit: Runner, case: Case, key_files: KeyFiles, tmp_path: Path) -> None:
    for name in ("a.log", "b.log"):  # a note links only items the case holds
        (tmp_path / name).write_text(name)
        got = irkit(
            "evidence", "collect", str(tmp_path / name), key=key_files.alice, case=case.root
        )
        assert got.exit_code == 0, got.output
    out = irkit(
        "note",
        "add",
        "imaged the disk",
        "--link",
        "e-0001",
        "--link",
        "E-0002",
        "--star",
        "--json",
        key=key_files.alice,
        case=case.root,
    )
    assert out.exit_code == 0, out.output
    body = _entry(out.output)["body"]
    assert body["links"] == ["E-0001", "E-0002"] and body["starred"] is True
    bad = irkit("note", "add", "x", "--link", "../etc", key=key_files.alice, case=case.root)
    assert bad.exit_code == 2 and "not an evidence item id" in bad.output
    timeline = irkit("timeline", case=case.root).output
    assert "about evidence E-0001, E-0002" in timeline and "starred" in timeline
    assert verify(case.root).ok


def test_witness(irkit: Runner, case: Case, key_files: KeyFiles) -> None:
    out = irkit("note", "add", "pulled the cable", "--json", key=key_files.alice, case=case.root)
    seq = _entry(out.output)["seq"]
    own = irkit("note", "witness", str(seq), key=key_files.alice, case=case.root)
    assert own.exit_code == 2 and "a witness must be someone else" in own.output
    ok = irkit("note", "witness", str(seq), key=key_files.bob, case=case.root)
    assert ok.exit_code == 0, ok.output
    again = irkit("note", "witness", str(seq), key=key_files.bob, case=case.root)
    assert again.exit_code == 2 and "already witnessed" in again.output
    assert irkit("note", "witness", "0", key=key_files.bob, case=case.root).exit_code == 2
    assert "witnessed by Bob" in irkit("timeline", case=case.root).output
    assert "witnesses note" in irkit("log", case=case.root).output
    assert verify(case.root).ok


def test_forged_self_witness_is_flagged(case: Case, alice: Signer) -> None:
    from irkit.notes.notes import add_note

    note = add_note(case, alice, "alone")
    existing = lines(case.root)
    line = build_line(
        alice,
        seq=len(existing),
        prev=entry_hash(existing[-1]),
        kind="note.witnessed",
        body={"note": note.seq, "statement": "me"},
        recorded="2026-01-02T03:05:00.000000Z",
    )
    with (case.root / "journal.jsonl").open("ab") as fh:
        fh.write(line + b"\n")
    assert [p.code for p in verify(case.root).problems] == ["self-witness"]


def test_template_from_file(irkit: Runner, case: Case, key_files: KeyFiles, tmp_path: Path) -> None:
    assert "first-response" in irkit("note", "templates").output
    answers = tmp_path / "answers.txt"
    answers.write_text(
        "system: web-01, rack B4\nstate: on, locked screen\n"
        "memory: winpmem image, E-0003\ndisk: not yet\nchanges: none\n",
        encoding="utf-8",
    )
    out = irkit(
        "note",
        "add",
        "--template",
        "first-response",
        "--from-file",
        str(answers),
        "--json",
        key=key_files.alice,
        case=case.root,
    )
    assert out.exit_code == 0, out.output
    body = _entry(out.output)["body"]
    assert body["template"] == "first-response"
    fields = {f["name"]: f["value"] for f in body["fields"]}
    assert fields["memory"] == "winpmem image, E-0003" and fields["registers-cache"] == ""
    assert "rfc3227" in body["tags"]
    assert "2. Routing table, ARP cache" in body["text"]
    missing = tmp_path / "missing.txt"
    missing.write_text("system: web-01\n", encoding="utf-8")
    bad = irkit(
        "note",
        "add",
        "--template",
        "first-response",
        "--from-file",
        str(missing),
        key=key_files.alice,
        case=case.root,
    )
    assert bad.exit_code == 2 and "needs an answer" in bad.output
    unknown = irkit("note", "add", "--template", "nope", key=key_files.alice, case=case.root)
    assert unknown.exit_code == 2 and "no note template" in unknown.output
    assert verify(case.root).ok


def test_template_prompts_in_a_terminal(case: Case, alice: Signer) -> None:
    from irkit.notes import templates

    tpl = templates.load("backup-failure")
    asked: list[str] = []

    def ask(field: templates.TemplateField) -> str:
        asked.append(field.name)
        return f"answer {field.name}"

    fields = templates.fill(tpl, {"job": "nightly-db"}, ask)
    assert asked == ["last-success", "error", "data-at-risk", "action"]
    assert fields[0] == {"name": "job", "label": tpl.fields[0].label, "value": "nightly-db"}


def test_template_asks_each_field_at_a_terminal(
    irkit: Runner, case: Case, key_files: KeyFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    import types

    import irkit._cli.note as notecmd

    # CliRunner's stdin is no terminal; pretend it is so that the prompts run.
    fake_sys = types.SimpleNamespace(stdin=types.SimpleNamespace(isatty=lambda: True))
    monkeypatch.setattr(notecmd, "sys", fake_sys)
    answers = "nightly-db\nyesterday 02:00\ndisk full\nall of today\nfreed space, rerun\n"
    out = irkit(
        "note",
        "add",
        "--template",
        "backup-failure",
        "--json",
        input=answers,
        key=key_files.alice,
        case=case.root,
    )
    assert out.exit_code == 0, out.output
    body = json.loads(out.output[out.output.index("{") :])
    assert [f["value"] for f in body["body"]["fields"]] == [
        "nightly-db",
        "yesterday 02:00",
        "disk full",
        "all of today",
        "freed space, rerun",
    ]


def test_no_text_opens_the_editor_at_a_terminal(
    case: Case, key_files: KeyFiles, tmp_path: Path
) -> None:
    """`irkit note add` with no TEXT, at a real terminal (a pty), runs $EDITOR on a file whose
    # lines are dropped; the note holds what the editor wrote."""
    import os
    import pty
    import subprocess
    import sys

    editor = tmp_path / "editor.sh"
    editor.write_text(
        '#!/bin/sh\nprintf "Seen on console: kernel panic\\n%s" "$(cat "$1")" > "$1"\n'
    )
    editor.chmod(0o755)
    controller, terminal = pty.openpty()
    env = {
        **os.environ,
        "EDITOR": str(editor),
        "VISUAL": str(editor),
        "IRKIT_KEY": str(key_files.bob),
        "IRKIT_CASE": str(case.root),
    }
    try:
        done = subprocess.run(
            [sys.executable, "-m", "irkit", "note", "add", "--tag", "console"],
            stdin=terminal,
            capture_output=True,
            env=env,
            timeout=60,
        )
    finally:
        os.close(terminal)
        os.close(controller)
    assert done.returncode == 0, done.stderr
    last = json.loads(lines(case.root)[-1])
    assert last["kind"] == "note.added"
    assert last["body"]["text"] == "Seen on console: kernel panic"
    assert last["body"]["tags"] == ["console"]
