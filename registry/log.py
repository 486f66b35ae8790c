"""The transparency log's storage: leaves, stored subtree hashes, roots and proofs.

Writes happen only inside ``log_append``, called by registry services with the
``LogHead`` row locked, so the entry, its tree nodes and the new head commit together.
Reads (``root_at``, ``inclusion_proof``, ``consistency_proof``) fetch the O(log n) stored
nodes they need in one query.
"""

from __future__ import annotations

import datetime as dt

from registry import merkle
from registry.models import LogEntry, LogHead, MerkleNode

LEAF_SEPARATOR = "\t"


class ProofRequestError(ValueError):
    """A proof asked for sizes or indexes the log does not have."""


def leaf_text(
    *, index: int, action: str, kind: str, subject: str, cause: str, at: dt.datetime
) -> str:
    """The leaf format (docs/registry.md): six tab-separated fields, no trailing newline."""
    stamp = at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return LEAF_SEPARATOR.join([str(index), action, kind, subject, cause, stamp])


def log_append(
    *, head: LogHead, action: str, kind: str, subject: str, cause: str, at: dt.datetime
) -> LogEntry:
    """Append one entry; ``head`` must be locked (``select_for_update``) by the caller."""
    index = head.size
    text = leaf_text(index=index, action=action, kind=kind, subject=subject, cause=cause, at=at)
    entry = LogEntry.objects.create(
        index=index, action=action, kind=kind, subject=subject, cause=cause, leaf=text
    )
    frontier = merkle.unpack_hashes(bytes(head.frontier))
    frontier, created = merkle.frontier_append(frontier, index, merkle.leaf_hash(text.encode()))
    MerkleNode.objects.bulk_create([MerkleNode(position=p, hash=h) for p, h in created])
    head.size = index + 1
    head.frontier = merkle.pack_hashes(frontier)
    head.save(update_fields=["size", "frontier"])
    return entry


def _nodes(positions: list[int]) -> dict[int, bytes]:
    found = {
        position: bytes(value)
        for position, value in MerkleNode.objects.filter(position__in=set(positions))
        .values_list("position", "hash")
        .iterator()
    }
    missing = set(positions) - found.keys()
    if missing:
        raise ProofRequestError(f"The log is missing tree nodes {sorted(missing)[:5]}.")
    return found


def _ranges_hashes(ranges: list[tuple[int, int]]) -> list[bytes]:
    nodes = _nodes(merkle.positions_for(ranges))
    return [merkle.range_hash(a, b, nodes.__getitem__) for a, b in ranges]


def _check_size(size: int, current: int) -> None:
    if size > current:
        raise ProofRequestError(f"The log has {current} entries; size {size} is beyond it.")


def root_at(size: int, *, current: int) -> bytes:
    _check_size(size, current)
    if size == 0:
        return merkle.EMPTY_ROOT
    return _ranges_hashes([(0, size)])[0]


def inclusion_proof(index: int, size: int, *, current: int) -> list[bytes]:
    _check_size(size, current)
    if not 0 <= index < size:
        raise ProofRequestError(f"index {index} must be below size {size}.")
    return _ranges_hashes(merkle.inclusion_ranges(index, size))


def consistency_proof(first: int, second: int, *, current: int) -> list[bytes]:
    _check_size(second, current)
    if not 0 <= first <= second:
        raise ProofRequestError(f"first ({first}) must not exceed second ({second}).")
    return _ranges_hashes(merkle.consistency_ranges(first, second))
