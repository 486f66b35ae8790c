"""The transparency log's storage: leaves, stored subtree hashes, roots and proofs.

Writes happen only inside ``log_append`` and ``log_append_many``, called by registry
services with the ``LogHead`` row locked, so entries, tree nodes and the new head commit
together.
Reads (``root_at``, ``inclusion_proof``, ``consistency_proof``) fetch the O(log n) stored
nodes they need in one query.
"""

from __future__ import annotations

import datetime as dt

from registry import merkle
from registry.models import LogEntry, LogHead, MerkleNode

LEAF_SEPARATOR = "\t"


class ProofRequestError(ValueError):
    """A proof asked for sizes or indexes that cannot name a proof (index not below size)."""


class BeyondTheLog(ProofRequestError):
    """A proof of a tree larger than the log is now: well formed, but not there (yet)."""


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
    (entry,) = _append(head=head, rows=[(action, kind, subject, cause)], at=at)
    return entry


def log_append_many(
    *, head: LogHead, rows: list[tuple[str, str, str, str]], at: dt.datetime, batch: int = 5_000
) -> int:
    """Append ``(action, kind, subject, cause)`` rows in order with bulk inserts; ``head``
    must be locked. Same leaves and nodes as appending them one by one."""
    return len(_append(head=head, rows=rows, at=at, batch=batch))


def _append(
    *, head: LogHead, rows: list[tuple[str, str, str, str]], at: dt.datetime, batch: int = 5_000
) -> list[LogEntry]:
    frontier = merkle.unpack_hashes(bytes(head.frontier))
    entries: list[LogEntry] = []
    nodes: list[MerkleNode] = []
    index = head.size
    for action, kind, subject, cause in rows:
        text = leaf_text(index=index, action=action, kind=kind, subject=subject, cause=cause, at=at)
        entries.append(
            LogEntry(index=index, action=action, kind=kind, subject=subject, cause=cause, leaf=text)
        )
        frontier, created = merkle.frontier_append(frontier, index, merkle.leaf_hash(text.encode()))
        nodes.extend(MerkleNode(position=p, hash=h) for p, h in created)
        index += 1
    LogEntry.objects.bulk_create(entries, batch_size=batch)
    MerkleNode.objects.bulk_create(nodes, batch_size=batch)
    head.size = index
    head.frontier = merkle.pack_hashes(frontier)
    head.save(update_fields=["size", "frontier"])
    return entries


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
        raise BeyondTheLog(f"The log has {current} entries; size {size} is beyond it.")


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
