"""The one exit path: bugs are not findings, a closed pipe is not an error."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from irkit._cli import cli
from irkit.errors import EXIT_BUG


def _boom(*args: object, **kwargs: object) -> None:
    raise ValueError("unexpected \x1b]0;title\x07 state")


def test_unexpected_exception_is_a_bug_not_a_finding(
    monkeypatch: pytest.MonkeyPatch, isolated_env: Path
) -> None:
    import irkit.formats.ed25519

    monkeypatch.setattr(irkit.formats.ed25519, "generate", _boom)
    result = CliRunner().invoke(cli, ["key", "generate", "--name", "A", "--no-passphrase"])
    assert result.exit_code == EXIT_BUG, result.output
    lines = [x for x in result.output.splitlines() if "warning" not in x]
    assert lines[0].startswith("irkit: internal error (a bug in irkit): ValueError")
    assert "\x1b" not in result.output and "\x07" not in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("how", ["env", "flag"])
def test_debug_shows_the_traceback(
    monkeypatch: pytest.MonkeyPatch, isolated_env: Path, how: str
) -> None:
    import irkit._cli._common as common
    import irkit.formats.ed25519

    monkeypatch.setattr(irkit.formats.ed25519, "generate", _boom)
    monkeypatch.setattr(common, "_DEBUG", False)
    args = ["key", "generate", "--name", "A", "--no-passphrase"]
    env = {}
    if how == "env":
        env["IRKIT_DEBUG"] = "1"
    else:
        args.insert(0, "--debug")
    result = CliRunner().invoke(cli, args, env=env)
    assert isinstance(result.exception, ValueError)


def test_broken_pipe_exits_quietly(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    for i in range(3000):
        (tree / f"f{i:05d}").write_bytes(b"x" * 10)
    env = {k: v for k, v in os.environ.items() if not k.startswith("IRKIT_")}
    proc = subprocess.run(
        f"{sys.executable} -m irkit hash {tree} | head -n 1",
        shell=True,
        capture_output=True,
        env=env,
        timeout=60,
    )
    assert proc.stdout.count(b"\n") == 1
    assert proc.stderr == b"", proc.stderr


def test_the_passphrase_leaves_the_environment_before_the_command_runs(
    irkit: Callable[..., Result], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever a command starts (a tool, a forked worker, $EDITOR) inherits os.environ: the
    passphrase is taken out of it at start-up and still unlocks the key."""
    from irkit.notes import notes

    env = {"IRKIT_PASSPHRASE": "correct horse battery staple"}
    key = tmp_path / "a.key"
    made = irkit("key", "generate", "--name", "A", "--role", "lead", "--out", str(key), env=env)
    assert made.exit_code == 0, made.output
    assert irkit("init", str(tmp_path / "c"), "--title", "T", key=key, env=env).exit_code == 0
    seen: list[str | None] = []
    real = notes.add_note

    def spy(*args: object, **kwargs: object) -> object:
        seen.append(os.environ.get("IRKIT_PASSPHRASE"))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(notes, "add_note", spy)
    result = irkit("note", "add", "hello", key=key, case=tmp_path / "c", env=env)
    assert result.exit_code == 0, result.output
    assert seen == [None]
