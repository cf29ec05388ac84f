"""SIGTERM (a cron `timeout`) and SIGINT stop `backup verify` with everything cleaned up:
the throwaway PostgreSQL cluster stopped, its data directory and the restored tree gone.
A real `irkit` child process, a real server, real signals."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.pgdumps import bindir_or_skip

SLOW_DUMP = b"""--
-- PostgreSQL database dump
--
CREATE TABLE t (id int);
SELECT pg_sleep(120);
--
-- PostgreSQL database dump complete
--
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _wait_for_server(tmp: Path, proc: subprocess.Popen[bytes]) -> int:
    """The postgres pid once the throwaway cluster is up and the slow restore is running."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        for pidfile in tmp.rglob("postmaster.pid"):
            lines = pidfile.read_text(errors="replace").splitlines()
            if len(lines) >= 8 and lines[7].strip() == "ready":
                time.sleep(1.0)  # psql is now inside pg_sleep
                return int(lines[0])
        time.sleep(0.1)
    raise AssertionError("the throwaway cluster never came up")


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_cleans_up_the_cluster_and_scratch(
    tmp_path: Path, sig: signal.Signals, code: int
) -> None:
    bindir_or_skip()
    work = tmp_path / "work"
    work.mkdir()
    tmp = Path(tempfile.mkdtemp(prefix="irk-sig-"))  # short: the cluster's socket lives here
    os.chmod(tmp, 0o1777)  # the cluster may run as nobody
    dump = work / "slow.sql"
    dump.write_bytes(SLOW_DUMP)
    source = work / "src"
    source.mkdir()
    (source / "slow.sql").write_bytes(SLOW_DUMP)
    env = {**os.environ, "TMPDIR": str(tmp)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "irkit", "backup", "verify", str(dump), "--source", str(source)],
        cwd=work,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    server = 0
    try:
        server = _wait_for_server(tmp, proc)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if server and _alive(server):  # the bug this test is for: do not leave it running
            os.kill(server, signal.SIGQUIT)
        leftovers = list(tmp.iterdir())
        shutil.rmtree(tmp, ignore_errors=True)
    assert proc.returncode == code, (out, err)
    assert f"{sig.name}: stopping" in err.decode()
    assert b"Traceback" not in err
    assert not _alive(server), "the throwaway PostgreSQL server is still running"
    assert leftovers == []  # cluster data directory and restored tree removed


def test_sigterm_stops_hashing_a_large_artifact_at_once(tmp_path: Path) -> None:
    """A stop must not wait for the rest of a big artifact to be read and hashed (a cron
    `timeout` waited 45 s for 20 GB of a refused file)."""
    big = tmp_path / "big.img"
    with big.open("wb") as fh:
        fh.truncate(64 << 30)  # sparse: reads as zeros, costs no disk
    src = tmp_path / "src"
    src.mkdir()
    (src / "a").write_text("a")
    env = {k: v for k, v in os.environ.items() if not k.startswith("IRKIT_")}
    env["IRKIT_HOME"] = str(tmp_path / "home")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env["TMPDIR"] = str(scratch)
    proc = subprocess.Popen(
        [sys.executable, "-m", "irkit", "backup", "verify", str(big), "--source", str(src)],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not any(scratch.iterdir()) and time.monotonic() < deadline:  # restoring has begun
        time.sleep(0.1)
    time.sleep(2)
    assert proc.poll() is None, "finished before the signal: make the artifact larger"
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(timeout=20)
    finally:
        proc.kill()
    assert code == 143
    assert list(scratch.iterdir()) == []  # and the scratch space went with it
