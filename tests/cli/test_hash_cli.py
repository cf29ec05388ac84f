"""`irkit hash` as a user runs it: manifests to stdout or a file, audits, exit codes."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.conftest import Runner
from tests.helpers import children


def _tree(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text("alpha")
    (root / "sub" / "b.bin").write_bytes(b"\x00\x01" * 5000)
    return root


def test_hash_then_audit_clean_and_dirty(irkit: Runner, tmp_path: Path) -> None:
    root = _tree(tmp_path)
    os.chdir(tmp_path)
    r = irkit("hash", "data", "-o", "m.json", "--format", "json", "-a", "sha256,md5")
    assert r.exit_code == 0, r.output
    doc = json.loads((tmp_path / "m.json").read_text())
    assert doc["tool"].startswith("irkit") and doc["host"] and len(doc["files"]) == 2
    assert irkit("hash", "data", "--audit", "m.json").exit_code == 0
    (root / "a.txt").write_text("alphA")
    r = irkit("hash", "data", "--audit", "m.json", "--json")
    assert r.exit_code == 1
    report = json.loads(r.stdout)
    assert report["changed"] == ["data/a.txt"] and report["summary"]["matched"] == 1


def test_sums_to_stdout_and_bad_inputs(irkit: Runner, tmp_path: Path) -> None:
    _tree(tmp_path)
    os.chdir(tmp_path)
    r = irkit("hash", "data")
    assert r.exit_code == 0 and r.stdout.count("  data/") == 2
    assert irkit("hash", "data", "-a", "crc32").exit_code == 2
    (tmp_path / "bad.txt").write_text("not a manifest line\n")
    r = irkit("hash", "data", "--audit", "bad.txt")
    assert r.exit_code == 2 and "irkit: error:" in r.stderr


def test_missing_path_exits_1_but_hashes_the_rest(irkit: Runner, tmp_path: Path) -> None:
    _tree(tmp_path)
    os.chdir(tmp_path)
    r = irkit("hash", "data", "nope")
    assert r.exit_code == 1 and r.stdout.count("  data/") == 2 and "nope" in r.stderr


def test_hashdeep_format_and_audit_with_relative_paths(irkit: Runner, tmp_path: Path) -> None:
    _tree(tmp_path)
    os.chdir(tmp_path)
    r = irkit("hash", "data", "--format", "hashdeep", "-a", "md5,sha256", "-o", "m.hd")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "m.hd").read_bytes().startswith(b"%%%% HASHDEEP-1.0")
    assert irkit("hash", "data", "--audit", "m.hd").exit_code == 0


def test_every_format_audits_and_names_each_category(irkit: Runner, tmp_path: Path) -> None:
    root = _tree(tmp_path)
    (root / "gone.txt").write_text("to be deleted")
    (root / "mover.txt").write_text("to be moved")
    os.chdir(tmp_path)
    for fmt in ("sha256sum", "hashdeep", "dfxml", "json", "csv"):
        r = irkit("hash", "data", "--format", fmt, "-o", f"m.{fmt}")
        assert r.exit_code == 0, (fmt, r.output)
        assert "MB/s" not in r.stderr  # no progress display when stderr is not a terminal
        assert irkit("hash", "data", "--audit", f"m.{fmt}").exit_code == 0, fmt
    (root / "gone.txt").unlink()
    (root / "mover.txt").rename(root / "sub" / "moved.txt")
    (root / "fresh.txt").write_text("new file")
    with (root / "a.txt").open("r+b") as fh:
        fh.write(b"A")  # one changed byte
    for fmt in ("sha256sum", "hashdeep", "dfxml", "json", "csv"):
        r = irkit("hash", "data", "--audit", f"m.{fmt}", "--json")
        assert r.exit_code == 1, fmt
        report = json.loads(r.stdout)
        summary = report["summary"]
        assert (summary["changed"], summary["moved"], summary["new"], summary["missing"]) == (
            1,
            1,
            1,
            1,
        ), (fmt, report)
        assert report["changed"][0].endswith("data/a.txt")
        assert report["missing"][0].endswith("data/gone.txt")
        assert report["new"][0].endswith("data/fresh.txt")
        assert report["moved"][0]["to"].endswith("data/sub/moved.txt")


def _run_on_terminal(args: list[str]) -> tuple[int, str]:
    """Run irkit with stderr on a pseudo-terminal; what the terminal showed."""
    import pty
    import subprocess
    import sys

    leader, follower = pty.openpty()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "irkit", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=follower,
            timeout=120,
        )
    finally:
        os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the terminal has no writer left
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    return proc.returncode, shown.decode()


def test_progress_on_a_terminal_and_quiet_when_piped(tmp_path: Path) -> None:
    import subprocess
    import sys

    root = tmp_path / "many"
    root.mkdir()
    for i in range(200):  # enough for the forked workers
        (root / f"f{i:03d}").write_bytes(os.urandom(1000 + i))
    total = sum(1000 + i for i in range(200))
    code, shown = _run_on_terminal(["hash", str(root), "-o", str(tmp_path / "m.sums")])
    assert code == 0, shown
    last = shown.strip().split("\r")[-1]
    assert last.startswith("200/200 files, ") and "MB/s, ETA" in last
    assert f"{total / 1e6:,.1f}/{total / 1e6:,.1f} MB" in last
    piped = subprocess.run(
        [sys.executable, "-m", "irkit", "hash", str(root)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert piped.returncode == 0 and piped.stderr == ""
    assert piped.stdout.count("\n") == 200


def test_output_file_is_whole_or_absent(irkit: Runner, tmp_path: Path) -> None:
    """A run that fails half-way (hashdeep cannot hold a newline in a name) leaves no file."""
    root = _tree(tmp_path)
    (root / "sub" / "new\nline").write_text("x")
    os.chdir(tmp_path)
    r = irkit("hash", "data", "--format", "hashdeep", "-o", "m.hd")
    assert r.exit_code == 2 and "newline" in r.stderr
    assert [p.name for p in tmp_path.iterdir() if "m.hd" in p.name] == []  # nor a temp file
    (tmp_path / "m.hd").write_bytes(b"an earlier manifest")
    assert irkit("hash", "data", "--format", "hashdeep", "-o", "m.hd").exit_code == 2
    assert (tmp_path / "m.hd").read_bytes() == b"an earlier manifest"  # untouched
    (root / "sub" / "new\nline").unlink()
    assert irkit("hash", "data", "--format", "hashdeep", "-o", "m.hd").exit_code == 0
    assert (tmp_path / "m.hd").read_bytes().startswith(b"%%%% HASHDEEP-1.0")
    assert [p.name for p in tmp_path.iterdir() if "m.hd" in p.name] == ["m.hd"]


def test_a_run_that_fails_early_leaves_no_worker_running(irkit: Runner, tmp_path: Path) -> None:
    first = tmp_path / "a"
    first.mkdir()
    (first / "new\nline").write_text("x")  # the hashdeep writer refuses this, first thing
    many = tmp_path / "b"
    many.mkdir()
    for i in range(400):
        (many / f"f{i:03d}").write_bytes(os.urandom(50_000))
    before = children()  # another test may have left a child of pytest: only count new ones
    r = irkit("hash", str(first), str(many), "--format", "hashdeep")
    assert r.exit_code == 2 and "newline" in r.stderr
    # every forked worker has been stopped and reaped (an unreaped zombie is still listed)
    assert children() - before == set(), "a worker process is still there"
