"""RFC 6962 / RFC 9162 Merkle tree arithmetic: hashing, node addressing, proofs.

Pure functions with no Django import, so the stand-alone client (``registry/client.py``)
verifies with exactly the code the tests exercise.

Addressing: a *perfect subtree* covers the leaves ``[start, start + 2**level)`` with
``start`` a multiple of ``2**level``. Its *position* is its in-order index in the flat
layout of a binary tree (leaves at even positions, the node above leaves 0 and 1 at
position 1, …): ``(start >> level) * 2**(level + 1) + 2**level - 1``. One integer names a
node at any level, so stored nodes need a single indexed key.

A proof is computed as a list of leaf ranges ``(a, b)`` whose Merkle hashes are the proof
elements. Every range that RFC 9162's ``PATH``/``SUBPROOF`` produces splits into at most
``log2(n)`` stored perfect subtrees, so a proof needs O(log n) node reads.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()


class ProofError(ValueError):
    """A proof or tree does not verify; the message says which check failed."""


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def largest_power_of_two_below(n: int) -> int:
    """The largest power of two strictly below ``n`` (n ≥ 2), RFC 9162's ``k``."""
    return 1 << ((n - 1).bit_length() - 1)


def position(start: int, level: int) -> int:
    return ((start >> level) << (level + 1)) + (1 << level) - 1


def perfect_subtrees(start: int, end: int) -> list[tuple[int, int]]:
    """Split ``[start, end)`` into aligned perfect subtrees ``(start, level)``, left to right."""
    pieces = []
    while start < end:
        level = (end - start).bit_length() - 1
        while start % (1 << level):
            level -= 1
        pieces.append((start, level))
        start += 1 << level
    return pieces


def fold_right(hashes: Sequence[bytes]) -> bytes:
    """The Merkle hash of consecutive perfect subtrees given largest first."""
    if not hashes:
        return EMPTY_ROOT
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


def range_hash(start: int, end: int, lookup: Callable[[int], bytes]) -> bytes:
    """MTH of leaves ``[start, end)``; ``lookup(position)`` returns a stored node hash."""
    return fold_right([lookup(position(s, lvl)) for s, lvl in perfect_subtrees(start, end)])


def merkle_root(leaf_hashes: Sequence[bytes]) -> bytes:
    """RFC 6962's MTH over already-hashed leaves, computed from scratch (tests, clients)."""
    if not leaf_hashes:
        return EMPTY_ROOT
    if len(leaf_hashes) == 1:
        return leaf_hashes[0]
    split = largest_power_of_two_below(len(leaf_hashes))
    return node_hash(merkle_root(leaf_hashes[:split]), merkle_root(leaf_hashes[split:]))


# --- appending ------------------------------------------------------------------------


def frontier_append(
    frontier: list[bytes], size: int, new_leaf_hash: bytes
) -> tuple[list[bytes], list[tuple[int, bytes]]]:
    """Append one leaf to a tree of ``size`` leaves.

    ``frontier`` holds the hashes of the perfect subtrees that make up ``[0, size)``,
    largest first (one per set bit of ``size``). Returns the new frontier and the
    ``(position, hash)`` of every perfect subtree this leaf completes, the leaf included.
    """
    frontier = list(frontier)
    created = [(position(size, 0), new_leaf_hash)]
    current, level, start = new_leaf_hash, 0, size
    while (size >> level) & 1:  # a perfect subtree of the same size ends just before us
        current = node_hash(frontier.pop(), current)
        start -= 1 << level
        level += 1
        created.append((position(start, level), current))
    frontier.append(current)
    return frontier, created


def frontier_root(frontier: Sequence[bytes]) -> bytes:
    return fold_right(frontier)


def pack_hashes(hashes: Sequence[bytes]) -> bytes:
    return b"".join(hashes)


def unpack_hashes(packed: bytes) -> list[bytes]:
    if len(packed) % HASH_SIZE:
        raise ProofError(f"{len(packed)} bytes is not a whole number of hashes.")
    return [packed[i : i + HASH_SIZE] for i in range(0, len(packed), HASH_SIZE)]


# --- proofs as leaf ranges --------------------------------------------------------------


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """RFC 9162 ``PATH(index, D[0:size])`` as leaf ranges, from the leaf upwards."""
    if not 0 <= index < size:
        raise ValueError(f"index {index} is outside a tree of size {size}.")
    ranges: list[tuple[int, int]] = []
    start, end = 0, size
    while end - start > 1:
        k = largest_power_of_two_below(end - start)
        if index < start + k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
    return ranges[::-1]


def consistency_ranges(first: int, second: int) -> list[tuple[int, int]]:
    """RFC 9162 ``PROOF(first, D[0:second])`` as leaf ranges, in proof order."""
    if not 0 <= first <= second:
        raise ValueError(f"first ({first}) must be between 0 and second ({second}).")
    if first in (0, second):
        return []
    ranges: list[tuple[int, int]] = []
    m, start, end, complete = first, 0, second, True
    while True:
        n = end - start
        if m == n:
            if not complete:
                ranges.append((start, end))
            break
        k = largest_power_of_two_below(n)
        if m <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            m, start, complete = m - k, start + k, False
    return ranges[::-1]


def positions_for(ranges: Sequence[tuple[int, int]]) -> list[int]:
    return [position(s, lvl) for a, b in ranges for s, lvl in perfect_subtrees(a, b)]


# --- verification (RFC 9162 §2.1.3.2 and §2.1.4.2) ----------------------------------------


def verify_inclusion(
    *, index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Raise ``ProofError`` unless ``leaf`` (a leaf hash) is at ``index`` in ``root``."""
    if not 0 <= index < size:
        raise ProofError(f"index {index} is outside a tree of size {size}.")
    fn, sn, result = index, size - 1, leaf
    for element in proof:
        if sn == 0:
            raise ProofError("The inclusion proof is longer than the tree allows.")
        if fn & 1 or fn == sn:
            result = node_hash(element, result)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            result = node_hash(result, element)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("The inclusion proof is shorter than the tree needs.")
    if result != root:
        raise ProofError("The inclusion proof does not lead to the signed root.")


def verify_consistency(
    *, first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> None:
    """Raise ``ProofError`` unless the tree ``second_root`` extends ``first_root``."""
    if not 0 <= first <= second:
        raise ProofError(f"first ({first}) must be between 0 and second ({second}).")
    if first == 0:
        if proof:
            raise ProofError("A proof from the empty tree must be empty.")
        return
    if first == second:
        if proof:
            raise ProofError("A proof between equal sizes must be empty.")
        if first_root != second_root:
            raise ProofError("Two different roots for the same tree size: the log forked.")
        return
    path = list(proof)
    if first & (first - 1) == 0:  # a power of two: the old root is itself a node
        path.insert(0, first_root)
    if not path:
        raise ProofError("The consistency proof is empty.")
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for element in path[1:]:
        if sn == 0:
            raise ProofError("The consistency proof is longer than the trees allow.")
        if fn & 1 or fn == sn:
            fr = node_hash(element, fr)
            sr = node_hash(element, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, element)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("The consistency proof is shorter than the trees need.")
    if fr != first_root:
        raise ProofError("The consistency proof does not lead to the trusted root.")
    if sr != second_root:
        raise ProofError("The consistency proof does not lead to the new signed root.")
