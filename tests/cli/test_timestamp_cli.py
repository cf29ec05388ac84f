"""`irkit checkpoint --tsa`, `irkit timestamp send|list` and `irkit verify --tsa-root` end to
end, against `openssl ts -reply` served on loopback (tests/tsa.py)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import KeyFiles, Runner
from tests.tsa import Tsa, TsaServer, other_tsa, other_tsa_certs, tsa, tsa_certs

__all__ = ["other_tsa", "other_tsa_certs", "tsa", "tsa_certs"]  # fixtures used by name


def _case(irkit: Runner, key_files: KeyFiles, tmp_path: Path) -> Path:
    case_dir = tmp_path / "case"
    result = irkit("init", str(case_dir), "--title", "T", "--id", "T-1", key=key_files.alice)
    assert result.exit_code == 0, result.output
    assert irkit("note", "add", "first", key=key_files.alice, case=case_dir).exit_code == 0
    return case_dir


def _kinds(case_dir: Path) -> list[str]:
    return [json.loads(x)["kind"] for x in (case_dir / "journal.jsonl").read_text().splitlines()]


def test_checkpoint_tsa_records_a_token_that_verify_rechecks(
    irkit: Runner, key_files: KeyFiles, tmp_path: Path, tsa: TsaServer
) -> None:
    case_dir = _case(irkit, key_files, tmp_path)
    root = str(tsa.tsa.root)
    result = irkit("checkpoint", "--tsa", tsa.url, "--tsa-root", root, "--tsa-policy",
                   tsa.tsa.policy, key=key_files.alice, case=case_dir)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "timestamped" in result.stderr and "CN=Test TSA" in result.stderr
    assert _kinds(case_dir)[-1] == "checkpoint.timestamped"
    assert not list((case_dir / "timestamps" / "queue").iterdir())
    # only the imprint and a nonce left: the query is a few dozen bytes, no case text
    assert len(tsa.requests) == 1 and b"first" not in tsa.requests[0]
    assert len(tsa.requests[0]) < 80
    verified = irkit("verify", case=case_dir)
    assert verified.exit_code == 0, verified.output
    assert "timestamped (1 RFC 3161 token verified): 2 of 3 entries" in verified.output
    # the auditor's own root, given out of band
    assert irkit("verify", "--tsa-root", root, case=case_dir).exit_code == 0
    # the default TSA is now the case's: --timestamp uses it
    again = irkit("checkpoint", "--timestamp", key=key_files.alice, case=case_dir)
    assert again.exit_code == 0, again.output
    listed = json.loads(irkit("timestamp", "list", "--json", case=case_dir).output)
    assert [x["size"] for x in listed] == [2, 3]
    assert all(x["state"] == "recorded" and x["policy"] == tsa.tsa.policy for x in listed)


def test_verify_with_another_root_fails(
    irkit: Runner, key_files: KeyFiles, tmp_path: Path, tsa: TsaServer, other_tsa: TsaServer
) -> None:
    case_dir = _case(irkit, key_files, tmp_path)
    assert irkit("checkpoint", "--tsa", tsa.url, "--tsa-root", str(tsa.tsa.root),
                 key=key_files.alice, case=case_dir).exit_code == 0  # fmt: skip
    result = irkit("verify", "--tsa-root", str(other_tsa.tsa.root), case=case_dir)
    assert result.exit_code == 1
    assert "timestamp token" in result.output and "FAILED" in result.output


def test_a_token_from_another_tsa_is_refused_before_anything_is_signed(
    irkit: Runner, key_files: KeyFiles, tmp_path: Path, tsa: TsaServer, other_tsa: TsaServer
) -> None:
    case_dir = _case(irkit, key_files, tmp_path)
    result = irkit("checkpoint", "--tsa", other_tsa.url, "--tsa-root", str(tsa.tsa.root),
                   key=key_files.alice, case=case_dir)  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "does not verify" in result.stderr and "stays queued" in result.stderr
    assert "Traceback" not in result.output
    assert "checkpoint.timestamped" not in _kinds(case_dir)
    assert not (case_dir / "timestamps" / "roots").exists()  # a root that failed is not pinned
    # the queued request then goes to the right TSA
    sent = irkit("timestamp", "send", "--tsa", tsa.url, "--tsa-root", str(tsa.tsa.root),
                 key=key_files.alice, case=case_dir)  # fmt: skip
    assert sent.exit_code == 0, sent.output
    assert _kinds(case_dir)[-1] == "checkpoint.timestamped"


def test_offline_queue_then_send(
    irkit: Runner, key_files: KeyFiles, tmp_path: Path, tsa: TsaServer
) -> None:
    case_dir = _case(irkit, key_files, tmp_path)
    queued = irkit("checkpoint", "--tsa", tsa.url, "--tsa-root", str(tsa.tsa.root),
                   "--tsa-queue", key=key_files.alice, case=case_dir)  # fmt: skip
    assert queued.exit_code == 0, queued.output
    assert "queued as timestamps/queue/" in queued.stderr
    assert not tsa.requests
    listed = irkit("timestamp", "list", case=case_dir)
    assert "queued" in listed.output and "checkpoint of 2 entries" in listed.output
    sent = irkit("timestamp", "send", "--json", key=key_files.alice, case=case_dir)
    assert sent.exit_code == 0, sent.output
    assert [r["size"] for r in json.loads(sent.output)["recorded"]] == [2]
    assert len(tsa.requests) == 1
    assert irkit("timestamp", "send", key=key_files.alice, case=case_dir).output.startswith(
        "no timestamp request"
    )
    assert irkit("verify", case=case_dir).exit_code == 0


def test_unreachable_tsa_keeps_the_request_queued(
    irkit: Runner, key_files: KeyFiles, tmp_path: Path, tsa_certs: Tsa
) -> None:
    case_dir = _case(irkit, key_files, tmp_path)
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/"
    root = str(tsa_certs.root)
    result = irkit("checkpoint", "--tsa", dead, "--tsa-root", root, key=key_files.alice,
                   case=case_dir)  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "cannot reach it" in result.stderr and "queued" in result.stderr
    assert "irkit timestamp send" in result.stderr
    assert len(list((case_dir / "timestamps" / "queue").iterdir())) == 1
    assert "checkpoint.timestamped" not in _kinds(case_dir)


def test_bad_inputs_are_one_line_errors(
    irkit: Runner, key_files: KeyFiles, tmp_path: Path, tsa: TsaServer
) -> None:
    case_dir = _case(irkit, key_files, tmp_path)
    before = (case_dir / "journal.jsonl").read_bytes()
    cases = [
        (["checkpoint", "--tsa", tsa.url], "no TSA root"),
        (["checkpoint", "--timestamp"], "no default TSA"),
        (["checkpoint", "--tsa", "ftp://x/", "--tsa-root", str(tsa.tsa.root)], "not an http"),
        (["checkpoint", "--tsa", tsa.url, "--tsa-root", str(case_dir / "journal.jsonl")],
         "not an X.509"),
        (["checkpoint", "--tsa", tsa.url, "--tsa-root", str(tsa.tsa.root), "--tsa-policy",
          "x.y"], "not an OID"),
        (["checkpoint", "--tsa-root", str(tsa.tsa.root)], "go with --tsa"),
        (["verify", "--tsa-root", str(tmp_path / "missing.pem")], "missing.pem"),
    ]  # fmt: skip
    for args, message in cases:
        result = irkit(*args, key=key_files.alice, case=case_dir)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert (case_dir / "journal.jsonl").read_bytes() == before
    assert not (case_dir / "checkpoints").exists() or not list((case_dir / "checkpoints").iterdir())
    assert not tsa.requests
