"""Tasks that write the registry's public files (docs/mirroring.md). Thin, idempotent."""

from __future__ import annotations

from celery import shared_task

from registry.checkpoints import checkpoint_head
from registry.ranges import ranges_publish
from registry.tiles import receipt_tiles_publish, tiles_publish


@shared_task(name="registry.mirror_tasks.mirror_publish")
def mirror_publish(*, size: int) -> int:
    """Tiles and range files of the checkpoint of ``size`` (queued after it is signed).

    Range files are skipped once a newer checkpoint exists: its own task writes them, and
    only the newest is looked up. Safe to run twice.
    """
    published = tiles_publish(size)
    head = checkpoint_head()
    if head is None or head[0] <= size:
        ranges_publish(size)
    return published


@shared_task(name="registry.mirror_tasks.receipt_tiles_publish")
def receipt_tiles_publish_task() -> int:
    """The receipts log's tiles at its current size (queued after each receipt)."""
    return receipt_tiles_publish()


@shared_task(name="registry.mirror_tasks.mirror_catch_up")
def mirror_catch_up() -> int | None:
    """Periodic: publish the newest checkpoint, and the receipts log's tiles, if a queued
    task was lost."""
    receipt_tiles_publish()
    head = checkpoint_head()
    if head is None:
        return None
    ranges_publish(head[0])
    return tiles_publish(head[0])
