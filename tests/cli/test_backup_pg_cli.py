"""`irkit backup verify` on pg_dump files: PASS with table counts, FAIL named, record in a case."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from irkit.record.case import Case
from tests.pgdumps import Dumps

SPEC = Path(__file__).resolve().parents[2] / "examples" / "backup" / "postgres" / "spec.toml"


@pytest.fixture
def pg_tmp(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """$TMPDIR for the throwaway clusters, checked empty afterwards."""
    path = Path(tempfile.mkdtemp(prefix="irkit-pgcli-"))
    os.chmod(path, 0o711)
    monkeypatch.setattr(tempfile, "tempdir", str(path))
    yield path
    assert list(path.iterdir()) == []
    shutil.rmtree(path)


def _setup(tmp_path: Path, dump: Path, name: str) -> tuple[Path, Path]:
    folder = tmp_path / f"backups-{dump.name}"
    folder.mkdir()
    artifact = folder / name
    shutil.copy(dump, artifact)
    return artifact, folder


def test_pg_dump_pass_and_empty_fail(
    tmp_path: Path, irkit: Any, pg_dumps: Dumps, pg_tmp: Path
) -> None:
    artifact, folder = _setup(tmp_path, pg_dumps.custom, "shop.dump")
    r = irkit("backup", "manifest", str(folder), "-o", str(tmp_path / "m.json"))
    assert r.exit_code == 0
    r = irkit("backup", "verify", str(artifact), "--manifest", "m.json", "--spec", str(SPEC))
    assert r.exit_code == 0, r.output
    assert "PASS: shop.dump (pg-custom)" in r.output
    assert "public.orders: 5 rows" in r.output and "public.customers: 3 rows" in r.output

    empty, folder = _setup(tmp_path, pg_dumps.empty_plain, "shop.sql")
    r = irkit(
        "backup", "verify", str(empty), "--source", str(folder), "--spec", str(SPEC), "--json"
    )
    assert r.exit_code == 1
    data = json.JSONDecoder().raw_decode(r.output)[0]  # stderr follows the JSON
    assert data["artifact_kind"] == "pg-plain" and data["verdict"] == "FAIL"
    assert data["failures"] == ["postgres: shop.sql: table orders: 0 row(s), at least 1 expected"]
    assert {"table": "public.orders", "rows": 0} in data["databases"][0]["tables"]


def test_broken_dump_fails_without_spec(
    tmp_path: Path, irkit: Any, pg_dumps: Dumps, pg_tmp: Path
) -> None:
    raw = pg_dumps.custom.read_bytes()
    folder = tmp_path / "b"
    folder.mkdir()
    cut = folder / "shop.dump"
    cut.write_bytes(raw[: len(raw) // 2])
    r = irkit("backup", "verify", str(cut), "--source", str(folder))  # no spec: still restored
    assert r.exit_code == 1, r.output
    assert "FAIL postgres: shop.dump: restore failed: pg_restore exited 1" in r.output
    assert "pg_restore: error" in r.output
    r = irkit("backup", "verify", str(tmp_path / "missing.dump"), "--source", str(folder))
    assert r.exit_code == 2


def test_recorded_in_case(
    tmp_path: Path, irkit: Any, pg_dumps: Dumps, pg_tmp: Path, case: Case, key_files: Any
) -> None:
    artifact, folder = _setup(tmp_path, pg_dumps.plain, "shop.sql")
    args = ("backup", "verify", str(artifact), "--source", str(folder), "--spec", str(SPEC))
    r = irkit(*args, "--sign-off", "--json", case=case.root, key=key_files.bob)
    assert r.exit_code == 0, r.output
    seq = json.loads(r.output)["entry"]
    line = (case.root / "journal.jsonl").read_text().splitlines()[seq]
    body = json.loads(line)["body"]
    assert body["artifact_kind"] == "pg-plain" and body["verdict"] == "PASS"
    assert body["signed_off"] is True and len(body["artifact_sha256"]) == 64
    assert irkit("verify", case=case.root).exit_code == 0
