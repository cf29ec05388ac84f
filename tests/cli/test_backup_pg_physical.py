"""PostgreSQL's own checks in the loop: a real pg_basebackup (plain and tar) verified against
its own backup_manifest by pg_verifybackup, row counts taken at backup time (`--pg`,
`--sqlite`) compared exactly, and a manifest signed at backup time recognised by verify."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from irkit.backup import manifest as backupmanifest
from irkit.backup import postgres
from irkit.record.case import Case
from tests.pgbase import ROWS, BaseBackups, Source


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BaseBackups]:
    source = Source(tmp_path_factory.mktemp("pgbase"))
    try:
        yield source.start()
    finally:
        source.stop()


def _json(output: str) -> Any:
    return json.JSONDecoder().raw_decode(output)[0]


def _verifybackup_or_skip() -> None:
    if postgres.find_tool("pg_verifybackup") is None:
        pytest.skip("pg_verifybackup not installed (Debian: postgresql; .ci/run installs it)")


@pytest.mark.parametrize("layout", ["plain", "tar"])
def test_pg_basebackup_passes_with_pg_verifybackup(
    base: BaseBackups, irkit: Any, layout: str
) -> None:
    _verifybackup_or_skip()
    artifact = base.plain if layout == "plain" else base.tar
    r = irkit(
        "backup", "verify", str(artifact), "--manifest", str(artifact / "backup_manifest"), "--json"
    )
    assert r.exit_code == 0, r.output
    data = _json(r.output)
    assert data["verdict"] == "PASS" and data["manifest_format"] == "postgresql"
    assert data["counts"]["matched"] > 900 and data["counts"]["extra"] == 0
    pg = data["pg_verifybackup"]
    assert pg["installed"] and pg["ok"] and pg["exit_code"] == 0
    assert "backup successfully verified" in pg["output"]


def test_flipped_byte_only_pg_verifybackup_sees(
    base: BaseBackups, irkit: Any, tmp_path: Path
) -> None:
    """Same size, CRC32C checksum wrong: irkit's comparison cannot tell (no SHA-256 in the
    manifest), PostgreSQL's own tool does, and the verdict is FAIL."""
    _verifybackup_or_skip()
    copy = tmp_path / "plain"
    shutil.copytree(base.plain, copy, symlinks=True)
    victim = max((copy / "base").rglob("*"), key=lambda p: p.stat().st_size if p.is_file() else 0)
    raw = bytearray(victim.read_bytes())
    raw[100] ^= 0x01
    victim.write_bytes(bytes(raw))
    r = irkit("backup", "verify", str(copy), "--manifest", str(copy / "backup_manifest"), "--json")
    assert r.exit_code == 1, r.output
    data = _json(r.output)
    assert data["counts"]["changed"] == 0  # sizes only, for irkit
    rel = victim.relative_to(copy).as_posix()
    [failure] = data["failures"]
    assert (
        failure.startswith("pg_verifybackup: ") and f'checksum mismatch for file "{rel}"' in failure
    )


def test_postgres_manifest_is_checked_before_use(base: BaseBackups, tmp_path: Path) -> None:
    raw = (base.plain / "backup_manifest").read_bytes()
    loaded = backupmanifest.parse_manifest(raw)
    assert loaded.format == "postgresql" and loaded.version in (1, 2) and loaded.wal_ranges == 1
    assert all(f.sha256 == "" for f in loaded.files)  # CRC32C: sizes compared, not digests
    assert {a for a, _ in loaded.checksums.values()} == {"CRC32C"}
    from irkit.errors import InputError

    edited = raw.replace(b'"Size": 3,', b'"Size": 4,', 1)  # PG_VERSION "15\n"
    assert edited != raw
    with pytest.raises(InputError, match="checksum mismatch"):
        backupmanifest.parse_manifest(edited)
    escaping = _resign(raw.replace(b'"Path": "PG_VERSION"', b'"Path": "../PG_VERSION"', 1))
    with pytest.raises(InputError, match="escapes the backup"):
        backupmanifest.parse_manifest(escaping)
    unknown = _resign(raw.replace(b'"Files"', b'"Extra": 1,\n"Files"', 1))
    with pytest.raises(InputError, match="unexpected PostgreSQL backup_manifest keys"):
        backupmanifest.parse_manifest(unknown)
    assert backupmanifest.parse_manifest(_resign(raw)).files == loaded.files  # re-signer sound


def _resign(raw: bytes) -> bytes:
    """A manifest edited by someone who also recomputed its self-checksum."""
    import hashlib

    cut = raw.rindex(b'\n"Manifest-Checksum": "') + 1
    return (
        raw[:cut]
        + b'"Manifest-Checksum": "'
        + hashlib.sha256(raw[:cut]).hexdigest().encode()
        + b'"}\n'
    )


def _cut_mid_copy(dump: Path, out: Path, keep: int) -> None:
    """pg_dump died inside orders' COPY; a wrapper script still wrote the end marker and
    pg_dump's trailer after it: psql restores it without one error."""
    lines = dump.read_bytes().splitlines(keepends=True)
    start = next(i for i, ln in enumerate(lines) if ln.startswith(b"COPY public.orders "))
    footer = [ln for ln in lines if ln.startswith(b"-- PostgreSQL database dump complete")]
    out.write_bytes(b"".join([*lines[: start + 1 + keep], b"\\.\n", b"\n", *footer, b"\n"]))


