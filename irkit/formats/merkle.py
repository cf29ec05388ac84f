"""RFC 6962 / RFC 9162 Merkle trees over journal entries: pure functions over leaf hashes.

leaf = SHA-256(0x00 || entry bytes); node = SHA-256(0x01 || left || right); the split point
of n leaves is the largest power of two smaller than n.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """Largest power of two strictly smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaves: Sequence[bytes]) -> bytes:
    """Merkle tree hash of the given leaf hashes, in one pass with a stack of subtree roots."""
    if not leaves:
        return EMPTY_ROOT
    # Each stack item is (height, hash); full subtrees merge as in a binary counter, and the
    # right edge is folded from the smallest subtree up, which is exactly RFC 6962's shape.
    stack: list[tuple[int, bytes]] = []
    for h in leaves:
        height, current = 0, h
        while stack and stack[-1][0] == height:
            _, left = stack.pop()
            current = node_hash(left, current)
            height += 1
        stack.append((height, current))
    current = stack.pop()[1]
    while stack:
        current = node_hash(stack.pop()[1], current)
    return current


def inclusion_proof(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """Audit path for leaf `index` (0-based) in the tree over `leaves` (RFC 6962 2.1.1)."""
    n = len(leaves)
    if not 0 <= index < n:
        raise ValueError("leaf index out of range")
    if n == 1:
        return []
    k = _split(n)
    if index < k:
        return [*inclusion_proof(index, leaves[:k]), root(leaves[k:])]
    return [*inclusion_proof(index - k, leaves[k:]), root(leaves[:k])]


def consistency_proof(old_size: int, leaves: Sequence[bytes]) -> list[bytes]:
    """Proof that the first `old_size` leaves are a prefix of `leaves` (RFC 6962 2.1.2)."""
    n = len(leaves)
    if not 0 < old_size <= n:
        raise ValueError("old size out of range")
    return _subproof(old_size, leaves, True)


def _subproof(m: int, leaves: Sequence[bytes], complete: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [root(leaves)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, leaves[:k], complete), root(leaves[k:])]
    return [*_subproof(m - k, leaves[k:], False), root(leaves[:k])]


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], expected_root: bytes
) -> bool:
    """RFC 9162 2.1.3.2. A leaf that is not a SHA-256 hash never verifies (an empty leaf
    against an empty root would otherwise "match": transparency-dev/merkle's vectors)."""
    if not 0 <= index < size or len(leaf) != len(EMPTY_ROOT):
        return False
    fn, sn = index, size - 1
    r = leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == expected_root


def verify_consistency(
    size1: int, size2: int, root1: bytes, root2: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 2.1.4.2; requires 0 < size1 <= size2. Nothing is consistent with the empty
    tree by proof: a caller that accepts growth from size 0 (a witness's first checkpoint)
    says so itself, as transparency-dev/merkle does (its vectors refuse size1 == 0)."""
    if size1 > size2 or size1 <= 0:
        return False
    if size1 == size2:
        return not proof and root1 == root2
    path = list(proof)
    if size1 & (size1 - 1) == 0:  # a power of two: old root is the first node
        path.insert(0, root1)
    if not path:
        return False
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == root1 and sr == root2
