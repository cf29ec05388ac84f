"""docs/FORMAT.md's timestamp recipe, run as written with stock openssl, accepts a recorded
token and rejects an altered one or another TSA's root."""

from __future__ import annotations

import base64
import re
import subprocess
from pathlib import Path

from irkit.audit import timestamp
from irkit.formats import ed25519
from irkit.record import checkpoints
from irkit.record.case import Case
from tests.tsa import Tsa, TsaServer, other_tsa_certs, tsa, tsa_certs

__all__ = ["other_tsa_certs", "tsa", "tsa_certs"]  # fixtures used by name

REPO = Path(__file__).resolve().parents[2]


def _recipe() -> str:
    text = (REPO / "docs" / "FORMAT.md").read_text()
    match = re.search(r"<!-- recipe:timestamp -->\n```sh\n(.*?)```\n<!-- /recipe -->", text, re.S)
    assert match, "timestamp recipe missing from docs/FORMAT.md"
    return match.group(1)


def _run(case_root: Path, seq: int, root: Path, workdir: Path) -> subprocess.CompletedProcess[str]:
    script = workdir / "recipe.sh"
    script.write_text("set -e\n" + _recipe())
    return subprocess.run(
        ["bash", str(script)],
        cwd=workdir,
        capture_output=True,
        text=True,
        env={"CASE": str(case_root), "SEQ": str(seq), "ROOT": str(root), "PATH": "/usr/bin:/bin"},
        check=False,
    )


def test_recipe_checks_a_recorded_timestamp(
    case: Case, alice: ed25519.Signer, tsa: TsaServer, other_tsa_certs: Tsa, tmp_path: Path
) -> None:
    issued = checkpoints.issue(case, alice)
    item = timestamp.queue(case, issued.note, tsa.url)
    roots = [timestamp.read_root(tsa.tsa.root)]
    done = timestamp.send(case, item, alice, url=None, roots=roots, policy=None)
    result = _run(case.root, done.seq, tsa.tsa.root, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Verification: OK" in result.stdout
    assert (tmp_path / "checkpoint.txt").read_bytes() == issued.note  # the bytes hashed
    moment = done.gen_time[:19].replace("T", " ")
    assert "genTime: " in result.stdout and moment[11:] in result.stdout
    # another TSA's root: refused
    other_root = Path(other_tsa_certs.root)
    result = _run(case.root, done.seq, other_root, tmp_path)
    assert result.returncode != 0 and "Verification: FAILED" in result.stdout
    # an altered token, in a properly signed entry: refused
    body = dict(timestamp.recorded_entries(case)[0].body)
    raw = bytearray(base64.b64decode(body["response"]))
    raw[-10] ^= 0x40
    body["response"] = base64.b64encode(bytes(raw)).decode()
    forged = case.append(alice, timestamp.KIND, body)
    result = _run(case.root, forged.seq, tsa.tsa.root, tmp_path)
    assert result.returncode != 0 and "Verification: FAILED" in result.stdout
