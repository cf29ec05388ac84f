"""Issue #18, "done when": the README's Tour runs as written, start to finish.

Every ```sh block under "## Tour" is taken in order and run as one bash script (so `cd`
carries over, as it does for a reader typing along) with a real `irkit` on the PATH, in a
fresh temporary HOME with no irkit config, the passphrase from $IRKIT_PASSPHRASE. Any
command that fails stops the script and fails the test, naming the line.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
BASH = shutil.which("bash")


def tour_blocks(text: str) -> list[str]:
    """The ```sh blocks of the Tour section, in order."""
    start = text.index("\n## Tour\n")
    end = text.find("\n## ", start + 1)
    tour = text[start : end if end != -1 else len(text)]
    return re.findall(r"^```sh\n(.*?)^```$", tour, flags=re.S | re.M)


def _irkit_bin(tmp_path: Path) -> Path:
    """A folder whose `irkit` is the installed console script, else `python -m irkit`."""
    folder = tmp_path / "bin"
    folder.mkdir()
    script = Path(sys.executable).parent / "irkit"
    target = folder / "irkit"
    if script.is_file():
        target.symlink_to(script)
    else:
        target.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m irkit "$@"\n')
        target.chmod(0o755)
    return folder


def test_tour_has_blocks() -> None:
    blocks = tour_blocks(README.read_text(encoding="utf-8"))
    assert len(blocks) >= 5
    assert any("irkit note list" in b or "irkit note" in b for b in blocks)


@pytest.mark.skipif(BASH is None, reason="bash is not installed: the Tour is bash")
def test_readme_tour_runs_start_to_finish(tmp_path: Path) -> None:
    blocks = tour_blocks(README.read_text(encoding="utf-8"))
    lines = ["set -euo pipefail", "trap 'echo \"TOUR FAILED at: $BASH_COMMAND\" >&2' ERR"]
    for block in blocks:
        lines.append(block)
    script = tmp_path / "tour.sh"
    script.write_text("\n".join(lines) + "\n", encoding="utf-8")
    home = tmp_path / "home"
    work = tmp_path / "work"
    home.mkdir()
    work.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("IRKIT_") and k not in ("XDG_CONFIG_HOME", "HOME")
    }
    env.update(
        HOME=str(home),
        PATH=f"{_irkit_bin(tmp_path)}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}",
        IRKIT_PASSPHRASE="tour passphrase",
        TZ="Europe/Berlin",
    )
    done = subprocess.run(
        [BASH, str(script)],  # type: ignore[list-item]
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"{done.stderr[-3000:]}\n--- stdout ---\n{done.stdout[-2000:]}"
    assert "Traceback" not in done.stderr
    assert "internal error" not in done.stderr
    # what the Tour's comments promise about the manifests it wrote, with the real tools
    case = work / "CASE-42"
    for tool, args in (
        ("sha256sum", ["-c", "usb.sha256"]),
        ("hashdeep", ["-a", "-k", "usb.hd", "-r", "../usb"]),
    ):
        found = shutil.which(tool)
        if found is None:
            continue  # test_hash_interop.py says loudly which tool is missing
        check = subprocess.run([found, *args], cwd=case, capture_output=True, text=True)
        assert check.returncode == 0, f"{tool}: {check.stdout}{check.stderr}"
