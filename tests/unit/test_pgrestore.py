"""PostgreSQL dumps restored into a throwaway cluster: PASS, empty table, broken dump, cleanup.

Real dumps, made in a session fixture by a real source cluster; skipped only when the
server binaries are missing (CI installs them).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from irkit.backup import extract, postgres
from irkit.backup import spec as plausibility
from irkit.errors import EnvironmentFailure, InputError
from tests.pgdumps import Dumps


def _pg_processes(marker: str) -> list[str]:
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if marker in cmd:
            found.append(f"{pid}: {cmd}")
    return found


@pytest.fixture
def scratch() -> Iterator[Path]:
    """A scratch parent the cluster user can traverse (pytest's tmp_path is 0700 root)."""
    path = Path(tempfile.mkdtemp(prefix="irkit-pgtest-"))
    os.chmod(path, 0o711)
    yield path
    assert list(path.iterdir()) == [], "the throwaway cluster was left behind"
    assert _pg_processes(str(path)) == [], "a postgres process was left running"
    shutil.rmtree(path)


def _tables(got: postgres.DumpRestore) -> dict[str, int]:
    return {t.display: t.rows for t in got.tables}


@pytest.mark.parametrize("kind", ["custom", "plain"])
def test_intact_dump_restores_and_counts(pg_dumps: Dumps, scratch: Path, kind: str) -> None:
    dump = pg_dumps.custom if kind == "custom" else pg_dumps.plain
    got = postgres.restore_dump(dump, scratch=scratch, timeout=60)
    assert got.error is None, got.output
    assert got.format == kind
    assert _tables(got) == {"public.customers": 3, "public.orders": 5}


def _spec(tmp_path: Path, text: str) -> plausibility.Spec:
    path = tmp_path / "spec.toml"
    path.write_text(text)
    return plausibility.load_spec(path)


SPEC = (
    '[[postgres]]\nglob = "*"\ntables = ["customers", "public.orders"]\nmin_rows = { orders = 1 }'
)


def test_spec_pass_and_empty_table_fail(
    pg_dumps: Dumps, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scratch: Path
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    spec = _spec(tmp_path, SPEC)
    for dump, ok in ((pg_dumps.custom, True), (pg_dumps.empty_plain, False)):
        tree = tmp_path / dump.name.replace(".", "-")
        tree.mkdir()
        shutil.copy(dump, tree / dump.name)
        checked = plausibility.check_all(tree, spec)
        assert [f.ok for f in checked.findings] == [ok], checked.findings
        tables = {t["table"]: t["rows"] for t in checked.databases[0]["tables"]}
        assert tables["public.orders"] == (5 if ok else 0)
        assert checked.restore_ms >= 0
    msg = checked.findings[0].message
    assert msg == "shop-empty.sql: table orders: 0 row(s), at least 1 expected"


def test_missing_table_and_unknown_key(pg_dumps: Dumps, tmp_path: Path, scratch: Path) -> None:
    tree = tmp_path / "t"
    tree.mkdir()
    shutil.copy(pg_dumps.custom, tree / "shop.dump")
    spec = _spec(tmp_path, '[[postgres]]\nglob = "*.dump"\ntables = ["invoices"]')
    tempfile.tempdir, saved = str(scratch), tempfile.tempdir
    try:
        found = plausibility.run_checks(tree, spec)
    finally:
        tempfile.tempdir = saved
    assert [(f.ok, f.message) for f in found] == [(False, "shop.dump: table invoices missing")]
    with pytest.raises(InputError, match="spec"):
        _spec(tmp_path, '[[postgres]]\nglob = "*"\nmin_row = { a = 1 }')
    assert plausibility.run_checks(tree, _spec(tmp_path, '[[postgres]]\nglob = "x"'))[0].ok is False


@pytest.mark.parametrize("kind", ["custom", "plain"])
def test_truncated_dump_fails_with_output(
    pg_dumps: Dumps, tmp_path: Path, scratch: Path, kind: str
) -> None:
    src = pg_dumps.custom if kind == "custom" else pg_dumps.plain
    cut = tmp_path / src.name
    data = src.read_bytes()
    cut.write_bytes(data[: len(data) * 2 // 3])
    got = postgres.restore_dump(cut, scratch=scratch, timeout=60)
    assert got.error is not None
    if kind == "custom":
        assert got.error == "pg_restore exited 1"
        assert "pg_restore: error" in got.output
    else:
        assert "incomplete" in got.error


def test_corrupted_custom_dump(pg_dumps: Dumps, tmp_path: Path, scratch: Path) -> None:
    data = bytearray(pg_dumps.custom.read_bytes())
    data[-300:-200] = b"\xff" * 100  # inside the compressed table data
    bad = tmp_path / "bad.dump"
    bad.write_bytes(bytes(data))
    got = postgres.restore_dump(bad, scratch=scratch, timeout=60)
    assert got.error == "pg_restore exited 1" and got.output


def test_hostile_plain_dump_cannot_shell_out(
    pg_dumps: Dumps, tmp_path: Path, scratch: Path
) -> None:
    marker = tmp_path / "pwned"
    text = pg_dumps.plain.read_text()
    evil = text.replace("SET lock_timeout = 0;", f"SET lock_timeout = 0;\n\\! touch {marker}", 1)
    path = tmp_path / "evil.sql"
    path.write_text(evil)
    got = postgres.restore_dump(path, scratch=scratch, timeout=60)
    assert got.error == "psql exited 3"
    assert "backslash commands are restricted" in got.output
    assert not marker.exists()


def test_superuser_only_sql_refused(pg_dumps: Dumps, tmp_path: Path, scratch: Path) -> None:
    marker = Path(tempfile.gettempdir()) / f"irkit-pg-pwned-{os.getpid()}"
    text = pg_dumps.plain.read_text()
    copy = f"COPY (SELECT 1) TO PROGRAM 'touch {marker}';"
    path = tmp_path / "evil.sql"
    path.write_text(text.replace("SET lock_timeout = 0;", f"SET lock_timeout = 0;\n{copy}", 1))
    got = postgres.restore_dump(path, scratch=scratch, timeout=60)
    assert got.error == "psql exited 3" and "must be superuser" in got.output
    assert not marker.exists()


def test_timeout_still_cleans_up(pg_dumps: Dumps, scratch: Path) -> None:
    got = postgres.restore_dump(pg_dumps.custom, scratch=scratch, timeout=0.001)
    assert got.error == "pg_restore timed out after 0.001s"


def test_detection_and_missing_binaries(
    pg_dumps: Dumps, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert extract.detect(pg_dumps.custom).kind == "pg-custom"
    assert extract.detect(pg_dumps.plain).kind == "pg-plain"
    assert postgres.dump_format(pg_dumps.plain) == "plain"
    monkeypatch.setattr(postgres, "_has_all", lambda _p: False)
    with pytest.raises(postgres.PostgresNotFound, match="not found"):
        postgres.find_bindir()
    tree = tmp_path / "t"
    tree.mkdir()
    shutil.copy(pg_dumps.custom, tree / "shop.dump")
    (tree / "other.dump").write_text("not a dump")
    # a machine without PostgreSQL cannot test the dump: no verdict (exit 2), not a FAIL
    with pytest.raises(EnvironmentFailure, match="PostgreSQL server binaries not found"):
        plausibility.run_checks(tree, _spec(tmp_path, '[[postgres]]\nglob = "*.dump"'))
