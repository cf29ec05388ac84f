"""`irkit witness` and the log side (`checkpoint --witness…`, `verify --witness`) end to end:
offline through request and response files, and online against `irkit witness serve`
started as its own process."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from irkit.childenv import child_env
from tests.conftest import KeyFiles, Runner
from tests.helpers import lines, write_lines

PASS = {"IRKIT_WITNESS_PASSPHRASE": "witness passphrase"}


def _case(irkit: Runner, key_files: KeyFiles, tmp_path: Path) -> Path:
    case_dir = tmp_path / "case"
    result = irkit("init", str(case_dir), "--title", "W", "--id", "W-1", key=key_files.alice)
    assert result.exit_code == 0, result.output
    assert irkit("note", "add", "first", key=key_files.alice, case=case_dir).exit_code == 0
    return case_dir


@pytest.fixture
def witness_dir(irkit: Runner, tmp_path: Path) -> dict[str, str]:
    folder = tmp_path / "wit"
    result = irkit("witness", "init", "--dir", str(folder), "--name", "example.org/w1", "--json",
                   env=PASS)  # fmt: skip
    assert result.exit_code == 0, result.output
    info: dict[str, str] = json.loads(result.output)
    return info


def test_init_makes_a_protected_key_and_refuses_a_second(
    irkit: Runner, witness_dir: dict[str, str], tmp_path: Path
) -> None:
    key = Path(witness_dir["folder"]) / "witness.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert json.loads(key.read_text())["encryption"]["kdf"] == "scrypt"
    assert witness_dir["vkey"].startswith("example.org/w1+")
    again = irkit("witness", "init", "--dir", witness_dir["folder"], env=PASS)
    assert again.exit_code == 2 and "already" in again.stderr
    weak = irkit("witness", "init", "--dir", str(tmp_path / "w2"),
                 env={"IRKIT_WITNESS_PASSPHRASE": "short"})  # fmt: skip
    assert weak.exit_code == 2 and not (tmp_path / "w2" / "witness.key").exists()
    none = irkit("witness", "init", "--dir", str(tmp_path / "w3"))
    assert none.exit_code == 2 and "no passphrase" in none.stderr
    bad_name = irkit("witness", "init", "--dir", str(tmp_path / "w4"), "--name", "a b", env=PASS)
    assert bad_name.exit_code == 2
    shown = irkit("witness", "show", "--dir", witness_dir["folder"])
    assert shown.exit_code == 0 and witness_dir["fingerprint"] in shown.output


def test_offline_request_cosign_attach_and_verify(
    irkit: Runner, key_files: KeyFiles, witness_dir: dict[str, str], tmp_path: Path
) -> None:
    case_dir = _case(irkit, key_files, tmp_path)
    wdir = witness_dir["folder"]
    fp = witness_dir["fingerprint"]
    assert irkit("witness", "add-log", "--case", str(case_dir), "--dir", wdir).exit_code == 0
    req, resp = tmp_path / "req.txt", tmp_path / "resp.txt"
    result = irkit("checkpoint", "--witness-request", str(req), key=key_files.alice, case=case_dir)
    assert result.exit_code == 0, result.output
    assert req.read_text().startswith("old 0\n\n")
    # the auditor asks before the cosignature is attached: not witnessed
    result = irkit("verify", "--witness", witness_dir["vkey"], case=case_dir)
    assert result.exit_code == 1 and "cosignature" in result.output
    result = irkit("witness", "cosign", "--request", str(req), "-o", str(resp), "--dir", wdir,
                   env=PASS)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert resp.read_text().startswith("\u2014 example.org/w1 ")
    # the same request again: the witness is past size 0 now and says where it is
    again = irkit("witness", "cosign", "--request", str(req), "--dir", wdir, env=PASS)
    assert again.exit_code == 2 and "--old-size 2" in again.stderr
    pub = str(Path(wdir) / "witness.pub")
    result = irkit("checkpoint", "--add-cosignature", str(resp), "--witness-key", pub,
                   case=case_dir)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (case_dir / "witnesses" / f"{fp.removeprefix('ed25519:')}.pub").is_file()
    result = irkit("verify", "--witness", fp, "--json", case=case_dir)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["witnessed"] == report["entries"] == 2 and report["min_witnesses"] == 1
    # grow, and the next request starts from the size the case shows the witness cosigned
    assert irkit("note", "add", "second", key=key_files.alice, case=case_dir).exit_code == 0
    assert irkit("note", "add", "third", key=key_files.alice, case=case_dir).exit_code == 0
    result = irkit("checkpoint", "--witness-request", str(req), "--witness-key", fp,
                   key=key_files.alice, case=case_dir)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert req.read_text().startswith("old 2\n") and "\n\n" in req.read_text()
    resp.unlink()
    result = irkit("witness", "cosign", "--request", str(req), "-o", str(resp), "--dir", wdir,
                   env=PASS)  # fmt: skip
    assert result.exit_code == 0, result.output
    result = irkit("checkpoint", "--add-cosignature", str(resp), "--witness-key",
                   witness_dir["vkey"], case=case_dir)  # fmt: skip
    assert result.exit_code == 0, result.output
    result = irkit("verify", "--witness", fp, case=case_dir)
    assert result.exit_code == 0 and "witnessed (1 of 1 witnesses): 4 of 4" in result.output
    # rolled back by two entries: the cosigned checkpoint of 4 no longer fits
    write_lines(case_dir, lines(case_dir)[:-2])
    result = irkit("verify", "--witness", fp, case=case_dir)
    assert result.exit_code == 1 and "removed" in result.output


def test_cosign_a_checkpoint_file_with_a_proof_file(
    irkit: Runner, key_files: KeyFiles, witness_dir: dict[str, str], tmp_path: Path
) -> None:
    case_dir = _case(irkit, key_files, tmp_path)
    wdir = witness_dir["folder"]
    assert irkit("witness", "add-log", "--case", str(case_dir), "--dir", wdir).exit_code == 0
    first = tmp_path / "cp1.txt"
    assert irkit("checkpoint", "-o", str(first), key=key_files.alice, case=case_dir).exit_code == 0
    result = irkit("witness", "cosign", str(first), "--dir", wdir, env=PASS)
    assert result.exit_code == 0 and result.output.startswith("\u2014 example.org/w1 ")
    assert irkit("note", "add", "more", key=key_files.alice, case=case_dir).exit_code == 0
    req = tmp_path / "req.txt"
    assert irkit("checkpoint", "--witness-request", str(req), "--old-size", "2",
                 key=key_files.alice, case=case_dir).exit_code == 0  # fmt: skip
    head, _, note = req.read_text().partition("\n\n")
    proof = tmp_path / "proof.txt"
    proof.write_text("\n".join(head.splitlines()[1:]) + "\n")
    second = tmp_path / "cp2.txt"
    second.write_text(note)
    bad = tmp_path / "bad.txt"
    bad.write_text("AAAA" + proof.read_text()[4:])
    refused = irkit("witness", "cosign", str(second), "--old", "2", "--proof", str(bad),
                    "--dir", wdir, env=PASS)  # fmt: skip
    assert refused.exit_code == 1 and refused.stdout == ""
    no_proof = irkit("witness", "cosign", str(second), "--old", "2", "--dir", wdir, env=PASS)
    assert no_proof.exit_code == 1 and "does not verify" in no_proof.stderr
    result = irkit("witness", "cosign", str(second), "--old", "2", "--proof", str(proof),
                   "--dir", wdir, env=PASS)  # fmt: skip
    assert result.exit_code == 0, result.output
    both = irkit("witness", "cosign", str(second), "--request", str(req), "--dir", wdir, env=PASS)
    assert both.exit_code == 2


def test_bad_witness_options_are_one_line(
    irkit: Runner, key_files: KeyFiles, witness_dir: dict[str, str], tmp_path: Path
) -> None:
    case_dir = _case(irkit, key_files, tmp_path)
    before = sorted(p.name for p in case_dir.rglob("*"))
    for args in (
        ["verify", "--witness", "not-a-key"],
        ["verify", "--witness", witness_dir["fingerprint"]],  # no copy in the case
        ["verify", "--witness", witness_dir["vkey"], "--min-witnesses", "2"],
        ["verify", "--min-witnesses", "1"],
        ["checkpoint", "--witness", "http://127.0.0.1:9"],  # no --witness-key
        ["checkpoint", "--witness", "ftp://x", "--witness-key", witness_dir["vkey"]],
        ["checkpoint", "--add-cosignature", str(tmp_path / "no such file"), "--witness-key",
         witness_dir["vkey"]],
        ["checkpoint", "--add-cosignature", str(key_files.alice)],  # no --witness-key
        ["checkpoint", "--add-cosignature", str(key_files.alice), "--witness-key",
         witness_dir["vkey"]],  # not a cosignature
    ):  # fmt: skip
        result = irkit(*args, key=key_files.alice, case=case_dir)
        assert result.exit_code == 2, (args, result.output)
        assert len(result.stderr.strip().splitlines()) <= 2 and "Traceback" not in result.output
    assert sorted(p.name for p in case_dir.rglob("*")) == before


# -- online: `irkit witness serve` in its own process --------------------------------------------


@pytest.fixture
def served(witness_dir: dict[str, str], tmp_path: Path) -> Iterator[str]:
    secret = tmp_path / "witness-passphrase"
    secret.write_text(PASS["IRKIT_WITNESS_PASSPHRASE"] + "\n")
    env = child_env({"IRKIT_HOME": str(tmp_path / "home")})
    proc = subprocess.Popen(
        [sys.executable, "-m", "irkit", "witness", "serve", "--addr", "127.0.0.1:0",
         "--dir", witness_dir["folder"], "--passphrase-file", str(secret)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )  # fmt: skip
    try:
        assert proc.stdout is not None and proc.stderr is not None
        first = proc.stdout.readline().decode()
        assert " listening on http://127.0.0.1:" in first, first + proc.stderr.read().decode()
        yield first.rsplit(" ", 1)[1].strip()
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            for stream in (proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()
    assert proc.returncode == 0


def test_checkpoint_witness_online_then_rollback_and_fork(
    irkit: Runner, key_files: KeyFiles, witness_dir: dict[str, str], served: str, tmp_path: Path
) -> None:
    case_dir = _case(irkit, key_files, tmp_path)
    wdir, vkey, fp = witness_dir["folder"], witness_dir["vkey"], witness_dir["fingerprint"]
    result = irkit("checkpoint", "--witness", served, "--witness-key", vkey,
                   key=key_files.alice, case=case_dir)  # fmt: skip
    assert result.exit_code == 2 and "add-log" in result.stderr  # unknown to the witness
    assert not any((case_dir / "checkpoints").glob("*.txt"))  # nothing kept
    assert irkit("witness", "add-log", "--case", str(case_dir), "--dir", wdir).exit_code == 0
    out = tmp_path / "cosigned.txt"
    result = irkit("checkpoint", "--witness", served, "--witness-key", vkey, "-o", str(out),
                   key=key_files.alice, case=case_dir)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "\u2014 example.org/w1 " in out.read_text()
    for text in ("two", "three"):
        assert irkit("note", "add", text, key=key_files.alice, case=case_dir).exit_code == 0
    # the case forgets what the witness saw: the log learns it from the 409
    for path in (case_dir / "checkpoints").glob("*.txt"):
        path.unlink()
    result = irkit("checkpoint", "--witness", served, "--witness-key", vkey,
                   key=key_files.alice, case=case_dir)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert irkit("verify", "--witness", fp, case=case_dir).exit_code == 0
    # one witness down: the other's cosignature is kept, and the command still fails
    import socket

    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{free.getsockname()[1]}"
    assert irkit("note", "add", "four", key=key_files.alice, case=case_dir).exit_code == 0
    result = irkit("checkpoint", "--witness", dead, "--witness", served, "--witness-key", vkey,
                   key=key_files.alice, case=case_dir)  # fmt: skip
    assert result.exit_code == 2 and "cannot reach" in result.stderr
    assert "with 1 cosignature(s)" in result.stderr
    report = json.loads(irkit("verify", "--witness", fp, "--json", case=case_dir).stdout)
    assert report["ok"] and report["unwitnessed"] == 0
    # rollback and a new checkpoint: the witness refuses, the log says why (exit 1)
    write_lines(case_dir, lines(case_dir)[:-1])
    for path in (case_dir / "checkpoints").glob("*.txt"):
        path.unlink()
    (case_dir / ".irkit-state.json").unlink(missing_ok=True)
    result = irkit("checkpoint", "--witness", served, "--witness-key", vkey,
                   key=key_files.alice, case=case_dir)  # fmt: skip
    assert result.exit_code == 1 and "rolled back" in result.stderr
    assert irkit("verify", "--witness", fp, case=case_dir).exit_code == 1
    # forked: same length as the witnessed tree, another last entry
    assert irkit("note", "add", "forged", key=key_files.alice, case=case_dir).exit_code == 0
    result = irkit("checkpoint", "--witness", served, "--witness-key", vkey,
                   key=key_files.alice, case=case_dir)  # fmt: skip
    assert result.exit_code == 1 and "not consistent" in result.stderr
    assert irkit("verify", "--witness", fp, case=case_dir).exit_code == 1