def test_row_counts_at_backup_time_catch_a_dump_cut_mid_copy(
    base: BaseBackups, irkit: Any, tmp_path: Path
) -> None:
    folder = tmp_path / "dumps"
    folder.mkdir()
    _cut_mid_copy(base.dump, folder / "shop.sql", keep=249)
    # without row counts the cut dump passes: it is complete as far as psql can tell
    r = irkit("backup", "verify", str(folder / "shop.sql"), "--source", str(folder))
    assert r.exit_code == 0, r.output
    man = tmp_path / "m.json"
    r = irkit("backup", "manifest", str(folder), "-o", str(man), "--pg", base.conninfo)
    assert r.exit_code == 0, r.output
    assert f"postgresql shop: 2 tables, {ROWS + 3} rows" in r.output
    recorded = backupmanifest.load_manifest(man).databases
    assert recorded[0].tables == {"public.customers": 3, "public.orders": ROWS}
    r = irkit("backup", "verify", str(folder / "shop.sql"), "--manifest", str(man), "--json")
    assert r.exit_code == 1, r.output
    data = _json(r.output)
    assert data["failures"] == [
        f"rows: shop.sql: table public.orders: 249 row(s), {ROWS} at backup time"
    ]
    # the complete dump passes against the same counts
    shutil.copy(base.dump, folder / "shop.sql")
    r = irkit("backup", "manifest", str(folder), "-o", str(man), "--pg", base.conninfo)
    r = irkit("backup", "verify", str(folder / "shop.sql"), "--manifest", str(man))
    assert r.exit_code == 0, r.output
    assert f"ok rows: shop.sql: 2 table(s), {ROWS + 3} row(s), as at backup time" in r.output


def test_sqlite_row_counts(irkit: Any, tmp_path: Path) -> None:
    folder = tmp_path / "src"
    folder.mkdir()
    db = folder / "app.sqlite"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    con.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(40)])
    con.commit()
    con.close()
    man = tmp_path / "m.json"
    r = irkit("backup", "manifest", str(folder), "-o", str(man), "--sqlite", str(db))
    assert r.exit_code == 0 and "sqlite app.sqlite: 1 table, 40 rows" in r.output
    r = irkit("backup", "verify", str(folder), "--manifest", str(man))
    assert r.exit_code == 0 and "ok rows: app.sqlite: 1 table(s), 40 row(s)" in r.output
    later = tmp_path / "later"
    shutil.copytree(folder, later)
    con = sqlite3.connect(later / "app.sqlite")
    con.execute("DELETE FROM t WHERE id >= 10")
    con.commit()
    con.close()
    r = irkit("backup", "verify", str(later), "--manifest", str(man), "--json")
    assert r.exit_code == 1
    assert "rows: app.sqlite: table t: 10 row(s), 40 at backup time" in _json(r.output)["failures"]
    r = irkit(
        "backup", "manifest", str(folder), "-o", str(man), "--pg", "host=/nonexistent dbname=x"
    )
    assert r.exit_code == 2 and "--pg: cannot count rows" in r.output


def test_signed_manifest_is_recognised_by_verify(
    base: BaseBackups, irkit: Any, case: Case, key_files: Any, tmp_path: Path
) -> None:
    _verifybackup_or_skip()
    manifest = base.plain / "backup_manifest"
    r = irkit(
        "backup",
        "manifest",
        "--existing",
        str(manifest),
        "--sign",
        case=case.root,
        key=key_files.bob,
    )
    assert r.exit_code == 0, r.output
    signed = case.read_entries().entries[-1]
    assert signed.kind == "backup.manifest" and signed.body["format"] == "postgresql"
    r = irkit(
        "backup",
        "verify",
        str(base.plain),
        "--manifest",
        str(manifest),
        case=case.root,
        key=key_files.bob,
    )
    assert r.exit_code == 0, r.output
    assert f"manifest: the one signed at backup time (#{signed.seq}" in r.output
    body = case.read_entries().entries[-1].body
    assert body["manifest_entry"] == signed.seq
    # a manifest made later (not the backup-time one) is named as such
    other = tmp_path / "m.json"
    assert irkit("backup", "manifest", str(base.plain), "-o", str(other)).exit_code == 0
    r = irkit(
        "backup",
        "verify",
        str(base.plain),
        "--manifest",
        str(other),
        case=case.root,
        key=key_files.bob,
    )
    assert "manifest: not the one signed at backup time" in r.output
    assert "manifest_entry" not in case.read_entries().entries[-1].body
    r = irkit("verify", case=case.root)
    assert r.exit_code == 0, r.output


def test_restored_cluster_started_and_queried(
    base: BaseBackups, irkit: Any, tmp_path: Path
) -> None:
    """[[query]]: the restored data directory is started as a server (it recovers from its
    WAL) and the spec's queries run on it; a wrong answer and a bad query are named."""
    spec = tmp_path / "spec.toml"
    spec.write_text(
        f"""
[[query]]
database = "shop"
user = "{postgres.SUPERUSER}"
sql = "SELECT count(*) FROM orders"
at_least = {ROWS}

[[query]]
database = "shop"
user = "{postgres.SUPERUSER}"
sql = "SELECT count(*) FROM customers"
expect = "4"

[[query]]
database = "shop"
user = "{postgres.SUPERUSER}"
sql = "SELECT count(*) FROM nothing_here"
""",
        encoding="utf-8",
    )
    r = irkit(
        "backup",
        "verify",
        str(base.tar),
        "--manifest",
        str(base.tar / "backup_manifest"),
        "--spec",
        str(spec),
        "--json",
    )
    assert r.exit_code == 1, r.output
    data = _json(r.output)
    queries = [c for c in data["checks"] if c["check"] == "query"]
    assert queries[0] == {
        "check": "query",
        "ok": True,
        "message": f"shop: SELECT count(*) FROM orders: '{ROWS}', at least {ROWS} expected",
    }
    assert queries[1]["ok"] is False and "'3', expected '4'" in queries[1]["message"]
    assert (
        queries[2]["ok"] is False
        and 'relation "nothing_here" does not exist' in queries[2]["message"]
    )
