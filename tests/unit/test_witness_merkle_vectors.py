"""RFC 6962 proof verification against every transparency-dev/merkle vector in
tests/data/merkle-testdata (consistency and inclusion, happy paths and mutants): the
witness cosigns only what these functions accept."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from irkit.formats import merkle
from tests.conftest import asset

DATA = asset("merkle-testdata")


def _cases(kind: str) -> list[Path]:
    return sorted((DATA / kind).rglob("*.json"))


def _b64(value: str | None) -> bytes:
    return base64.b64decode(value or "")


def _hashes(values: list[str] | None) -> list[bytes]:
    return [_b64(v) for v in values or []]


def test_the_vectors_are_there() -> None:
    assert len(_cases("consistency")) >= 90
    assert len(_cases("inclusion")) >= 90
    assert (DATA / "README.md").is_file() and (DATA / "LICENSE").is_file()


@pytest.mark.parametrize(
    "path", _cases("consistency"), ids=lambda p: str(p.relative_to(DATA / "consistency"))
)
def test_consistency_vector(path: Path) -> None:
    v: dict[str, Any] = json.loads(path.read_text())
    ok = merkle.verify_consistency(
        v["size1"], v["size2"], _b64(v["root1"]), _b64(v["root2"]), _hashes(v["proof"])
    )
    assert ok is not v["wantErr"], v["desc"]


@pytest.mark.parametrize(
    "path", _cases("inclusion"), ids=lambda p: str(p.relative_to(DATA / "inclusion"))
)
def test_inclusion_vector(path: Path) -> None:
    v: dict[str, Any] = json.loads(path.read_text())
    ok = merkle.verify_inclusion(
        v["leafIdx"], v["treeSize"], _b64(v["leafHash"]), _hashes(v["proof"]), _b64(v["root"])
    )
    assert ok is not v["wantErr"], v["desc"]


def test_happy_consistency_paths_are_what_irkit_would_send() -> None:
    """The upstream trees are the 8-leaf RFC 6962 reference tree: irkit's own proofs for
    the happy paths are byte for byte the vectors' proofs."""
    leaves = [
        merkle.leaf_hash(bytes.fromhex(h))
        for h in ["", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                  "606162636465666768696a6b6c6d6e6f"]
    ]  # fmt: skip
    for path in sorted((DATA / "consistency").glob("[1-9]/happy-path.json")):
        v = json.loads(path.read_text())
        assert _b64(v["root2"]) == merkle.root(leaves[: v["size2"]])
        assert merkle.consistency_proof(v["size1"], leaves[: v["size2"]]) == _hashes(v["proof"])
