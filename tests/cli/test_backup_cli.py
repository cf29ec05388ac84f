"""`irkit backup`: exit codes 0/1/2, JSON, recording inside a case, refused sign-off."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Any

from irkit.backup import testrestore
from irkit.record.case import Case

SPEC = Path(__file__).resolve().parents[2] / "examples" / "backup" / "five-databases" / "spec.toml"


def _setup(tmp_path: Path, empty: str | None) -> tuple[Path, Path]:
    good = tmp_path / "good"
    if not good.exists():
        testrestore.build_five_databases(good)
    data = tmp_path / f"data-{empty}"
    testrestore.build_five_databases(data, empty=empty)
    archive = tmp_path / f"b-{empty}.tar.bz2"
    with tarfile.open(archive, "w:bz2") as tf:
        for p in sorted(data.iterdir()):
            tf.add(p, arcname=p.name)
    return archive, good


def test_outside_a_case(tmp_path: Path, irkit: Any) -> None:
    archive, good = _setup(tmp_path, None)
    r = irkit("backup", "manifest", str(good), "-o", str(tmp_path / "m.json"))
    assert r.exit_code == 0 and "5 files" in r.output
    r = irkit("backup", "verify", str(archive), "--manifest", "m.json", "--spec", str(SPEC))
    assert r.exit_code == 0, r.output  # the builder is deterministic: byte-identical DBs
    data = json.loads(
        irkit(
            "backup", "verify", str(archive), "--source", str(tmp_path / "data-None"), "--json"
        ).output
    )
    assert data["verdict"] == "PASS" and data["counts"]["matched"] == 5
    broken, _ = _setup(tmp_path, "billing")
    r = irkit("backup", "verify", str(broken), "--source", str(good), "--spec", str(SPEC))
    assert r.exit_code == 1
    assert "billing.sqlite: table records: 0 row(s)" in r.output
    assert "nothing recorded" in r.output


def test_bad_input_exit_2(tmp_path: Path, irkit: Any) -> None:
    archive, good = _setup(tmp_path, None)
    m = tmp_path / "m.json"
    assert irkit("backup", "manifest", str(good), "-o", str(m)).exit_code == 0
    m.write_bytes(m.read_bytes()[:-40])
    r = irkit("backup", "verify", str(archive), "--manifest", str(m))
    assert r.exit_code == 2 and "manifest is not valid JSON" in r.output
    r = irkit("backup", "verify", str(archive), "--source", str(good), "--spec", str(m))
    assert r.exit_code == 2 and "TOML" in r.output
    r = irkit("backup", "verify", str(tmp_path / "nope.tgz"), "--source", str(good))
    assert r.exit_code == 2 and "not found" in r.output
    r = irkit("backup", "verify", str(archive))
    assert r.exit_code == 2 and "exactly one" in r.output
    r = irkit("backup", "verify", str(archive), "--source", str(good), "--sign-off")
    assert r.exit_code == 2 and "needs a case" in r.output


def test_in_case_sign_off(tmp_path: Path, irkit: Any, case: Case, key_files: Any) -> None:
    archive, good = _setup(tmp_path, None)
    args = ("backup", "verify", str(archive), "--source", str(good), "--spec", str(SPEC))
    r = irkit(*args, "--sign-off", "--json", case=case.root, key=key_files.bob)
    assert r.exit_code == 0, r.output
    seq = json.loads(r.output)["entry"]
    broken, _ = _setup(tmp_path, "orders")
    bad = ("backup", "verify", str(broken), "--source", str(good), "--spec", str(SPEC))
    r = irkit(*bad, "--sign-off", case=case.root, key=key_files.bob)
    assert r.exit_code == 1
    assert "sign-off refused: verdict FAIL" in r.output
    assert f"the FAIL is recorded as #{seq + 1}" in r.output
    r = irkit("verify", case=case.root)
    assert r.exit_code == 0, r.output
    log = irkit("log", case=case.root).output
    assert "PASS" in log and "FAIL" in log and "signed off" in log
