"""Child processes never see irkit's secrets: the passphrase must not reach a restore tool,
a spec's [[command]] check or a PostgreSQL step, whose output is stored in the case."""

from __future__ import annotations

import ast
import os
import shlex
import sys
from pathlib import Path
from typing import Any

import pytest

import irkit
from irkit import childenv
from irkit.formats import ed25519
from irkit.record import keyfiles
from irkit.record.case import Case

MARKER = "irkit-secret-marker-7f3c9a1e"
IRKIT = Path(irkit.__file__).resolve().parent  # the irkit that runs (checkout or install)
_PRINT_ENV = "import os,sys; sys.stdout.write(repr(dict(os.environ)))"


def _tree_bytes(root: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())


def test_the_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IRKIT_PASSPHRASE", MARKER)
    monkeypatch.setenv("IRKIT_REMOTE_TOKEN", MARKER)
    monkeypatch.setenv("RESTIC_PASSWORD", "the tool's own")
    monkeypatch.setenv("IRKIT_CASE", "/some/case")
    env = childenv.child_env({"EXTRA": "1", "irkit_passphrase": MARKER})
    assert MARKER not in repr(env)
    assert env["RESTIC_PASSWORD"] == "the tool's own"  # not irkit's: the tool may need it
    assert env["IRKIT_CASE"] == "/some/case" and env["EXTRA"] == "1"
    bare = childenv.child_env({"PATH": "/bin", "IRKIT_PASSPHRASE": MARKER}, inherit=False)
    assert bare == {"PATH": "/bin"}


def _calls(tree: ast.AST) -> list[ast.Call]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call)]


def test_every_child_process_gets_the_cleaned_environment() -> None:
    """Every subprocess call in irkit passes env= built by child_env; nothing execs around it."""
    found = 0
    for path in sorted(IRKIT.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for call in _calls(tree):
            func = call.func
            name = ast.unparse(func)
            assert not name.startswith(("os.system", "os.popen", "os.exec", "os.spawn")), (
                f"{path.name}:{call.lineno}: {name} bypasses child_env"
            )
            if name not in ("subprocess.run", "subprocess.Popen", "subprocess.check_output"):
                continue
            found += 1
            env = [k.value for k in call.keywords if k.arg == "env"]
            assert env, f"{path.name}:{call.lineno}: {name} without env="
            text = ast.unparse(env[0])
            assert text.startswith("child_env(") or text == "self.env", (
                f"{path.name}:{call.lineno}: env={text} is not built by child_env"
            )
    assert found >= 5


def test_children_started_without_env_run_with_secrets_hidden() -> None:
    """click.edit takes no env= that could drop a variable: it runs inside secrets_hidden."""
    found = 0
    for path in sorted(IRKIT.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        hidden: set[int] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.With) and any(
                "secrets_hidden" in ast.unparse(item.context_expr) for item in node.items
            ):
                hidden.update(id(c) for c in _calls(node))
        for call in _calls(tree):
            if ast.unparse(call.func) in ("click.edit", "click.launch"):
                found += 1
                assert id(call) in hidden, f"{path.name}:{call.lineno}: outside secrets_hidden"
    assert found >= 1


@pytest.fixture
def locked_key(tmp_path: Path, bob: ed25519.Signer) -> Path:
    """Bob's key, locked with the marker: the passphrase really is used by the command."""
    path = tmp_path / "bob-locked.key"
    keyfiles.write_key_file(path, bob, MARKER, created="2026-01-01T00:00:00.000000Z")
    return path


def test_restore_cmd_and_spec_command_do_not_see_the_passphrase(
    tmp_path: Path, irkit: Any, case: Case, locked_key: Path
) -> None:
    source = tmp_path / "source"
    source.mkdir()
    (source / "data.txt").write_text("payload\n")
    py = shlex.quote(sys.executable)
    # the restore tool prints its environment and then restores the one file
    script = tmp_path / "restore.py"
    script.write_text(
        f"{_PRINT_ENV}\nimport shutil; shutil.copy({str(source / 'data.txt')!r}, sys.argv[1])\n"
    )
    spec = tmp_path / "spec.toml"
    spec.write_text(
        f'[[command]]\nrun = [{sys.executable!r}, "-c", {_PRINT_ENV!r}]\n'
        '[[command]]\nrun = ["env"]\n'
    )
    scratch_parent = tmp_path / "tmp"
    scratch_parent.mkdir()
    r = irkit(
        *("backup", "verify", str(source), "--source", str(source), "--spec", str(spec)),
        *("--restore-cmd", f"{py} {shlex.quote(str(script))} {{dest}}/data.txt"),
        "--sign-off",
        "--json",
        case=case.root,
        key=locked_key,
        env={"IRKIT_PASSPHRASE": MARKER, "TMPDIR": str(scratch_parent)},
    )
    assert r.exit_code == 0, r.output
    assert "PATH" in r.output  # the environments were printed and stored
    assert MARKER not in r.output
    assert MARKER.encode() not in _tree_bytes(case.root)  # journal, store, keys: everything
    assert MARKER.encode() not in _tree_bytes(scratch_parent)
    assert case.read_entries().entries[-1].body["signed_off"] is True


def test_postgres_steps_do_not_see_the_passphrase(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from irkit.backup import postgres

    monkeypatch.setenv("IRKIT_PASSPHRASE", MARKER)
    try:
        bindir = postgres.find_bindir()
    except postgres.PostgresNotFound as exc:  # pragma: no cover -- CI has PostgreSQL
        pytest.fail(str(exc))
    work = Path(os.path.realpath(tmp_path)) / "w"
    work.mkdir()
    cluster = postgres._Cluster(bindir, work)
    code, out, _ = cluster.run("env", ["env"], 30, env={"PGOPTIONS": "-c x=1"}, stdout_to_log=False)
    assert code == 0 and b"PGHOST=" in out
    assert MARKER.encode() not in out


def test_secrets_hidden_while_a_child_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """For children started without an env= (click.edit's $EDITOR): hidden, then back."""
    import subprocess

    monkeypatch.setenv("IRKIT_PASSPHRASE", MARKER)
    with childenv.secrets_hidden():
        out = subprocess.run(["env"], capture_output=True, check=True, env=None).stdout
    assert MARKER.encode() not in out
    assert os.environ["IRKIT_PASSPHRASE"] == MARKER


def test_the_note_editor_does_not_see_the_passphrase(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`irkit note add` without text opens $EDITOR; what it writes becomes the note."""
    import io

    from irkit._cli import note

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    editor = tmp_path / "editor.py"  # "edits" by writing its environment into the note
    editor.write_text(
        "import os, sys\nopen(sys.argv[1], 'a').write('env ' + repr(dict(os.environ)))\n"
    )
    monkeypatch.setenv("EDITOR", f"{shlex.quote(sys.executable)} {shlex.quote(str(editor))}")
    monkeypatch.setenv("IRKIT_PASSPHRASE", MARKER)
    monkeypatch.setattr(sys, "stdin", Terminal())
    text = note._note_text(None)
    assert text.startswith("env {") and "PATH" in text
    assert MARKER not in text
    assert os.environ["IRKIT_PASSPHRASE"] == MARKER  # back for signing
