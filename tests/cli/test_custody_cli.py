"""`irkit custody` from the command line: release, accept, show, refusals."""

from __future__ import annotations

import json
from pathlib import Path

from irkit.formats import ed25519
from irkit.record.case import Case
from tests.conftest import KeyFiles, Runner


def test_release_accept_show(
    irkit: Runner, key_files: KeyFiles, case: Case, bob: ed25519.Signer, tmp_path: Path
) -> None:
    src = tmp_path / "usb.img"
    src.write_bytes(b"usb image")
    assert (
        irkit("evidence", "collect", str(src), key=key_files.alice, case=case.root).exit_code == 0
    )
    r = irkit(
        "custody",
        "release",
        "E-0001",
        "--to",
        bob.fingerprint,
        "--purpose",
        "lab",
        key=key_files.bob,
        case=case.root,
    )
    assert r.exit_code == 2 and "held by" in r.stderr
    r = irkit(
        "custody",
        "release",
        "E-0001",
        "--to",
        bob.fingerprint,
        "--purpose",
        "lab",
        "--method",
        "courier",
        key=key_files.alice,
        case=case.root,
    )
    assert r.exit_code == 0 and "T-0001" in r.output
    r = irkit(
        "custody",
        "accept",
        "T-0001",
        "--condition",
        "sealed",
        key=key_files.mallory,
        case=case.root,
    )
    assert r.exit_code == 2
    r = irkit(
        "custody", "accept", "T-0001", "--condition", "sealed", key=key_files.bob, case=case.root
    )
    assert r.exit_code == 0 and "hash OK" in r.output
    chain = json.loads(irkit("custody", "show", "E-0001", "--json", case=case.root).output)
    assert chain["holder"] == bob.fingerprint
    assert [c["event"] for c in chain["chain"]] == [
        "evidence.collected",
        "custody.released",
        "custody.accepted",
    ]
    assert chain["chain"][2]["condition"] == "sealed"
    assert chain["chain"][2]["from"] == chain["chain"][1]["by"] == chain["chain"][0]["by"]
    assert chain["chain"][2]["to"] == bob.fingerprint
    assert [c["signature"] for c in chain["chain"]] == ["valid"] * 3
    shown = json.loads(irkit("evidence", "show", "E-0001", "--json", case=case.root).output)
    assert [c["event"] for c in shown["custody"]] == [c["event"] for c in chain["chain"]]
    r = irkit(
        "custody",
        "dispose",
        "E-0001",
        "--reason",
        "wiped",
        "--witness-key",
        str(key_files.alice),
        key=key_files.bob,
        case=case.root,
    )
    assert r.exit_code == 0, r.output
    assert irkit("verify", case=case.root).exit_code == 0
    assert "final: disposed" in irkit("custody", "show", "E-0001", case=case.root).output
