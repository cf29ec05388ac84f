"""docs/FORMAT.md's cosignature recipe, run as written (stdlib + cryptography, no irkit),
accepts irkit's cosignatures and rejects altered ones."""

from __future__ import annotations

import base64
import re
import subprocess
import sys
from pathlib import Path

from irkit.formats import cosignature, ed25519
from irkit.record import checkpoints
from irkit.record.case import Case
from tests.conftest import seeded_signer

REPO = Path(__file__).resolve().parents[2]


def _recipe() -> str:
    text = (REPO / "docs" / "FORMAT.md").read_text()
    match = re.search(
        r"<!-- recipe:cosignature -->\n```python\n(.*?)```\n<!-- /recipe -->", text, re.S
    )
    assert match, "cosignature recipe missing from docs/FORMAT.md"
    return match.group(1)


def _run(path: Path, vkey: str) -> subprocess.CompletedProcess[str]:
    prelude = f"CHECKPOINT = {str(path)!r}\nVKEY = {vkey!r}\n"
    return subprocess.run(
        [sys.executable, "-I", "-c", prelude + _recipe()],
        capture_output=True,
        text=True,
        check=False,
        cwd=path.parent,
    )


def test_recipe_checks_a_cosignature(case: Case, alice: ed25519.Signer, tmp_path: Path) -> None:
    w = seeded_signer("recipe witness")
    other = seeded_signer("another witness")
    issued = checkpoints.sign(case, alice)
    body = issued.checkpoint.body()
    note = issued.note
    note += cosignature.sign(body, other, "other.example/w", 1_767_000_000).encode()
    note += cosignature.sign(body, w, "example.org/w1", 1_767_000_001).encode()
    path = tmp_path / "cosigned.txt"
    path.write_bytes(note)
    vkey = cosignature.vkey("example.org/w1", w.public.raw)
    result = _run(path, vkey)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "cosigned at 1767000001"
    # the witness's line with a flipped signature bit: the recipe refuses it
    last = note.rstrip(b"\n").rsplit(b"\n", 1)[1]
    dash, name, b64 = last.decode().split(" ")
    blob = bytearray(base64.b64decode(b64))
    blob[20] ^= 1
    forged = (
        note[: -len(last) - 1]
        + f"{dash} {name} {base64.b64encode(bytes(blob)).decode()}\n".encode()
    )
    path.write_bytes(forged)
    result = _run(path, vkey)
    assert result.returncode != 0 and "InvalidSignature" in result.stderr
    # a changed checkpoint (another size) no longer matches the cosignature
    path.write_bytes(note.replace(f"\n{issued.checkpoint.size}\n".encode(), b"\n99\n", 1))
    assert _run(path, vkey).returncode != 0
    # only another witness's line: nothing by this witness
    path.write_bytes(issued.note + cosignature.sign(body, other, "o", 5).encode())
    result = _run(path, vkey)
    assert result.returncode == 1 and "no cosignature by this witness" in result.stderr
