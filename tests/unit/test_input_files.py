"""Files the user names are read without blocking, only when regular, and bounded."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from irkit.errors import InputError
from irkit.record.safefile import read_input


def test_a_regular_file_and_a_symlink_to_one_are_read(tmp_path: Path) -> None:
    f = tmp_path / "m.txt"
    f.write_bytes(b"data")
    (tmp_path / "link").symlink_to(f)
    assert read_input(f) == b"data"
    assert read_input(tmp_path / "link") == b"data"


@pytest.mark.parametrize("where", ["fifo", "device", "folder", "missing"])
def test_anything_else_is_one_clear_error(tmp_path: Path, where: str) -> None:
    path = tmp_path / where
    if where == "fifo":
        os.mkfifo(path)
    elif where == "device":
        path = Path("/dev/zero")
    elif where == "folder":
        path.mkdir()
    with pytest.raises(InputError, match="cannot read manifest"):
        read_input(path, what="manifest")


def test_a_file_over_the_limit_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "big"
    f.write_bytes(b"x" * 1000)
    with pytest.raises(InputError, match="too large"):
        read_input(f, limit=999)


@pytest.mark.parametrize(
    "args",
    [
        ["hash", "--audit", "{dev}", "{tmp}"],
        ["hash", "--audit", "{fifo}", "{tmp}"],
        ["report", "--check", "{dev}"],
        ["exhibit", "verify", "{fifo}", "--trust", "ed25519:" + "ab" * 32],
        ["backup", "verify", "{tmp}", "--manifest", "{dev}"],
        ["backup", "verify", "{tmp}", "--spec", "{fifo}"],
        ["note", "add", "x", "--key", "{fifo}"],
        ["member", "add", "{dev}", "--name", "B", "--role", "responder"],
        ["note", "add", "x", "--passphrase-file", "{fifo}"],
        ["backup", "verify", "{fifo}", "--source", "{tmp}"],
        ["backup", "verify", "{dev}", "--source", "{tmp}"],
        ["backup", "verify", "{tmp}", "--source", "{tmp}", "--restore-cmd", "'open {{dest}}"],
    ],
)
def test_commands_never_block_on_a_device_or_fifo(tmp_path: Path, args: list[str]) -> None:
    """/dev/zero never ends and a FIFO without a writer blocks: both must be refused at once."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    (tmp_path / "home").mkdir()
    argv = [a.format(dev="/dev/zero", fifo=fifo, tmp=tmp_path / "home") for a in args]
    env = {k: v for k, v in os.environ.items() if not k.startswith("IRKIT_")}
    env["IRKIT_HOME"] = str(tmp_path / "home")
    proc = subprocess.run(
        [sys.executable, "-m", "irkit", *argv],
        capture_output=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 2, proc.stderr
    assert b"Traceback" not in proc.stderr


def test_verify_never_blocks_on_a_kept_checkpoint_that_is_a_fifo_or_device(
    tmp_path: Path, case: object
) -> None:
    from irkit.record.case import Case

    assert isinstance(case, Case)
    fifo = tmp_path / "cp.fifo"
    os.mkfifo(fifo)
    for given in (fifo, Path("/dev/zero")):
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "irkit",
                "verify",
                "--case",
                str(case.root),
                "--checkpoint",
                str(given),
            ],
            capture_output=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
        assert proc.returncode == 1, proc.stderr
        assert b"unreadable checkpoint" in proc.stdout + proc.stderr
