"""The one exit path: bugs are not findings, a closed pipe is not an error."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from irkit._cli import cli
from irkit.errors import EXIT_BUG


def _boom(*args: object, **kwargs: object) -> None:
    raise ValueError("unexpected \x1b]0;title\x07 state")


def test_unexpected_exception_is_a_bug_not_a_finding(
    monkeypatch: pytest.MonkeyPatch, isolated_env: Path
) -> None:
    import irkit.keys

    monkeypatch.setattr(irkit.keys, "generate", _boom)
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
    import irkit.keys

    monkeypatch.setattr(irkit.keys, "generate", _boom)
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
