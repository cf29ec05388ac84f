"""Malformed inputs, one table per input type (in the style of python-tuf's invalid-metadata
tests): each gives one clear line and exit 2 (or a warning), never a traceback, and leaves
nothing behind."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from irkit.formats.canonical import canonical_bytes
from irkit.formats.ed25519 import Signer
from irkit.record.case import Case
from irkit.record.journal import entry_hash
from tests.conftest import KeyFiles, Runner
from tests.helpers import entry, lines

# -- journal lines that are valid JSON with the wrong types --------------------------------

NOTE = {"text": "t", "tags": [], "attachments": [], "confidential": False}

# name -> (field overrides of the entry, or of its body when the key is "body.")
WRONG_TYPED: dict[str, dict[str, Any]] = {
    "body-a-list": {"kind": "note.added", "body": ["x"]},
    "body-a-string": {"kind": "note.added", "body": "x"},
    "body-missing": {"kind": "note.added", "body": None},
    "seq-a-string": {"kind": "note.added", "seq": "5"},
    "seq-negative": {"kind": "note.added", "seq": -1},
    "kind-an-int": {"kind": 7},
    "kind-unknown": {"kind": "note.bogus"},
    "recorded-an-int": {"kind": "note.added", "recorded": 1700000000},
    "actor-a-list": {"kind": "note.added", "actor": ["a"]},
    "text-a-list": {"kind": "note.added", "body": dict(NOTE, text=["a", "b"])},
    "event-time-an-int": {"kind": "note.added", "body": dict(NOTE, event_time=12)},
    "tags-a-string": {"kind": "note.added", "body": dict(NOTE, tags="abc")},
    "attachments-of-ints": {"kind": "note.added", "body": dict(NOTE, attachments=[1])},
    "items-not-a-list": {
        "kind": "evidence.collected",
        "body": {"items": "E-0001", "description": "d", "host": "h"},
    },
    "member-a-string": {"kind": "member.added", "body": {"member": "x"}},
    "released-items-an-int": {
        "kind": "custody.released",
        "body": {"transfer": "T-0001", "items": 5, "to": "x", "purpose": "p"},
    },
    "field-value-a-dict": {
        "kind": "incident.field",
        "body": {"field": {"a": 1}, "old": None, "new": 3, "reason": "r"},
    },
    "witness-note-a-string": {"kind": "note.witnessed", "body": {"note": "1", "statement": "s"}},
    "corrects-a-list": {"kind": "note.corrected", "body": dict(NOTE, corrects=[0], reason="r")},
}

READERS: list[tuple[str, ...]] = [
    ("log",),
    ("timeline",),
    ("member", "list"),
    ("case", "show"),
    ("case", "kpi"),
    ("evidence", "list"),
    ("evidence", "show", "E-0001"),
    ("custody", "show", "E-0001"),
    ("report", "-o", "out.pdf"),
    ("report", "--template", "custody", "-o", "custody.pdf"),
    ("exhibit", "create", "0", "-o", "ex.json"),
    ("note", "add", "after the bad line"),
    ("verify",),
]


# Commands that fold the entries (the others read only the tail, the roster or raw lines).
FOLDING = {c[:2] for c in READERS} - {
    ("member", "list"),
    ("exhibit", "create"),
    ("note", "add"),
    ("verify",),
}


def _append_raw(case: Case, signer: Signer, overrides: dict[str, Any]) -> None:
    """Append a signed, chained line carrying `overrides` (what an older or broken writer
    might have left): valid JSON, wrong types."""
    old = lines(case.root)
    obj: dict[str, Any] = {
        "actor": signer.fingerprint,
        "body": dict(NOTE),
        "format": 1,
        "kind": "note.added",
        "prev": entry_hash(old[-1]),
        "recorded": "2026-01-02T03:05:00.000000Z",
        "seq": len(old),
    }
    for key, value in overrides.items():
        if value is None:
            obj.pop(key)
        else:
            obj[key] = value
    unsigned = canonical_bytes(obj)
    line = unsigned[:-1] + b',"sig":"' + base64.b64encode(signer.sign(unsigned)) + b'"}'
    with case.journal_path.open("ab") as out:
        out.write(line + b"\n")
    case.invalidate_state()


@pytest.fixture
def busy_case(irkit: Runner, case: Case, key_files: KeyFiles, tmp_path: Path) -> Case:
    run = {"key": key_files.alice, "case": case.root}
    assert irkit("note", "add", "first", **run).exit_code == 0
    src = tmp_path / "ev.txt"
    src.write_text("evidence", encoding="utf-8")
    assert irkit("evidence", "collect", str(src), "--description", "d", **run).exit_code == 0
    assert irkit("case", "set", "impact", "2", "--reason", "r", **run).exit_code == 0
    return case


@pytest.mark.parametrize("command", READERS, ids=lambda c: "-".join(c[:2]))
@pytest.mark.parametrize("bad", sorted(WRONG_TYPED))
def test_wrong_typed_line_never_crashes_a_reader(
    irkit: Runner,
    busy_case: Case,
    alice: Signer,
    key_files: KeyFiles,
    bad: str,
    command: tuple[str, ...],
) -> None:
    _append_raw(busy_case, alice, WRONG_TYPED[bad])
    before = lines(busy_case.root)
    out = irkit(*command, key=key_files.alice, case=busy_case.root)
    assert out.exit_code in (0, 1, 2), out.output
    assert "Traceback" not in out.output and "internal error" not in out.output, out.output
    if out.exit_code == 2:
        assert out.output.count("irkit: error:") == 1, out.output
    elif command[:2] in FOLDING:
        assert "is malformed" in out.output and "irkit verify" in out.output, out.output
    if command[0] == "note" and out.exit_code != 0:
        assert lines(busy_case.root) == before  # refused whole: nothing appended
    elif command[0] == "verify":
        assert out.exit_code == 1


def test_validated_entries_only(busy_case: Case, alice: Signer) -> None:
    """Folds downstream of read_entries see only entries that passed the body model."""
    _append_raw(busy_case, alice, WRONG_TYPED["text-a-list"])
    result = busy_case.read_entries()
    assert [index for index, _ in result.problems] == [len(lines(busy_case.root)) - 1]
    assert all(isinstance(e.body.get("text", ""), str) for e in result.entries)
    assert "note.added body: text" in result.problems[0][1]
    assert entry(lines(busy_case.root)[-1])["body"]["text"] == ["a", "b"]


# -- text that is not UTF-8 (argv and environment hand it over surrogate-escaped) -----------

BAD = "bad\udcff\udcfe"  # what Python makes of the bytes b"bad\xff\xfe" in argv

# name -> command line; each refused before anything is copied, signed or written
NOT_UTF8_ARGS: dict[str, tuple[str, ...]] = {
    "note-text": ("note", "add", BAD),
    "note-tag": ("note", "add", "ok", "--tag", BAD),
    "note-event-time": ("note", "add", "ok", "--event-time", BAD),
    "collect-description": ("evidence", "collect", "SRC", "--description", BAD),
    "collect-location": ("evidence", "collect", "SRC", "--location", BAD),
    "correct-reason": ("note", "correct", "0", "fixed", "--reason", BAD),
    "witness-statement": ("note", "witness", "0", "--statement", BAD),
    "member-name": ("member", "add", "MALLORY", "--name", BAD, "--role", "responder"),
    "member-remove-reason": ("member", "remove", "BOB", "--reason", BAD),
    "case-set": ("case", "set", "category", BAD, "--reason", "r"),
    "case-set-reason": ("case", "set", "category", "c", "--reason", BAD),
    "case-show-now": ("case", "show", "--now", BAD),
    "log-kind": ("log", "--kind", BAD),
    "custody-purpose": ("custody", "release", "E-0001", "--to", "BOB", "--purpose", BAD),
    "key-name": ("key", "generate", "--name", BAD, "--no-passphrase", "--out", "new.key"),
}


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.mark.parametrize("name", sorted(NOT_UTF8_ARGS))
def test_text_that_is_not_utf8_is_refused_first(
    irkit: Runner,
    case: Case,
    key_files: KeyFiles,
    bob: Signer,
    tmp_path: Path,
    name: str,
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "big.bin").write_bytes(b"x" * 4096)
    swap = {
        "SRC": str(src),
        "BOB": bob.fingerprint,
        "MALLORY": str(key_files.mallory),
    }
    args = [swap.get(a, a) for a in NOT_UTF8_ARGS[name]]
    before = _tree(tmp_path)
    journal = lines(case.root)
    out = irkit(*args, key=key_files.alice, case=case.root)
    assert out.exit_code == 2, out.output
    assert out.output.startswith("irkit: error:") and "not valid UTF-8" in out.output
    assert len(out.output.strip().splitlines()) == 1, out.output
    assert lines(case.root) == journal
    assert _tree(tmp_path) == before  # no store folder, blob, temp file or key


def test_note_from_stdin_that_is_not_utf8(irkit: Runner, case: Case, key_files: KeyFiles) -> None:
    from click.testing import CliRunner

    from irkit._cli import cli

    journal = lines(case.root)
    out = CliRunner().invoke(
        cli,
        ["note", "add", "-"],
        input=b"caf\xe9\n",
        env={"IRKIT_KEY": str(key_files.alice), "IRKIT_CASE": str(case.root)},
    )
    assert out.exit_code == 2 and "standard input is not valid UTF-8" in out.output, out.output
    assert lines(case.root) == journal


@pytest.mark.parametrize("command", [("note", "add", "x"), ("key", "generate", "--name", "N")])
def test_passphrase_that_is_not_utf8(
    irkit: Runner, case: Case, tmp_path: Path, alice: Signer, command: tuple[str, ...]
) -> None:
    from irkit.record import keyfiles

    locked = tmp_path / "locked.key"
    keyfiles.write_key_file(
        locked, alice, "right", created="2026-01-01T00:00:00.000000Z", scrypt_n=2**10
    )
    journal = lines(case.root)
    out = irkit(*command, key=locked, case=case.root, env={"IRKIT_PASSPHRASE": "p\udcff"})
    assert out.exit_code == 2, out.output
    assert out.output.strip() == "irkit: error: IRKIT_PASSPHRASE is not valid UTF-8"
    assert lines(case.root) == journal


def test_library_refuses_a_passphrase_that_is_not_utf8(tmp_path: Path, alice: Signer) -> None:
    from irkit.errors import KeyFileError
    from irkit.record import keyfiles

    locked = tmp_path / "locked.key"
    keyfiles.write_key_file(
        locked, alice, "right", created="2026-01-01T00:00:00.000000Z", scrypt_n=2**10
    )
    with pytest.raises(KeyFileError, match="not valid UTF-8"):
        keyfiles.load_signer(locked, lambda: "p\udcff")


# -- key files that ask scrypt for too much -------------------------------------------------

# name -> encryption overrides; each refused before any derivation (a passphrase is never
# even asked for)
KDF_PARAMS: dict[str, dict[str, Any]] = {
    "16-GiB": {"n": 2**22, "r": 32, "p": 1},
    "512-MiB": {"n": 2**19, "r": 8, "p": 1},
    "n-2^30": {"n": 2**30, "r": 8, "p": 1},
    "n-2^64": {"n": 2**64, "r": 1, "p": 1},
    "p-16-at-256-MiB": {"n": 2**18, "r": 8, "p": 16},
    "n-not-power-of-two": {"n": 3000, "r": 8, "p": 1},
    "n-zero": {"n": 0, "r": 8, "p": 1},
    "r-zero": {"n": 2**14, "r": 0, "p": 1},
    "p-negative": {"n": 2**14, "r": 8, "p": -1},
    "n-a-string": {"n": "131072"},
    "n-a-float": {"n": 131072.0},
    "n-a-bool": {"r": True},
    "n-missing": {"n": None},
}


@pytest.mark.parametrize("name", sorted(KDF_PARAMS))
def test_key_file_kdf_cost_is_capped(
    irkit: Runner, case: Case, tmp_path: Path, alice: Signer, name: str
) -> None:
    import json
    import os

    from irkit.errors import KeyFileError
    from irkit.record import keyfiles

    path = tmp_path / "crafted.key"
    keyfiles.write_key_file(
        path, alice, "pw", created="2026-01-01T00:00:00.000000Z", scrypt_n=2**10
    )
    doc = json.loads(path.read_text(encoding="utf-8"))
    for key, value in KDF_PARAMS[name].items():
        if value is None:
            doc["encryption"].pop(key)
        else:
            doc["encryption"][key] = value
    path.write_text(json.dumps(doc), encoding="utf-8")
    os.chmod(path, 0o600)
    asked: list[bool] = []

    def passphrase() -> str:
        asked.append(True)
        return "pw"

    with pytest.raises(KeyFileError, match="KDF parameters"):
        keyfiles.load_signer(path, passphrase)
    assert not asked
    out = irkit("note", "add", "x", key=path, case=case.root, env={"IRKIT_PASSPHRASE": "pw"})
    assert out.exit_code == 2 and "KDF parameters" in out.output, out.output
    assert len(out.output.strip().splitlines()) == 1


def test_default_kdf_cost_is_within_the_cap() -> None:
    from irkit.record import keyfiles

    assert (
        keyfiles.scrypt_cost_problem(keyfiles.SCRYPT_N, keyfiles.SCRYPT_R, keyfiles.SCRYPT_P)
        is None
    )
    assert keyfiles.scrypt_cost_problem(2**18, 8, 1) is None  # 256 MiB: the documented maximum
