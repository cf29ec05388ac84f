"""`irkit report --template backup-signoff`: a page per verification, every finding named,
the restore kind, tool and snapshot, and the spec applied; reproducible by --check."""

from __future__ import annotations

import io
import shutil
import tarfile
from pathlib import Path
from typing import Any

from pypdf import PdfReader

from irkit.backup import testrestore
from irkit.record.case import Case

SPEC = Path(__file__).resolve().parents[2] / "examples" / "backup" / "five-databases" / "spec.toml"


def _pages(pdf: bytes) -> list[str]:
    return [" ".join((p.extract_text() or "").split()) for p in PdfReader(io.BytesIO(pdf)).pages]


def test_one_page_per_verification_with_every_finding(
    tmp_path: Path, irkit: Any, case: Case, key_files: Any
) -> None:
    good = tmp_path / "good"
    testrestore.build_five_databases(good)
    broken = tmp_path / "broken"
    testrestore.build_five_databases(broken, empty="payroll")
    (broken / "orders.sqlite").unlink()
    man = tmp_path / "m.json"
    assert (
        irkit(
            "backup",
            "manifest",
            str(good),
            "-o",
            str(man),
            "--sign",
            case=case.root,
            key=key_files.bob,
        ).exit_code
        == 0
    )
    for tree in (good, broken):
        archive = tmp_path / f"{tree.name}.tar.gz"
        with tarfile.open(archive, "w:gz") as tf:
            for p in sorted(tree.iterdir()):
                tf.add(p, arcname=p.name)
        irkit(
            "backup",
            "verify",
            str(archive),
            "--manifest",
            str(man),
            "--spec",
            str(SPEC),
            case=case.root,
            key=key_files.bob,
        )
    out = tmp_path / "signoff.pdf"
    r = irkit(
        "report", "--template", "backup-signoff", "-o", str(out), case=case.root, key=key_files.bob
    )
    assert r.exit_code == 0, r.output
    pages = _pages(out.read_bytes())
    ours = [p for p in pages if "Verification #" in p and "Restore kind" in p]
    assert len(ours) == 2, pages  # one page each
    passed, failed = ours
    assert "good.tar.gz — PASS" in passed and "None: every file matched" in passed
    assert "the manifest signed at backup time (#2)" in passed
    assert "tar (gzip" in passed or "tar (gz" in passed
    assert "checks run: paths, sqlite" in passed
    assert "broken.tar.gz — FAIL" in failed and "Findings (" in failed
    assert "missing: orders.sqlite" in failed
    assert "sqlite: payroll.sqlite: table records: 0 row(s), at least 1 expected" in failed
    assert "a FAIL cannot be signed off" in failed
    r = irkit("report", "--check", str(out), case=case.root)
    assert r.exit_code == 0, r.output


def test_restic_verification_page_names_tool_and_snapshot(
    tmp_path: Path, irkit: Any, case: Case, key_files: Any, monkeypatch: Any
) -> None:
    import subprocess

    import pytest

    restic = shutil.which("restic")
    if restic is None:
        pytest.skip("restic not installed (Debian package restic; .ci/run installs it)")
    monkeypatch.setenv("RESTIC_PASSWORD", "pw")
    monkeypatch.setenv("RESTIC_CACHE_DIR", str(tmp_path / "cache"))
    src = tmp_path / "data"
    src.mkdir()
    (src / "f.txt").write_text("x\n")
    repo = tmp_path / "repo"
    subprocess.run([restic, "init", "-q", "-r", str(repo)], check=True, capture_output=True)
    subprocess.run(
        [restic, "-q", "-r", str(repo), "backup", str(src)], check=True, capture_output=True
    )
    r = irkit(
        "backup",
        "verify",
        "--restic",
        str(repo),
        "--snapshot",
        "latest",
        "--source",
        str(src),
        case=case.root,
        key=key_files.bob,
    )
    assert r.exit_code == 0, r.output
    snapshot = case.read_entries().entries[-1].body["snapshot"]
    out = tmp_path / "s.pdf"
    assert (
        irkit(
            "report",
            "--template",
            "backup-signoff",
            "-o",
            str(out),
            case=case.root,
            key=key_files.bob,
        ).exit_code
        == 0
    )
    page = next(p for p in _pages(out.read_bytes()) if "Restore kind" in p)
    assert "Restore kind restic" in page and "restic 0.1" in page
    assert snapshot[:40] in page.replace(" ", "")


def test_a_verdict_naming_the_wrong_manifest_entry_is_a_problem(
    tmp_path: Path, case: Case, bob: Any
) -> None:
    """`manifest_entry` must point at a backup.manifest with the same digest."""
    from irkit.audit.verify import verify_case

    src = tmp_path / "src"
    testrestore.build_five_databases(src)
    result = testrestore.run_verify(src, source=src)
    entry = testrestore.record(case, bob, result, sign_off=False)
    assert "manifest_entry" not in entry.body  # no manifest signed: nothing claimed
    forged = {**entry.body, "manifest_entry": 0}  # #0 is case.opened
    case.append(bob, "backup.verified", forged)
    codes = [p.code for p in verify_case(case.root).problems]
    assert codes == ["backup-manifest-mismatch"]
