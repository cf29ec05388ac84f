"""Merkle proofs refuse what they must (mutation testing, bench/mutation.py): every bound
and every conjunct of a verify check is load-bearing; the published vectors only show
that honest proofs verify."""

from __future__ import annotations

import pytest

from irkit.formats import merkle

LEAVES = [merkle.leaf_hash(bytes([i])) for i in range(8)]
OTHER = merkle.leaf_hash(b"other")


def test_proofs_refuse_out_of_range_requests() -> None:
    with pytest.raises(ValueError, match=r"^leaf index out of range$"):
        merkle.inclusion_proof(3, LEAVES[:3])
    with pytest.raises(ValueError, match=r"^leaf index out of range$"):
        merkle.inclusion_proof(-1, LEAVES[:3])
    with pytest.raises(ValueError, match=r"^old size out of range$"):
        merkle.consistency_proof(0, LEAVES[:3])
    with pytest.raises(ValueError, match=r"^old size out of range$"):
        merkle.consistency_proof(4, LEAVES[:3])


def test_inclusion_refuses_an_index_outside_the_tree() -> None:
    root = merkle.root(LEAVES[:4])
    proof = merkle.inclusion_proof(3, LEAVES[:4])
    assert merkle.verify_inclusion(3, 4, LEAVES[3], proof, root)
    # index == size, a valid-length leaf: refused for the range alone
    assert not merkle.verify_inclusion(4, 4, LEAVES[3], proof, root)
    assert not merkle.verify_inclusion(-1, 4, LEAVES[3], proof, root)
    # a one-leaf tree's root is its leaf, and an empty path "ends" there for index 1 too
    assert merkle.verify_inclusion(0, 1, LEAVES[0], [], LEAVES[0])
    assert not merkle.verify_inclusion(1, 1, LEAVES[0], [], LEAVES[0])


def test_inclusion_refuses_a_proof_longer_than_the_path() -> None:
    root = merkle.root(LEAVES[:4])
    proof = merkle.inclusion_proof(1, LEAVES[:4])
    assert not merkle.verify_inclusion(1, 4, LEAVES[1], [*proof, root], root)
    # a single-leaf tree has an empty path; any extra node is refused
    assert merkle.verify_inclusion(0, 1, LEAVES[0], [], LEAVES[0])
    assert not merkle.verify_inclusion(0, 1, LEAVES[0], [OTHER], LEAVES[0])


def test_consistency_refuses_bad_sizes() -> None:
    r2, r4 = merkle.root(LEAVES[:2]), merkle.root(LEAVES[:4])
    proof = merkle.consistency_proof(2, LEAVES[:4])
    assert merkle.verify_consistency(2, 4, r2, r4, proof)
    assert not merkle.verify_consistency(0, 4, merkle.EMPTY_ROOT, r4, proof)
    assert not merkle.verify_consistency(0, 0, merkle.EMPTY_ROOT, merkle.EMPTY_ROOT, [])
    assert not merkle.verify_consistency(4, 2, r4, r2, proof)


def test_consistency_of_equal_sizes_needs_equal_roots_and_no_proof() -> None:
    r4 = merkle.root(LEAVES[:4])
    assert merkle.verify_consistency(4, 4, r4, r4, [])
    assert not merkle.verify_consistency(4, 4, r4, OTHER, [])
    assert not merkle.verify_consistency(4, 4, r4, r4, [OTHER])


def test_consistency_refuses_an_empty_proof_between_different_sizes() -> None:
    r3, r5 = merkle.root(LEAVES[:3]), merkle.root(LEAVES[:5])
    assert not merkle.verify_consistency(3, 5, r3, r5, [])


def test_consistency_refuses_a_proof_longer_than_the_path() -> None:
    r3, r8 = merkle.root(LEAVES[:3]), merkle.root(LEAVES[:8])
    proof = merkle.consistency_proof(3, LEAVES[:8])
    assert merkle.verify_consistency(3, 8, r3, r8, proof)
    assert not merkle.verify_consistency(3, 8, r3, r8, [*proof, OTHER])


@pytest.mark.parametrize(("old", "new"), [(3, 8), (4, 7), (5, 6)])
def test_consistency_checks_both_roots(old: int, new: int) -> None:
    r_old, r_new = merkle.root(LEAVES[:old]), merkle.root(LEAVES[:new])
    proof = merkle.consistency_proof(old, LEAVES[:new])
    assert merkle.verify_consistency(old, new, r_old, r_new, proof)
    assert not merkle.verify_consistency(old, new, OTHER, r_new, proof)
    assert not merkle.verify_consistency(old, new, r_old, OTHER, proof)
    assert not merkle.verify_consistency(old, new, OTHER, OTHER, proof)


def test_inclusion_refuses_a_leaf_that_is_not_a_hash() -> None:
    # a one-leaf tree's root is its leaf: a short "leaf" equal to the "root" must not pass
    assert not merkle.verify_inclusion(0, 1, b"", [], b"")
    assert not merkle.verify_inclusion(0, 1, b"x", [], b"x")
