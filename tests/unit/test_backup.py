"""Test-restore orchestration: every comparison category, the signed entry, sign-off rules."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from irkit.audit.verify import verify_case
from irkit.backup import manifest as backupmanifest
from irkit.backup import testrestore
from irkit.errors import InputError, ProblemsFound
from irkit.formats.ed25519 import Signer
from irkit.record.case import Case

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "backup" / "five-databases"


def _source(root: Path) -> Path:
    root.mkdir()
    for name, data in {
        "keep": b"same",
        "gone": b"will be missing",
        "grow": b"appended",
        "shrink": b"truncated later",
        "swap": b"AAAA",
        "move": b"moved content",
    }.items():
        (root / name).write_bytes(data)
    return root


def test_every_comparison_category(tmp_path: Path) -> None:
    src = _source(tmp_path / "src")
    manifest = tmp_path / "m.json"
    backupmanifest.write(src, manifest)
    (src / "gone").unlink()
    with (src / "grow").open("ab") as fh:
        fh.write(b"+more")
    (src / "shrink").write_bytes(b"trunc")
    (src / "swap").write_bytes(b"BBBB")
    (src / "move").rename(src / "moved-here")
    (src / "new").write_bytes(b"extra file")
    result = testrestore.run_verify(src, manifest=manifest)
    c = result.comparison
    assert c.matched == ["keep"]
    assert c.missing == ["gone"]
    assert sorted(c.changed) == ["grow", "shrink", "swap"]
    assert c.extra == ["new"]
    assert c.moved == [("move", "moved-here")]
    assert result.verdict == "FAIL"
    assert result.counts()["changed"] == 3


def test_tar_pass_with_source_and_scratch_removed(tmp_path: Path) -> None:
    src = _source(tmp_path / "src")
    archive = tmp_path / "b.tar.xz"
    with tarfile.open(archive, "w:xz") as tf:
        tf.add(src, arcname=".")
    result = testrestore.run_verify(archive, source=src)
    assert result.verdict == "PASS" and result.restored_files == 6
    assert result.artifact_kind == "tar"
    assert result.artifact_sha256 == backupmanifest.hash_file(archive)[1]


def test_keep_never_overwrites(tmp_path: Path) -> None:
    src = _source(tmp_path / "src")
    kept = tmp_path / "kept"
    testrestore.run_verify(src, source=src, keep=kept)
    assert (kept / "keep").read_bytes() == b"same"
    with pytest.raises(InputError, match="already exists"):
        testrestore.run_verify(src, source=src, keep=kept)


def test_restore_cmd_failure_is_fail(tmp_path: Path) -> None:
    src = _source(tmp_path / "src")
    ok = testrestore.run_verify(src, source=src, restore_cmd=f"cp -r {src}/. {{dest}}")
    assert ok.verdict == "PASS"
    bad = testrestore.run_verify(src, source=src, restore_cmd="sh -c 'echo nope; exit 4'")
    assert bad.verdict == "FAIL" and "nope" in bad.restore_output
    assert "restore: restore command exited 4" in bad.failures


@pytest.mark.parametrize("empty", [None, "payroll"])
def test_five_databases_example(tmp_path: Path, empty: str | None) -> None:
    assert (EXAMPLE / "spec.toml").read_text().endswith(testrestore.FIVE_DATABASES_SPEC)
    good = tmp_path / "good"
    testrestore.build_five_databases(good)
    manifest = tmp_path / "m.json"
    backupmanifest.write(good, manifest)
    data = tmp_path / "data"
    testrestore.build_five_databases(data, empty=empty)
    result = testrestore.run_verify(data, source=data, spec=EXAMPLE / "spec.toml")
    if empty is None:
        assert result.verdict == "PASS", result.failures
    else:
        assert result.verdict == "FAIL"
        assert result.failures == [
            "sqlite: payroll.sqlite: table records: 0 row(s), at least 1 expected"
        ]


def _archive(tmp_path: Path, empty: str | None) -> tuple[Path, Path]:
    data = tmp_path / f"data-{empty}"
    testrestore.build_five_databases(data, empty=empty)
    archive = tmp_path / f"b-{empty}.tgz"
    with tarfile.open(archive, "w:gz") as tf:
        tf.add(data, arcname=".")
    return archive, data


def test_signed_entries_verify_and_fail_cannot_be_signed_off(
    tmp_path: Path, case: Case, bob: Signer, alice: Signer
) -> None:
    spec = EXAMPLE / "spec.toml"
    archive, data = _archive(tmp_path, None)
    passed = testrestore.run_verify(archive, source=data, spec=spec)
    e1 = testrestore.record(case, bob, passed, sign_off=True)
    assert e1.body["signed_off"] is True and e1.body["verdict"] == "PASS"
    stored = case.store.path_for(e1.body["result_sha256"]).read_bytes()
    assert json.loads(stored)["verdict"] == "PASS"

    broken, bdata = _archive(tmp_path, "orders")
    failed = testrestore.run_verify(broken, source=bdata, spec=spec)
    with pytest.raises(ProblemsFound, match="sign-off refused"):
        testrestore.record(case, bob, failed, sign_off=True)
    last = case.read_entries().entries[-1]
    assert last.kind == "backup.verified" and last.body["verdict"] == "FAIL"
    assert last.body["signed_off"] is False and last.body["checks_failed"] == 1

    report = verify_case(case.root, trust=[alice.fingerprint])
    assert report.ok, report.problems


def test_verify_rule_flags_forged_sign_off_on_fail(case: Case, bob: Signer, alice: Signer) -> None:
    body = {
        "artifact": "x.tgz",
        "artifact_kind": "tar",
        "artifact_sha256": "a" * 64,
        "manifest_sha256": "b" * 64,
        "spec_sha256": None,
        "verdict": "FAIL",
        **dict.fromkeys(
            ["matched", "changed", "missing", "extra", "moved", "refused", "checks_failed"], 0
        ),
        "restored_files": 0,
        "restored_bytes": 0,
        "restore_ms": 0,
        "result_sha256": "c" * 64,
        "signed_off": True,
    }
    case.append(bob, "backup.verified", body)
    report = verify_case(case.root, trust=[alice.fingerprint])
    codes = {p.code for p in report.problems}
    assert "backup-signoff-on-fail" in codes
    with pytest.raises(Exception):  # noqa: B017 - floats are not integers
        case.append(bob, "backup.verified", {**body, "restore_ms": 1.5})


def test_sqlite_and_zip_artifacts(tmp_path: Path) -> None:
    import zipfile

    data = tmp_path / "data"
    testrestore.build_five_databases(data, empty="orders")
    single = testrestore.run_verify(data / "billing.sqlite", source=data)
    assert single.artifact_kind == "sqlite"
    assert single.comparison.matched == ["billing.sqlite"] and len(single.comparison.missing) == 4
    archive = tmp_path / "b.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(data.iterdir()):
            zf.write(p, p.name)
    zipped = testrestore.run_verify(archive, source=data, spec=EXAMPLE / "spec.toml")
    assert zipped.artifact_kind == "zip" and zipped.counts()["matched"] == 5
    assert zipped.failures == [
        "sqlite: orders.sqlite: table records: 0 row(s), at least 1 expected"
    ]
