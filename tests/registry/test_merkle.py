"""Pure Merkle arithmetic: frontier appends, ranges, proofs and their verification."""

import hashlib

import pytest

from registry import merkle
from tests.registry.test_checkpoints import LEAVES, ROOTS


def _tree(leaves: list[bytes]) -> tuple[list[bytes], dict[int, bytes]]:
    """Build a tree by appending, as the log does; return the frontier and stored nodes."""
    frontier: list[bytes] = []
    nodes: dict[int, bytes] = {}
    for index, data in enumerate(leaves):
        frontier, created = merkle.frontier_append(frontier, index, merkle.leaf_hash(data))
        nodes.update(created)
    return frontier, nodes


def _reference_path(index: int, hashes: list[bytes]) -> list[bytes]:
    """RFC 9162 PATH written as the recursive definition, over all leaf hashes."""
    if len(hashes) <= 1:
        return []
    k = merkle.largest_power_of_two_below(len(hashes))
    if index < k:
        return [*_reference_path(index, hashes[:k]), merkle.merkle_root(hashes[k:])]
    return [*_reference_path(index - k, hashes[k:]), merkle.merkle_root(hashes[:k])]


def _reference_subproof(m: int, hashes: list[bytes], complete: bool) -> list[bytes]:
    if m == len(hashes):
        return [] if complete else [merkle.merkle_root(hashes)]
    k = merkle.largest_power_of_two_below(len(hashes))
    if m <= k:
        return [*_reference_subproof(m, hashes[:k], complete), merkle.merkle_root(hashes[k:])]
    return [*_reference_subproof(m - k, hashes[k:], False), merkle.merkle_root(hashes[:k])]


def test_appending_the_rfc6962_leaves_gives_the_published_roots() -> None:
    for size, expected in ROOTS.items():
        frontier, nodes = _tree(LEAVES[:size])
        assert merkle.frontier_root(frontier).hex() == expected
        assert merkle.range_hash(0, size, nodes.__getitem__).hex() == expected
    assert merkle.frontier_root([]) == hashlib.sha256(b"").digest()


def test_a_frontier_holds_one_hash_per_set_bit_of_the_size() -> None:
    frontier, nodes = _tree([bytes([i]) for i in range(13)])
    assert len(frontier) == 3  # 13 = 8 + 4 + 1
    assert len(nodes) == 13 + 6 + 3 + 1  # leaves, then complete pairs, fours and eights


def test_node_positions_follow_the_in_order_layout() -> None:
    assert [merkle.position(i, 0) for i in range(4)] == [0, 2, 4, 6]
    assert (merkle.position(0, 1), merkle.position(2, 1), merkle.position(0, 2)) == (1, 5, 3)
    assert merkle.perfect_subtrees(8, 13) == [(8, 2), (12, 0)]


def test_stored_ranges_give_the_same_proofs_as_the_rfc_definition() -> None:
    data = [f"leaf {i}".encode() for i in range(40)]
    hashes = [merkle.leaf_hash(d) for d in data]
    _, nodes = _tree(data)
    for size in range(1, 41):
        for index in range(size):
            ranges = merkle.inclusion_ranges(index, size)
            got = [merkle.range_hash(a, b, nodes.__getitem__) for a, b in ranges]
            assert got == _reference_path(index, hashes[:size])
        for first in range(1, size):
            ranges = merkle.consistency_ranges(first, size)
            got = [merkle.range_hash(a, b, nodes.__getitem__) for a, b in ranges]
            assert got == _reference_subproof(first, hashes[:size], True)


def test_verification_rejects_proofs_for_the_wrong_position_or_size() -> None:
    data = [bytes([i]) for i in range(7)]
    frontier, nodes = _tree(data)
    root = merkle.frontier_root(frontier)
    proof = [merkle.range_hash(a, b, nodes.__getitem__) for a, b in merkle.inclusion_ranges(3, 7)]
    merkle.verify_inclusion(index=3, size=7, leaf=merkle.leaf_hash(data[3]), proof=proof, root=root)
    with pytest.raises(merkle.ProofError):
        merkle.verify_inclusion(
            index=2, size=7, leaf=merkle.leaf_hash(data[3]), proof=proof, root=root
        )
    with pytest.raises(merkle.ProofError, match="longer"):
        merkle.verify_inclusion(
            index=3, size=7, leaf=merkle.leaf_hash(data[3]), proof=[*proof, proof[0]], root=root
        )
    with pytest.raises(merkle.ProofError, match="shorter"):
        merkle.verify_inclusion(
            index=3, size=7, leaf=merkle.leaf_hash(data[3]), proof=proof[:-1], root=root
        )
    with pytest.raises(merkle.ProofError, match="forked"):
        merkle.verify_consistency(
            first=7, second=7, first_root=root, second_root=bytes(32), proof=[]
        )
