"""Formats a technician meets: .sql.gz is restored into PostgreSQL like the plain dump it
holds; pg_dump -Fd / -Ft and pg_dumpall get one specific message each, never 'unknown'."""

from __future__ import annotations

import gzip
import io
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from irkit.backup import extract, testrestore
from irkit.errors import InputError
from tests.pgdumps import Dumps


def test_sql_gz_is_restored_into_postgres(pg_dumps: Dumps, tmp_path: Path) -> None:
    packed = tmp_path / "shop.sql.gz"
    packed.write_bytes(gzip.compress(pg_dumps.plain.read_bytes()))
    assert extract.detect(packed) == extract.Detected("pg-plain", "gzip")
    src = tmp_path / "src"
    src.mkdir()
    (src / "shop.sql").write_bytes(pg_dumps.plain.read_bytes())
    result = testrestore.run_verify(packed, source=src)
    assert result.verdict == "PASS", result.failures
    assert result.comparison.matched == ["shop.sql"]
    (db,) = result.databases
    assert db["restored"] and {t["table"]: t["rows"] for t in db["tables"]}["public.orders"] == 5


def _pg_tar(top: Path) -> Path:
    path = top / "shop.tar"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name in ("toc.dat", "3001.dat"):
            info = tarfile.TarInfo(name)
            info.size = 4
            tf.addfile(info, io.BytesIO(b"PGDM"))
    path.write_bytes(buf.getvalue())
    return path


def _pg_dir(top: Path) -> Path:
    (top / "d").mkdir()
    (top / "d" / "toc.dat").write_bytes(b"PGDMP")
    return top / "d"


def _dumpall(top: Path) -> Path:
    (top / "all.sql").write_bytes(b"--\n-- PostgreSQL database cluster dump\n--\n")
    return top / "all.sql"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_pg_tar, "pg_dump tar-format dump"),
        (_pg_dir, "pg_dump directory-format dump"),
        (_dumpall, "pg_dumpall cluster dump"),
    ],
    ids=["pg_dump -Ft", "pg_dump -Fd", "pg_dumpall"],
)
def test_recognised_but_unsupported_formats_say_so(
    tmp_path: Path, make: Callable[[Path], Path], message: str
) -> None:
    artifact = make(tmp_path)
    src = tmp_path / "src"
    src.mkdir()
    with pytest.raises(InputError, match=message) as err:
        testrestore.run_verify(artifact, source=src)
    assert "unknown artifact type" not in str(err.value)
    assert "pg_restore" in str(err.value) or "pg_dump -Fc" in str(err.value)
