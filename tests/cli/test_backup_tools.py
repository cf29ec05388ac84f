"""Restores by the backup's own tool: real restic and borg repositories (healthy, then
corrupted), and `--restore-cmd` with endless output, children left behind and typos."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from irkit.backup import checks, testrestore, tools
from irkit.backup import manifest as backupmanifest
from irkit.errors import InputError
from irkit.record.case import Case


def _tool_or_skip(name: str, package: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} not installed (Debian package {package}; .ci/run installs it)")
    return found


def _source(tmp_path: Path) -> Path:
    """A tree at an absolute path, as a backup job sees it."""
    src = tmp_path / "srv" / "data"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("hello\n")
    (src / "sub" / "b.bin").write_bytes(os.urandom(300_000))
    return src


def _json(output: str) -> Any:
    return json.JSONDecoder().raw_decode(output)[0]  # stderr may follow


# --- restic -------------------------------------------------------------------------


@pytest.fixture
def restic_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    restic = _tool_or_skip("restic", "restic")
    monkeypatch.setenv("RESTIC_PASSWORD", "correct horse")
    monkeypatch.setenv("RESTIC_CACHE_DIR", str(tmp_path / "restic-cache"))
    src = _source(tmp_path)
    repo = tmp_path / "repo"
    subprocess.run([restic, "init", "-q", "-r", str(repo)], check=True, capture_output=True)
    subprocess.run(
        [restic, "-q", "-r", str(repo), "backup", str(src)], check=True, capture_output=True
    )
    return repo, src


def test_restic_snapshot_of_an_absolute_path_passes_and_is_identified(
    tmp_path: Path, irkit: Any, case: Case, key_files: Any, restic_repo: tuple[Path, Path]
) -> None:
    repo, src = restic_repo
    r = irkit("backup", "manifest", str(src), "-o", str(tmp_path / "m.json"))
    assert r.exit_code == 0, r.output
    args = ("backup", "verify", "--restic", str(repo), "--snapshot", "latest")
    r = irkit(
        *args,
        "--manifest",
        str(tmp_path / "m.json"),
        "--check-repo",
        "--json",
        case=case.root,
        key=key_files.bob,
    )
    assert r.exit_code == 0, r.output
    data = _json(r.output)
    assert data["verdict"] == "PASS" and data["counts"]["matched"] == 2
    assert data["layout"] == str(src).lstrip("/")  # found, not "moved"
    tool = data["tool"]
    assert tool["tool"] == "restic" and len(tool["snapshot"]) == 64 and tool["version"]
    assert tool["paths"] == [str(src)]
    assert tool["check"]["ok"] and "--read-data-subset=5%" in tool["check"]["argv"][-1]
    assert {
        "check": "repository",
        "ok": True,
        "message": "restic check --read-data-subset=5%: no errors found",
    } in data["checks"]
    entry = case.read_entries().entries[-1]
    assert entry.kind == "backup.verified" and entry.body["artifact_kind"] == "restic"
    assert entry.body["snapshot"] == tool["snapshot"]
    assert entry.body["tool"] == f"restic {tool['version']}"
    # the identity recorded is the restored data's, not a digest of the whole repository
    restored = backupmanifest.render(backupmanifest.scan(src))
    assert entry.body["artifact_sha256"] == hashlib.sha256(restored).hexdigest()


def test_restic_corrupted_repository_fails_with_the_tools_words(
    tmp_path: Path, irkit: Any, restic_repo: tuple[Path, Path]
) -> None:
    repo, src = restic_repo
    packs = sorted((repo / "data").rglob("*"), key=lambda p: p.stat().st_size)
    biggest = [p for p in packs if p.is_file()][-1]  # the pack holding b.bin's data
    raw = bytearray(biggest.read_bytes())
    raw[len(raw) // 3] ^= 0xFF
    biggest.chmod(0o644)
    biggest.write_bytes(bytes(raw))
    args = ("backup", "verify", "--restic", str(repo), "--snapshot", "latest")
    r = irkit(*args, "--source", str(src), "--check-repo", "--read-data-subset", "100%", "--json")
    assert r.exit_code == 1, r.output
    data = _json(r.output)
    assert data["verdict"] == "FAIL"
    failures = "\n".join(data["failures"])
    assert "restore: restic restore exited 1: ignoring error for" in failures
    assert "repository: restic check --read-data-subset=100%: restic check" in failures
    assert "Fatal: repository contains errors" in failures
    assert data["tool"]["check"]["ok"] is False


def test_restic_usage_mistakes_are_exit_2(
    tmp_path: Path, irkit: Any, restic_repo: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, src = restic_repo
    base = ("backup", "verify", "--source", str(src))
    r = irkit(*base, "--restic", str(repo), "--snapshot", "deadbeef")
    assert r.exit_code == 2 and "not found" in r.output, r.output
    r = irkit(*base, "--restic", str(tmp_path / "nowhere"), "--snapshot", "latest")
    assert r.exit_code == 2, r.output
    r = irkit(*base, "--restic", str(repo))
    assert r.exit_code == 2 and "--snapshot" in r.output
    monkeypatch.setenv("RESTIC_PASSWORD", "wrong")
    r = irkit(*base, "--restic", str(repo), "--snapshot", "latest")
    assert r.exit_code == 2 and "wrong password" in r.output, r.output


# --- borg ---------------------------------------------------------------------------


@pytest.fixture
def borg_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    borg = _tool_or_skip("borg", "borgbackup")
    monkeypatch.setenv("BORG_PASSPHRASE", "correct horse")
    monkeypatch.setenv("BORG_BASE_DIR", str(tmp_path / "borg-home"))
    src = _source(tmp_path)
    repo = tmp_path / "borgrepo"
    subprocess.run([borg, "init", "-e", "repokey", str(repo)], check=True, capture_output=True)
    subprocess.run([borg, "create", f"{repo}::nightly", str(src)], check=True, capture_output=True)
    return repo, src


def test_borg_archive_passes_recorded_with_its_id(
    tmp_path: Path, irkit: Any, case: Case, key_files: Any, borg_repo: tuple[Path, Path]
) -> None:
    repo, src = borg_repo
    r = irkit(
        "backup",
        "verify",
        "--borg",
        f"{repo}::nightly",
        "--source",
        str(src),
        "--check-repo",
        case=case.root,
        key=key_files.bob,
    )
    assert r.exit_code == 0, r.output
    assert "borg 1." in r.output and "(nightly)" in r.output
    assert "ok repository: borg check --verify-data: no errors found" in r.output
    assert f"restored tree found under {str(src).lstrip('/')}/" in r.output
    body = case.read_entries().entries[-1].body
    assert body["artifact_kind"] == "borg" and len(body["snapshot"]) == 64
    assert body["tool"].startswith("borg 1.")


def test_borg_corrupted_segment_fails(
    tmp_path: Path, irkit: Any, borg_repo: tuple[Path, Path]
) -> None:
    repo, src = borg_repo
    segments = [p for p in (repo / "data").rglob("*") if p.is_file() and p.name.isdigit()]
    biggest = max(segments, key=lambda p: p.stat().st_size)
    raw = bytearray(biggest.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    biggest.write_bytes(bytes(raw))
    r = irkit(
        "backup",
        "verify",
        "--borg",
        f"{repo}::nightly",
        "--source",
        str(src),
        "--check-repo",
        "--json",
    )
    assert r.exit_code == 1, r.output
    data = _json(r.output)
    assert data["verdict"] == "FAIL" and data["tool"]["check"]["ok"] is False
    assert any(f.startswith("repository: borg check") for f in data["failures"])
    r = irkit("backup", "verify", "--borg", f"{repo}::missing", "--source", str(src))
    assert r.exit_code == 2 and "does not exist" in r.output


# --- --restore-cmd ------------------------------------------------------------------


def test_restore_cmd_output_is_bounded_in_memory(tmp_path: Path) -> None:
    """300 MB of output keep a head and a tail; memory stays at a few MB, not 900."""
    script = (
        "import sys\nb = b'x' * 65536 + b'\\n'\nfor _ in range(4600): sys.stdout.buffer.write(b)\n"
    )
    tracemalloc.start()
    try:
        got = tools.run([sys.executable, "-c", script], cwd=tmp_path, timeout=120)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert got.ok and got.output_bytes == 4600 * 65537  # 301 MB, all counted
    assert len(got.output) < tools.HEAD + tools.TAIL + 200
    assert "bytes of output not kept" in got.output
    assert peak < 8 << 20, peak


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def test_restore_cmd_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    script = f"sleep 300 & echo $! > {pidfile}; echo started; wait"
    got = tools.run(["sh", "-c", script], cwd=tmp_path, timeout=1)
    assert got.timed_out and "started" in got.output
    child = int(pidfile.read_text())
    for _ in range(100):  # SIGKILL is asynchronous: give the kernel a moment
        if not _alive(child):
            break
        import time

        time.sleep(0.02)
    assert not _alive(child), "the restore tool's child survived the timeout"


def test_restore_cmd_recorded_and_not_hashing_the_artifact(tmp_path: Path) -> None:
    src = _source(tmp_path)
    artifact = tmp_path / "repository.bin"
    artifact.write_bytes(os.urandom(1 << 20))  # what a tool reads: never hashed in full
    cmd = f"cp -r {src}/. {{dest}}"
    got = testrestore.run_verify(artifact, source=src, restore_cmd=cmd)
    assert got.verdict == "PASS"
    assert got.command is not None and got.command["argv"][:2] == ["cp", "-r"]
    assert got.command["exit_code"] == 0
    assert (
        got.artifact_sha256
        == hashlib.sha256(backupmanifest.render(backupmanifest.scan(src))).hexdigest()
    )  # the restored data's manifest digest, not the artifact's bytes


def test_restore_cmd_that_cannot_start_names_the_program(tmp_path: Path) -> None:
    src = _source(tmp_path)
    got = testrestore.run_verify(src, source=src, restore_cmd="resticc restore latest {dest}")
    assert got.verdict == "FAIL"
    assert got.failures[0] == (
        "restore: restore command could not start: resticc: No such file or directory"
    )


def test_restore_cmd_snapshot_of_absolute_path_is_compared_where_it_landed(
    tmp_path: Path,
) -> None:
    """The README's restic recipe: a tool that restores /srv/data under {dest}/srv/data."""
    src = _source(tmp_path)
    inner = str(src).lstrip("/")
    cmd = f"sh -c 'mkdir -p {{dest}}/{inner} && cp -r {src}/. {{dest}}/{inner}'"
    got = testrestore.run_verify(src, source=src, restore_cmd=cmd)
    assert got.verdict == "PASS", got.failures
    assert got.layout == inner and len(got.comparison.matched) == 2


