"""The two Merkle logs published as static C2SP tlog-tiles in the public store
(docs/mirroring.md): the registry's log under ``log/``, the receipts log under
``receipts/``.

``tiles_publish(size)`` writes, for a signed checkpoint of ``size``, every tile and entry
bundle the log gained since the last published size, the partial tiles of each signed
size in between, and then ``log/checkpoint``; ``receipt_tiles_publish()`` does the same
for the receipts log at its current size (its checkpoints are signed on demand, so only
that size's partial tiles are written). Tiles come from the stored Merkle nodes (a
level-L hash is the perfect subtree of height 8·L, already in ``MerkleNode`` or
``ReceiptNode``) and bundles from the stored leaves: nothing is hashed again.

Safe to run twice and in any order: the log's ``PublishedMirror`` row (``tiles``,
``receipt-tiles``) is locked while writing, a size at or below the published one only
(re)writes its partial tiles, and every file holds the same bytes whoever writes it. The
checkpoint is written last, so a reader never sees a checkpoint whose tiles are missing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import models, transaction

from registry import merkle, tlog_tiles
from registry.checkpoints import checkpoint_signed
from registry.models import (
    LogEntry,
    MerkleNode,
    PublishedMirror,
    Receipt,
    ReceiptLogHead,
    ReceiptNode,
    SignedCheckpoint,
)
from registry.public_store import PublicStore
from registry.receipts import receipts_checkpoint

_BATCH = 16_384  # node hashes read per query
_STEPS = 64  # signed sizes whose partial tiles one run writes at most


@dataclass(frozen=True)
class TiledLog:
    prefix: str  # folder in the public store
    mirror: str  # its PublishedMirror row
    nodes: type[models.Model]  # stored perfect subtrees: position, hash
    entries: type[models.Model]  # its leaves: index, leaf (the leaf's text)

    @property
    def checkpoint(self) -> str:
        return f"{self.prefix}/checkpoint"

    def leaves(self, start: int, end: int) -> Iterable[str]:
        """The leaf texts of [start, end), in order."""
        return (
            self.entries.objects.filter(index__gte=start, index__lt=end)
            .order_by("index")
            .values_list("leaf", flat=True)
        )


REGISTRY_LOG = TiledLog("log", "tiles", MerkleNode, LogEntry)
RECEIPTS_LOG = TiledLog("receipts", "receipt-tiles", ReceiptNode, Receipt)
PREFIX = REGISTRY_LOG.prefix
CHECKPOINT = REGISTRY_LOG.checkpoint


def _changed_tiles(old: int, new: int) -> list[tuple[int, int, int]]:
    """``(level, n, width)`` of every tile whose width grows from size ``old`` to ``new``."""
    changed = []
    level = 0
    while tlog_tiles.hashes_at_level(new, level):
        count_old = tlog_tiles.hashes_at_level(old, level)
        count_new = tlog_tiles.hashes_at_level(new, level)
        for n in range(count_old // 256, (count_new - 1) // 256 + 1):
            width = tlog_tiles.tile_width(new, level, n)
            if width > tlog_tiles.tile_width(old, level, n):
                changed.append((level, n, width))
        level += 1
    return changed


def _tile_hashes(
    log: TiledLog, tiles: list[tuple[int, int, int]]
) -> dict[tuple[int, int], list[bytes]]:
    wanted: dict[int, tuple[int, int, int]] = {}
    for level, n, width in tiles:
        for i in range(width):
            start = (n * 256 + i) << (8 * level)
            wanted[merkle.position(start, 8 * level)] = (level, n, i)
    found: dict[int, bytes] = {}
    positions = sorted(wanted)
    for first in range(0, len(positions), _BATCH):
        chunk = positions[first : first + _BATCH]
        rows = log.nodes.objects.filter(position__in=chunk).values_list("position", "hash")
        found.update((p, bytes(h)) for p, h in rows)
    missing = set(positions) - found.keys()
    if missing:
        raise RuntimeError(f"The log is missing tree nodes {sorted(missing)[:5]}.")
    result: dict[tuple[int, int], list[bytes]] = {(lv, n): [b""] * w for lv, n, w in tiles}
    for position, (level, n, i) in wanted.items():
        result[(level, n)][i] = found[position]
    return result


def _write_tiles(store: PublicStore, log: TiledLog, tiles: list[tuple[int, int, int]]) -> None:
    for first in range(0, len(tiles), 64):
        part = tiles[first : first + 64]
        hashes = _tile_hashes(log, part)
        for level, n, width in part:
            data = merkle.pack_hashes(hashes[(level, n)])
            store.write(f"{log.prefix}/{tlog_tiles.tile_path(level, n, width)}", data)


def _write_bundles(store: PublicStore, log: TiledLog, old: int, new: int) -> None:
    for level, n, width in _changed_tiles(old, new):
        if level:
            continue
        start = n * 256
        data = tlog_tiles.encode_bundle(leaf.encode() for leaf in log.leaves(start, start + width))
        store.write(f"{log.prefix}/{tlog_tiles.bundle_path(n, width)}", data)


def _partials(size: int) -> list[tuple[int, int, int]]:
    """The partial tiles of a tree of ``size`` leaves (only a level's last can be one)."""
    return [t for t in tlog_tiles.tiles_of(size) if t[2] < tlog_tiles.TILE_WIDTH]


def tiles_publish(size: int) -> int:
    """Publish the tiles of the registry log's signed checkpoint of ``size``; return the
    published size."""
    checkpoint = checkpoint_signed(size)
    if checkpoint is None:
        return 0

    def steps(published: int) -> list[int]:
        # Each signed size in between gets its partial tiles; a first publication of a
        # long history keeps the newest few, not a set of files per checkpoint ever signed.
        return sorted(
            SignedCheckpoint.objects.filter(size__gt=published, size__lte=size)
            .order_by("-size")
            .values_list("size", flat=True)[:_STEPS]
        )

    return _publish(REGISTRY_LOG, size, checkpoint.note, steps)


def receipt_tiles_publish() -> int:
    """Publish the receipts log's tiles at its current size; return the published size.

    Its checkpoint is signed on demand (``receipts_checkpoint``), so only the current
    size's partial tiles are written: a reader holding an older receipts checkpoint
    proves consistency from the full tiles and the API's proofs, as for any size.
    """
    with transaction.atomic():
        # The head's lock: no receipt is appended between reading the size and signing.
        head = ReceiptLogHead.objects.select_for_update().filter(id=1).first()
        size = head.size if head is not None else 0
        if size == 0:
            return 0
        note = receipts_checkpoint(size)
        return _publish(RECEIPTS_LOG, size, note, lambda published: [size])


def _publish(log: TiledLog, size: int, note: str, steps: Callable[[int], list[int]]) -> int:
    store = PublicStore()
    with transaction.atomic():
        mirror, _ = PublishedMirror.objects.select_for_update().get_or_create(name=log.mirror)
        if mirror.size and not store.exists(log.checkpoint):
            mirror.size = 0  # the store was emptied or replaced: write it all again
        if size <= mirror.size:
            # An older checkpoint's task ran after a newer one's: its partial tiles may
            # still be wanted by a client holding that checkpoint.
            _write_tiles(store, log, _partials(size))
            _write_bundles(store, log, size - (size % 256), size)
            return mirror.size
        previous = mirror.size
        for step in steps(mirror.size):
            _write_tiles(store, log, _changed_tiles(previous, step))
            _write_bundles(store, log, previous, step)
            previous = step
        store.write(log.checkpoint, note.encode())
        mirror.size = size
        mirror.save(update_fields=["size", "updated_at"])
    return size
