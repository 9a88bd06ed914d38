"""A naive RFC 9162 Merkle tree, written straight from the definitions, as an oracle for tests.

MTH (§2.1.1), PATH (§2.1.3.1) and PROOF/SUBPROOF (§2.1.4.1) recurse over ranges ``[lo, hi)`` of one
list of leaf hashes. MTH is memoised per range only so that the exhaustive tests stay fast; the
recursion itself is the RFC's, with no stored-subtree tricks.
"""

from __future__ import annotations

import hashlib
from functools import cache


def _k(n: int) -> int:
    """The largest power of two strictly smaller than n (n >= 2), by counting up."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


class ReferenceTree:
    """The RFC definitions over a fixed list of leaf hashes."""

    def __init__(self, leaves: list[bytes]) -> None:
        self.leaves = leaves
        self.mth = cache(self._mth)

    def _mth(self, lo: int, hi: int) -> bytes:
        n = hi - lo
        if n == 0:
            return hashlib.sha256(b"").digest()
        if n == 1:
            return self.leaves[lo]  # already SHA-256(0x00 || d)
        k = _k(n)
        return hashlib.sha256(b"\x01" + self.mth(lo, lo + k) + self.mth(lo + k, hi)).digest()

    def root(self, n: int) -> bytes:
        return self.mth(0, n)

    def path(self, m: int, n: int) -> list[bytes]:
        return self._path(m, 0, n)

    def _path(self, m: int, lo: int, hi: int) -> list[bytes]:
        n = hi - lo
        if n == 1:
            return []
        k = _k(n)
        if m < k:
            return [*self._path(m, lo, lo + k), self.mth(lo + k, hi)]
        return [*self._path(m - k, lo + k, hi), self.mth(lo, lo + k)]

    def proof(self, m: int, n: int) -> list[bytes]:
        return self._subproof(m, 0, n, True)

    def _subproof(self, m: int, lo: int, hi: int, b: bool) -> list[bytes]:
        n = hi - lo
        if m == n:
            return [] if b else [self.mth(lo, hi)]
        k = _k(n)
        if m <= k:
            return [*self._subproof(m, lo, lo + k, b), self.mth(lo + k, hi)]
        return [*self._subproof(m - k, lo + k, hi, False), self.mth(lo, lo + k)]