def test_tool_source_label_and_layout_helpers(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "f").write_text("x")
    (tmp_path / "a" / "b" / "g").write_text("y")
    chain = tools.single_chain(tmp_path)
    assert chain == ["", "a", "a/b"]
    files = {"a/b/f": 1, "a/b/g": 2}
    assert tools.best_prefix(chain, files, ["f", "g"]) == "a/b"
    assert tools.best_prefix(chain, files, ["a/b/f"]) == ""  # already right
    assert checks.ToolSource("borg", "r::x").label() == "borg:r::x"
    with pytest.raises(InputError, match="REPO::ARCHIVE"):
        tools.borg_archive("just-a-repo", tmp_path, 10)


def test_sigterm_during_restore_cmd_kills_its_group_and_cleans_scratch(tmp_path: Path) -> None:
    """A cron `timeout` sends SIGTERM: the restore tool's children die with it, the scratch
    directory goes, nothing is recorded."""
    import signal
    import time

    src = _source(tmp_path)
    scratch_parent = tmp_path / "tmp"
    scratch_parent.mkdir()
    pidfile = tmp_path / "child.pid"
    cmd = f"sh -c 'sleep 300 & echo $! > {pidfile}; wait'"
    env = {**os.environ, "TMPDIR": str(scratch_parent)}
    irkit = [sys.executable, "-m", "irkit", "backup", "verify", str(src), "--source", str(src)]
    proc = subprocess.Popen(
        [*irkit, "--restore-cmd", cmd], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        for _ in range(500):
            if pidfile.exists() and pidfile.read_text().strip():
                break
            time.sleep(0.02)
        child = int(pidfile.read_text())
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0 and b"SIGTERM" in err
    for _ in range(100):
        if not _alive(child):
            break
        time.sleep(0.02)
    assert not _alive(child), "the restore command's child outlived irkit"
    assert list(scratch_parent.iterdir()) == []
