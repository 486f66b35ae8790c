"""Tasks that write the registry's public files (docs/mirroring.md). Thin, idempotent."""

from __future__ import annotations

from celery import shared_task

from registry.checkpoints import checkpoint_head
from registry.tiles import tiles_publish


@shared_task(name="registry.mirror_tasks.mirror_publish")
def mirror_publish(*, size: int) -> int:
    """Tiles of the checkpoint of ``size`` (queued after it is signed). Safe to run twice."""
    return tiles_publish(size)


@shared_task(name="registry.mirror_tasks.mirror_catch_up")
def mirror_catch_up() -> int | None:
    """Periodic: publish the newest checkpoint if its queued task was lost."""
    head = checkpoint_head()
    return None if head is None else tiles_publish(head[0])
