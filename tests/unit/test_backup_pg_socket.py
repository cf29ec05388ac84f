"""A restore into a deep scratch folder: the server's Unix socket path would pass the
sun_path limit there, so the socket goes to a private /tmp folder, removed afterwards."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from irkit.backup import postgres
from tests.pgdumps import Dumps


def _socket_dirs() -> set[str]:
    return {n for n in os.listdir("/tmp") if n.startswith("irkit-restore-sock-")}


def test_deep_scratch_still_restores(pg_dumps: Dumps) -> None:
    # outside pytest's 0700 tmp folder: the server runs as nobody and must traverse the path
    base = Path(tempfile.mkdtemp(prefix="irkit-test-deep-", dir="/tmp"))
    try:
        deep = base / ("d" * 60) / ("e" * 60)
        deep.mkdir(parents=True)
        for folder in (base, deep.parent, deep):
            folder.chmod(0o755)
        before = _socket_dirs()
        result = postgres.restore_dump(pg_dumps.custom, scratch=deep)
        assert result.error is None, result.output
        assert result.tables and any(t.rows for t in result.tables)
        assert list(deep.iterdir()) == []
        assert _socket_dirs() == before
    finally:
        shutil.rmtree(base, ignore_errors=True)
