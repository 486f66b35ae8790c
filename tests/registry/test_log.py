"""The stored log: proofs read from stored nodes verify for every size 1 to 100."""

import pytest

from registry import log, merkle
from registry.models import LogEntry, MerkleNode
from registry.selectors import log_size
from registry.services import exclusion_add, exclusion_remove

pytestmark = pytest.mark.django_db


def _flips(hashes: list[bytes], salt: int) -> list[list[bytes]]:
    """Copies of a proof with one bit flipped: three bits of every hash (first, last, one
    that moves with ``salt``) so each byte position is hit across the whole run."""
    variants = []
    for i, value in enumerate(hashes):
        for bit in {0, 255, (salt * 37 + i * 11) % 256}:
            flipped = bytearray(value)
            flipped[bit // 8] ^= 1 << (bit % 8)
            variants.append([*hashes[:i], bytes(flipped), *hashes[i + 1 :]])
    return variants


@pytest.fixture
def log_of_100() -> list[bytes]:
    for i in range(100):
        exclusion_add(kind="repository", subject=f"github.com/o{i % 7}/r{i}", cause=f"t:{i}")
    leaves = LogEntry.objects.order_by("index").values_list("leaf", flat=True)
    return [merkle.leaf_hash(text.encode()) for text in leaves]


def test_every_inclusion_proof_of_sizes_1_to_100_verifies_and_bit_flips_fail(log_of_100) -> None:
    current = log_size()
    checked = rejected = 0
    for size in range(1, 101):
        root = log.root_at(size, current=current)
        assert root == merkle.merkle_root(log_of_100[:size])
        for index in range(size):
            proof = log.inclusion_proof(index, size, current=current)
            leaf = log_of_100[index]
            merkle.verify_inclusion(index=index, size=size, leaf=leaf, proof=proof, root=root)
            checked += 1
            for bad in _flips(proof, index + size):
                with pytest.raises(merkle.ProofError):
                    merkle.verify_inclusion(index=index, size=size, leaf=leaf, proof=bad, root=root)
                rejected += 1
    assert checked == 5050
    assert rejected > 3 * 5050


def test_every_consistency_proof_of_sizes_1_to_100_verifies_and_bit_flips_fail(
    log_of_100,
) -> None:
    current = log_size()
    roots = {size: log.root_at(size, current=current) for size in range(1, 101)}
    checked = 0
    for second in range(1, 101):
        for first in range(1, second + 1):
            proof = log.consistency_proof(first, second, current=current)
            merkle.verify_consistency(
                first=first,
                second=second,
                first_root=roots[first],
                second_root=roots[second],
                proof=proof,
            )
            checked += 1
            for bad in _flips(proof, first + second):
                with pytest.raises(merkle.ProofError):
                    merkle.verify_consistency(
                        first=first,
                        second=second,
                        first_root=roots[first],
                        second_root=roots[second],
                        proof=bad,
                    )
    assert checked == 5050


def test_an_append_stores_the_leaf_and_each_subtree_it_completes() -> None:
    for i in range(4):
        exclusion_add(kind="repository", subject=f"github.com/a/r{i}", cause="c")
    assert sorted(MerkleNode.objects.values_list("position", flat=True)) == [0, 1, 2, 3, 4, 5, 6]


def test_a_removal_is_a_leaf_with_its_own_text() -> None:
    exclusion_add(kind="namespace", subject="github.com/org", cause="optout.request:1")
    exclusion_remove(
        kind="namespace", subject="github.com/org", cause="optout.request:1", reason="withdrawn"
    )
    leaf = LogEntry.objects.get(index=1).leaf
    fields = leaf.split("\t")
    assert fields[:5] == ["1", "remove", "namespace", "github.com/org", "optout.request:1"]
    assert fields[5].endswith("Z") and len(fields) == 6


def test_proofs_beyond_the_log_are_refused() -> None:
    exclusion_add(kind="repository", subject="github.com/a/b", cause="c")
    with pytest.raises(log.ProofRequestError, match="beyond"):
        log.inclusion_proof(0, 2, current=1)
    with pytest.raises(log.ProofRequestError, match="below size"):
        log.inclusion_proof(1, 1, current=1)
    with pytest.raises(log.ProofRequestError, match="must not exceed"):
        log.consistency_proof(1, 0, current=1)
