"""Real pg_dump files for the backup tests, made once per session by a real source cluster.

Skips (loudly) only when the PostgreSQL server binaries are missing; CI installs them.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from irkit.backup import postgres

SCHEMA = """
CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE orders (id int PRIMARY KEY, customer int REFERENCES customers, total numeric);
INSERT INTO customers SELECT g, 'customer ' || g FROM generate_series(1, 3) g;
"""
ORDERS = "INSERT INTO orders SELECT g, 1 + g % 3, g * 10 FROM generate_series(1, 5) g;"


@dataclass(frozen=True)
class Dumps:
    custom: Path
    plain: Path
    empty_custom: Path
    empty_plain: Path


def bindir_or_skip() -> Path:
    try:
        return postgres.find_bindir()
    except postgres.PostgresNotFound as exc:
        pytest.skip(f"PostgreSQL server binaries not installed: {exc.message}")


def build_dumps(dest: Path) -> Dumps:
    """One source cluster, two databases (one with an empty `orders`), dumped both ways."""
    bindir = bindir_or_skip()
    work = Path(tempfile.mkdtemp(prefix="irkit-pg-src-"))
    cluster = postgres._Cluster(bindir, work)
    try:
        cluster.start()
        psql = [str(bindir / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1"]
        for db, extra in (("shop", ORDERS), ("shop_empty", "")):
            cluster.psql("createdb", f"CREATE DATABASE {db}")
            cluster.must("load", [*psql, "-d", db, "-c", SCHEMA + extra], 60)
        out = {}
        for db, stem in (("shop", "shop"), ("shop_empty", "shop-empty")):
            for fmt, suffix in (("c", "dump"), ("p", "sql")):
                argv = [str(bindir / "pg_dump"), f"-F{fmt}", "-d", db]
                data = cluster.must("pg_dump", argv, 60, stdout_to_log=False)
                out[f"{stem}.{suffix}"] = dest / f"{stem}.{suffix}"
                out[f"{stem}.{suffix}"].write_bytes(data)
    finally:
        cluster.stop()
        shutil.rmtree(work, ignore_errors=True)
    return Dumps(out["shop.dump"], out["shop.sql"], out["shop-empty.dump"], out["shop-empty.sql"])
