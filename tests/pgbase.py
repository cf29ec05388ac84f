"""A real pg_basebackup (plain and tar format) of a throwaway cluster, for the backup tests.

Skips (loudly) only when the PostgreSQL server binaries are missing; CI installs them.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from irkit.backup import postgres
from tests.pgdumps import bindir_or_skip

ROWS = 500


@dataclass(frozen=True)
class BaseBackups:
    plain: Path  # pg_basebackup -Fp: a data directory with backup_manifest
    tar: Path  # pg_basebackup -Ft -z: base.tar.gz, pg_wal.tar.gz, backup_manifest
    dump: Path  # pg_dump -Fp of the database `shop`, complete
    conninfo: str  # of the still running source cluster (see `stop`)


class Source:
    """One running source cluster (database `shop`, table `orders` with 500 rows)."""

    def __init__(self, dest: Path) -> None:
        self.bindir = bindir_or_skip()
        self.work = Path(tempfile.mkdtemp(prefix="irkit-pg-base-"))
        self.cluster = postgres._Cluster(self.bindir, self.work)
        self.dest = dest

    def start(self) -> BaseBackups:
        c, b = self.cluster, self.bindir
        c.start()
        c.psql("createdb", "CREATE DATABASE shop")
        psql = [str(b / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", "shop"]
        sql = (
            "CREATE TABLE orders (id int PRIMARY KEY, note text);"
            f"INSERT INTO orders SELECT g, 'order ' || g FROM generate_series(1, {ROWS}) g;"
            "CREATE TABLE customers (id int PRIMARY KEY);"
            "INSERT INTO customers SELECT generate_series(1, 3);"
        )
        c.must("load", [*psql, "-c", sql], 60)
        out = self.work / "out"  # written by the cluster user
        out.mkdir(mode=0o700)
        if c.uid is not None:
            os.chown(out, c.uid, c.gid if c.gid is not None else -1)
        plain, tar = out / "plain", out / "tar"
        base = [str(b / "pg_basebackup"), "-X", "stream", "--no-sync", "-c", "fast"]
        c.must("pg_basebackup -Fp", [*base, "-D", str(plain), "-Fp"], 120)
        c.must("pg_basebackup -Ft", [*base, "-D", str(tar), "-Ft", "-z"], 120)
        dump = c.must("pg_dump", [str(b / "pg_dump"), "-Fp", "-d", "shop"], 60, stdout_to_log=False)
        shutil.copytree(plain, self.dest / "plain", symlinks=True)
        shutil.copytree(tar, self.dest / "tar")
        (self.dest / "dumps").mkdir()
        (self.dest / "dumps" / "shop.sql").write_bytes(dump)
        conninfo = f"host={c.run_dir} port={postgres.PORT} user={postgres.SUPERUSER} dbname=shop"
        return BaseBackups(
            self.dest / "plain", self.dest / "tar", self.dest / "dumps" / "shop.sql", conninfo
        )

    def stop(self) -> None:
        try:
            self.cluster.stop()
        finally:
            shutil.rmtree(self.work, ignore_errors=True)
