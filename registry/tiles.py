"""The log published as static C2SP tlog-tiles in the public store (docs/mirroring.md).

``tiles_publish(size)`` writes, for a signed checkpoint of ``size``, every tile and entry
bundle the log gained since the last published size, the partial tiles of each signed
size in between, and then ``log/checkpoint``. Tiles come from the stored Merkle nodes
(a level-L hash is the perfect subtree of height 8·L, already in ``MerkleNode``) and
bundles from ``LogEntry.leaf``: nothing is hashed again.

Safe to run twice and in any order: the ``PublishedMirror`` row named ``tiles`` is locked
while writing, a size at or below the published one only (re)writes its partial tiles,
and every file holds the same bytes whoever writes it. ``log/checkpoint`` is written last,
so a reader never sees a checkpoint whose tiles are missing.
"""

from __future__ import annotations

from django.db import transaction

from registry import merkle, tlog_tiles
from registry.checkpoints import checkpoint_signed
from registry.models import LogEntry, MerkleNode, PublishedMirror, SignedCheckpoint
from registry.public_store import PublicStore

PREFIX = "log"
CHECKPOINT = f"{PREFIX}/checkpoint"
_BATCH = 16_384  # node hashes read per query
_STEPS = 64  # signed sizes whose partial tiles one run writes at most


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


def _tile_hashes(tiles: list[tuple[int, int, int]]) -> dict[tuple[int, int], list[bytes]]:
    wanted: dict[int, tuple[int, int, int]] = {}
    for level, n, width in tiles:
        for i in range(width):
            start = (n * 256 + i) << (8 * level)
            wanted[merkle.position(start, 8 * level)] = (level, n, i)
    found: dict[int, bytes] = {}
    positions = sorted(wanted)
    for first in range(0, len(positions), _BATCH):
        chunk = positions[first : first + _BATCH]
        rows = MerkleNode.objects.filter(position__in=chunk).values_list("position", "hash")
        found.update((p, bytes(h)) for p, h in rows)
    missing = set(positions) - found.keys()
    if missing:
        raise RuntimeError(f"The log is missing tree nodes {sorted(missing)[:5]}.")
    result: dict[tuple[int, int], list[bytes]] = {(lv, n): [b""] * w for lv, n, w in tiles}
    for position, (level, n, i) in wanted.items():
        result[(level, n)][i] = found[position]
    return result


def _write_tiles(store: PublicStore, tiles: list[tuple[int, int, int]]) -> None:
    for first in range(0, len(tiles), 64):
        part = tiles[first : first + 64]
        hashes = _tile_hashes(part)
        for level, n, width in part:
            data = merkle.pack_hashes(hashes[(level, n)])
            store.write(f"{PREFIX}/{tlog_tiles.tile_path(level, n, width)}", data)


def _write_bundles(store: PublicStore, old: int, new: int) -> None:
    for level, n, width in _changed_tiles(old, new):
        if level:
            continue
        start = n * 256
        leaves = (
            LogEntry.objects.filter(index__gte=start, index__lt=start + width)
            .order_by("index")
            .values_list("leaf", flat=True)
        )
        data = tlog_tiles.encode_bundle(leaf.encode() for leaf in leaves)
        store.write(f"{PREFIX}/{tlog_tiles.bundle_path(n, width)}", data)


def _partials(size: int) -> list[tuple[int, int, int]]:
    """The partial tiles of a tree of ``size`` leaves (only a level's last can be one)."""
    return [t for t in tlog_tiles.tiles_of(size) if t[2] < tlog_tiles.TILE_WIDTH]


def tiles_publish(size: int) -> int:
    """Publish the tiles of the signed checkpoint of ``size``; return the published size."""
    checkpoint = checkpoint_signed(size)
    if checkpoint is None:
        return 0
    store = PublicStore()
    with transaction.atomic():
        mirror, _ = PublishedMirror.objects.select_for_update().get_or_create(name="tiles")
        if mirror.size and not store.exists(CHECKPOINT):
            mirror.size = 0  # the store was emptied or replaced: write it all again
        if size <= mirror.size:
            # An older checkpoint's task ran after a newer one's: its partial tiles may
            # still be wanted by a client holding that checkpoint.
            _write_tiles(store, _partials(size))
            _write_bundles(store, size - (size % 256), size)
            return mirror.size
        # Each signed size in between gets its partial tiles; a first publication of a
        # long history keeps the newest few, not a set of files per checkpoint ever signed.
        steps = sorted(
            SignedCheckpoint.objects.filter(size__gt=mirror.size, size__lte=size)
            .order_by("-size")
            .values_list("size", flat=True)[:_STEPS]
        )
        previous = mirror.size
        for step in steps:
            _write_tiles(store, _changed_tiles(previous, step))
            _write_bundles(store, previous, step)
            previous = step
        store.write(CHECKPOINT, checkpoint.note.encode())
        mirror.size = size
        mirror.save(update_fields=["size", "updated_at"])
    return size
