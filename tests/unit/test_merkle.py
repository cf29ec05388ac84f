"""RFC 6962 Merkle trees against published vectors (transparency-dev/merkle,
google/certificate-transparency; see tests/data/merkle_vectors.json for exact sources)."""

from __future__ import annotations

import hashlib
import json

import pytest

from irkit.formats import merkle
from tests.conftest import asset

V = json.loads(asset("merkle_vectors.json").read_text())
LEAVES = [merkle.leaf_hash(bytes.fromhex(x)) for x in V["leaves_hex"]]


@pytest.mark.parametrize("row", V["roots"], ids=lambda r: f"size{r['size']}")
def test_roots(row: dict[str, object]) -> None:
    size = int(str(row["size"]))
    assert merkle.root(LEAVES[:size]).hex() == row["root_hex"]


@pytest.mark.parametrize(
    "row", V["inclusion"], ids=lambda r: f"{r['leaf_index']}of{r['tree_size']}"
)
def test_inclusion_vectors(row: dict[str, object]) -> None:
    index, size = int(str(row["leaf_index"])), int(str(row["tree_size"]))
    proof = [bytes.fromhex(h) for h in row["proof_hex"]]  # type: ignore[attr-defined]
    assert merkle.inclusion_proof(index, LEAVES[:size]) == proof
    assert merkle.verify_inclusion(index, size, LEAVES[index], proof, merkle.root(LEAVES[:size]))


@pytest.mark.parametrize("row", V["consistency"], ids=lambda r: f"{r['size1']}to{r['size2']}")
def test_consistency_vectors(row: dict[str, object]) -> None:
    m, n = int(str(row["size1"])), int(str(row["size2"]))
    proof = [bytes.fromhex(h) for h in row["proof_hex"]]  # type: ignore[attr-defined]
    assert merkle.consistency_proof(m, LEAVES[:n]) == proof
    assert merkle.verify_consistency(m, n, merkle.root(LEAVES[:m]), merkle.root(LEAVES[:n]), proof)
    if proof:
        assert not merkle.verify_consistency(
            m, n, merkle.root(LEAVES[:m]), merkle.root(LEAVES[:n]), proof[:-1]
        )


def test_large_real_log_inclusion() -> None:
    row = V["inclusion_large"][0]
    leaf = merkle.leaf_hash(bytes.fromhex(row["leaf_data_hex"]))
    path = [bytes.fromhex(h) for h in row["proof_hex"]]
    assert merkle.verify_inclusion(
        row["leaf_index"], row["tree_size"], leaf, path, bytes.fromhex(row["root_hex"])
    )
    assert not merkle.verify_inclusion(
        row["leaf_index"] + 1, row["tree_size"], leaf, path, bytes.fromhex(row["root_hex"])
    )


def test_every_proof_round_trips_up_to_33_leaves() -> None:
    leaves = [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(33)]
    for n in range(1, 34):
        r = merkle.root(leaves[:n])
        for i in range(n):
            proof = merkle.inclusion_proof(i, leaves[:n])
            assert merkle.verify_inclusion(i, n, leaves[i], proof, r)
            assert not merkle.verify_inclusion(i, n, leaves[(i + 1) % n], proof, r) or n == 1
        for m in range(1, n + 1):
            proof = merkle.consistency_proof(m, leaves[:n])
            assert merkle.verify_consistency(m, n, merkle.root(leaves[:m]), r, proof)


def test_empty_root() -> None:
    assert merkle.root([]) == hashlib.sha256(b"").digest()
