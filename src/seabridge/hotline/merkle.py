"""The RFC 9162 Merkle tree of a hotline log: hashing, an incremental tree, proofs, verifiers.

SHA-256 with leaf prefix ``0x00`` and node prefix ``0x01`` (RFC 9162 §2.1.1, identical to
RFC 6962 §2.1). Proofs are bottom-up, exactly as RFC 9162 §2.1.3 and §2.1.4 define them.

:class:`MerkleTree` keeps the hash of every *complete* subtree, keyed by ``(level, index)``:
node ``(level, i)`` covers leaves ``[i * 2**level, (i + 1) * 2**level)``. Any root or proof is then
O(log n) look-ups and hashes. The tree takes leaf hashes, never entries: hashing an entry is
:func:`leaf_hash`, done once by the caller. This module does no I/O; callers persist the nodes
:meth:`MerkleTree.append` returns.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence

from seabridge.errors import MalformedError, VerificationError

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "MAX_PROOF",
    "MerkleTree",
    "leaf_hash",
    "node_hash",
    "root_of",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
"""Bytes in every hash (SHA-256)."""

MAX_PROOF = 128
"""Longest proof a verifier looks at (2 x 64 levels; pymerkle's MAX_PATH): bounds the work an
attacker can ask for. No valid proof for a tree below 2**64 leaves is longer."""

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""MTH({}) = SHA-256 of the empty string (RFC 9162 §2.1.1)."""

_LEAF = b"\x00"
_NODE = b"\x01"


def leaf_hash(data: bytes) -> bytes:
    """MTH({d}) = SHA-256(0x00 || d): the leaf hash of one entry's bytes."""
    return hashlib.sha256(_LEAF + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right): an interior node."""
    return hashlib.sha256(_NODE + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (n >= 2): RFC 9162's ``k``."""
    return 1 << ((n - 1).bit_length() - 1)


def root_of(leaves: Sequence[bytes]) -> bytes:
    """MTH of a list of leaf hashes, in one pass (no tree kept)."""
    if not leaves:
        return EMPTY_ROOT
    # Fold perfect subtrees as a stack of (level, hash), like a binary counter.
    stack: list[tuple[int, bytes]] = []
    for leaf in leaves:
        level, value = 0, leaf
        while stack and stack[-1][0] == level:
            _, left = stack.pop()
            level, value = level + 1, node_hash(left, value)
        stack.append((level, value))
    value = stack[-1][1]
    for _, left in reversed(stack[:-1]):
        value = node_hash(left, value)
    return value


class MerkleTree:
    """An append-only RFC 9162 tree over leaf hashes, storing every complete subtree."""

    def __init__(self) -> None:
        self._size = 0
        self._nodes: dict[tuple[int, int], bytes] = {}

    @classmethod
    def from_nodes(cls, size: int, nodes: Iterable[tuple[int, int, bytes]]) -> MerkleTree:
        """Rebuild a tree of ``size`` leaves from the nodes its appends returned.

        Every complete subtree of the tree must be present exactly once, each node must be the
        hash of its two children, and nothing beyond ``size`` may be given.

        Raises:
            MalformedError: a node is missing, extra, out of range or not 32 bytes.
            VerificationError: an interior node is not the hash of its children.
        """
        if size < 0:
            raise MalformedError(f"tree size {size} is negative")
        tree = cls()
        for level, index, value in nodes:
            if level < 0 or index < 0 or (index + 1) << level > size:
                raise MalformedError(f"node ({level}, {index}) is outside a tree of size {size}")
            if len(value) != HASH_SIZE:
                raise MalformedError(f"node ({level}, {index}) is {len(value)} bytes, not 32")
            if (level, index) in tree._nodes:
                raise MalformedError(f"node ({level}, {index}) is given twice")
            tree._nodes[level, index] = bytes(value)
        expected = sum(size >> level for level in range(size.bit_length()))
        if len(tree._nodes) != expected:
            raise MalformedError(
                f"a tree of size {size} has {expected} complete subtrees; {len(tree._nodes)} given"
            )
        for (level, index), value in tree._nodes.items():
            if level == 0:
                continue
            left = tree._nodes[level - 1, 2 * index]
            right = tree._nodes[level - 1, 2 * index + 1]
            if not hmac.compare_digest(node_hash(left, right), value):
                raise VerificationError(f"node ({level}, {index}) is not the hash of its children")
        tree._size = size
        return tree

    @property
    def size(self) -> int:
        """Number of leaves."""
        return self._size

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Append one leaf hash; return the complete subtrees it created, leaf first.

        The returned ``(level, index, hash)`` triples are what a store must persist to rebuild the
        tree with :meth:`from_nodes`.
        """
        if len(leaf) != HASH_SIZE:
            raise MalformedError(f"a leaf hash is 32 bytes, got {len(leaf)}")
        index = self._size
        created = [(0, index, bytes(leaf))]
        self._nodes[0, index] = created[0][2]
        level, value = 0, created[0][2]
        while index & 1:
            value = node_hash(self._nodes[level, index - 1], value)
            level, index = level + 1, index >> 1
            self._nodes[level, index] = value
            created.append((level, index, value))
        self._size += 1
        return created

    def leaf(self, index: int) -> bytes:
        """The leaf hash at ``index`` (0-based)."""
        if not 0 <= index < self._size:
            raise IndexError(f"leaf {index} is outside a tree of size {self._size}")
        return self._nodes[0, index]

    def nodes(self) -> list[tuple[int, int, bytes]]:
        """Every stored complete subtree as ``(level, index, hash)``."""
        return [(level, index, value) for (level, index), value in self._nodes.items()]

    def root(self, size: int | None = None) -> bytes:
        """MTH of the first ``size`` leaves (default: all of them)."""
        size = self._size if size is None else size
        self._check_size(size)
        return EMPTY_ROOT if size == 0 else self._range(0, size)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """PATH(index, D[size]) of RFC 9162 §2.1.3.1, bottom-up."""
        self._check_size(size)
        if not 0 <= index < size:
            raise ValueError(f"leaf {index} is outside a tree of size {size}")
        path: list[bytes] = []
        start, n, m = 0, size, index
        while n > 1:
            k = _split(n)
            if m < k:
                path.append(self._range(start + k, start + n))
                n = k
            else:
                path.append(self._range(start, start + k))
                start, n, m = start + k, n - k, m - k
        path.reverse()
        return path

    def consistency_proof(self, old: int, new: int) -> list[bytes]:
        """PROOF(old, D[new]) of RFC 9162 §2.1.4.1, bottom-up; empty when ``old == new``."""
        self._check_size(new)
        if not 0 < old <= new:
            raise ValueError(f"no consistency proof from size {old} to {new} (need 0 < old <= new)")
        path: list[bytes] = []
        start, n, m, complete = 0, new, old, True
        while m != n:
            k = _split(n)
            if m <= k:
                path.append(self._range(start + k, start + n))
                n = k
            else:
                path.append(self._range(start, start + k))
                start, n, m, complete = start + k, n - k, m - k, False
        if not complete:
            path.append(self._range(start, start + n))
        path.reverse()
        return path

    def _check_size(self, size: int) -> None:
        if not 0 <= size <= self._size:
            raise ValueError(f"size {size} is outside 0..{self._size}")

    def _range(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]) for a range whose start is aligned as RFC 9162's recursion makes it.

        Walks down the right edge: the left part of every split is a stored complete subtree.
        """
        lefts: list[bytes] = []
        while True:
            n = end - start
            level = n.bit_length() - 1
            if n == 1 << level:
                value = self._nodes[level, start >> level]
                break
            k = _split(n)
            lefts.append(self._nodes[k.bit_length() - 1, start // k])
            start += k
        for left in reversed(lefts):
            value = node_hash(left, value)
        return value


def _check_hash(value: bytes, what: str) -> None:
    if len(value) != HASH_SIZE:
        raise VerificationError(f"{what} is {len(value)} bytes; every hash is {HASH_SIZE}")


def _check_proof(proof: Sequence[bytes]) -> None:
    if len(proof) > MAX_PROOF:
        raise VerificationError(f"proof has {len(proof)} hashes; at most {MAX_PROOF} are read")
    for i, element in enumerate(proof):
        _check_hash(element, f"proof element {i}")


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf`` is at ``index`` of the tree of ``size`` and ``root`` (RFC 9162 §2.1.3.2).

    Raises:
        VerificationError: the proof does not verify; the message says why.
    """
    _check_hash(leaf, "leaf hash")
    _check_hash(root, "root")
    _check_proof(proof)
    if not 0 <= index < size:
        raise VerificationError(f"leaf index {index} is outside a tree of size {size}")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise VerificationError("inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise VerificationError("inclusion proof is shorter than the tree is deep")
    if not hmac.compare_digest(r, root):
        raise VerificationError(f"inclusion proof for leaf {index} does not lead to the root")


def verify_consistency(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree of size ``new`` extends the one of size ``old`` (RFC 9162 §2.1.4.2).

    ``old == new`` is handled as RFC 9162 §2.1.4.2 leaves to the caller: the proof must be empty
    and the roots equal (equal sizes with different roots is a split view). ``old == 0`` is
    always rejected (transparency-dev/merkle PR #236): nothing is proved by it.

    Raises:
        VerificationError: the proof does not verify; the message says why.
    """
    _check_hash(old_root, "old root")
    _check_hash(new_root, "new root")
    _check_proof(proof)
    if old <= 0:
        raise VerificationError(f"old size {old}: a consistency proof needs old size >= 1")
    if old > new:
        raise VerificationError(f"old size {old} is larger than new size {new}")
    if old == new:
        if proof:
            raise VerificationError("equal sizes need an empty consistency proof")
        if not hmac.compare_digest(old_root, new_root):
            raise VerificationError(f"two different roots for size {old} (a split view)")
        return
    if not proof:
        raise VerificationError("consistency proof is empty")
    path = list(proof)
    if old & (old - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise VerificationError("consistency proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise VerificationError("consistency proof is shorter than the tree is deep")
    if not hmac.compare_digest(fr, old_root):
        raise VerificationError(f"consistency proof does not lead to the root of size {old}")
    if not hmac.compare_digest(sr, new_root):
        raise VerificationError(f"consistency proof does not lead to the root of size {new}")
