"""docs/FORMAT.md's openssl recipe, run as written, verifies entries and rejects tampering."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from irkit.formats import ed25519
from irkit.notes.notes import add_note
from irkit.record.case import Case

REPO = Path(__file__).resolve().parents[2]


def _recipe() -> str:
    text = (REPO / "docs" / "FORMAT.md").read_text()
    match = re.search(
        r"<!-- recipe:verify-entry -->\n```sh\n(.*?)```\n<!-- /recipe -->", text, re.S
    )
    assert match, "recipe block missing from docs/FORMAT.md"
    return match.group(1)


def _run(case_root: Path, seq: int, workdir: Path) -> subprocess.CompletedProcess[str]:
    script = workdir / "recipe.sh"
    script.write_text("set -e\n" + _recipe())
    return subprocess.run(
        ["bash", str(script)],
        cwd=workdir,
        capture_output=True,
        text=True,
        env={"CASE": str(case_root), "SEQ": str(seq), "PATH": "/usr/bin:/bin"},
        check=False,
    )


@pytest.fixture
def need_openssl() -> None:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is NOT installed: the FORMAT.md recipe cannot be exercised")


@pytest.mark.usefixtures("need_openssl")
def test_recipe_verifies_every_entry(
    case: Case, alice: ed25519.Signer, bob: ed25519.Signer, tmp_path: Path
) -> None:
    add_note(case, bob, 'Ünïcödé and "quotes" and \\ backslashes / slashes ✓ 日本')
    add_note(case, alice, "tabs\tand\nnewlines")
    for seq in range(4):
        result = _run(case.root, seq, tmp_path)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "Signature Verified Successfully" in result.stdout


@pytest.mark.usefixtures("need_openssl")
def test_recipe_rejects_an_altered_entry(case: Case, tmp_path: Path) -> None:
    path = case.journal_path
    path.write_bytes(path.read_bytes().replace(b"Test case", b"Best case"))
    result = _run(case.root, 0, tmp_path)
    assert result.returncode != 0
    assert "Signature Verification Failure" in result.stdout + result.stderr


@pytest.mark.usefixtures("need_openssl")
def test_recipe_rejects_a_replaced_key_file(
    case: Case, bob: ed25519.Signer, mallory: ed25519.Signer, tmp_path: Path
) -> None:
    key_file = case.key_path(bob.fingerprint)
    key_file.write_bytes(mallory.public.pem())
    result = _run(case.root, 0, tmp_path)
    assert result.returncode == 0  # entry 0 is alice's, untouched
    add_note(case, bob, "by bob")
    result = _run(case.root, 2, tmp_path)
    assert result.returncode != 0 and "does not match" in result.stdout


def _python_recipe() -> str:
    text = (REPO / "docs" / "FORMAT.md").read_text()
    match = re.search(
        r"<!-- recipe:inclusion-proof -->\n```python\n(.*?)```\n<!-- /recipe -->", text, re.S
    )
    assert match, "inclusion-proof recipe missing from docs/FORMAT.md"
    return match.group(1)


def _run_python_recipe(exhibit_file: Path, seq: int) -> subprocess.CompletedProcess[str]:
    import sys

    prelude = f"EXHIBIT = {str(exhibit_file)!r}\nSEQ = {seq}\n"
    return subprocess.run(
        [sys.executable, "-c", prelude + _python_recipe()],
        capture_output=True,
        text=True,
        check=False,
    )


def test_python_proof_recipe_checks_every_exhibit_entry(
    case: Case, alice: ed25519.Signer, bob: ed25519.Signer, tmp_path: Path
) -> None:
    import json

    from irkit.audit import exhibit
    from irkit.record import checkpoints

    for i in range(6):
        add_note(case, bob if i % 2 else alice, f"note {i}")
    doc = exhibit.create(case, [3, 5, 6], checkpoints.issue(case, alice).note)
    path = tmp_path / "exhibit.json"
    path.write_text(json.dumps(doc))
    for entry in doc["entries"]:
        result = _run_python_recipe(path, entry["seq"])
        assert result.returncode == 0, result.stderr
    doc["entries"][-1]["line"] = doc["entries"][-1]["line"].replace("note", "n0te")
    path.write_text(json.dumps(doc))
    result = _run_python_recipe(path, doc["entries"][-1]["seq"])
    assert result.returncode == 1 and "NOT included" in result.stderr
