"""Periodic registry work. Thin: each task calls a service and returns quietly."""

from __future__ import annotations

from celery import shared_task
from django.db import transaction

from registry import exports
from registry.checkpoints import checkpoint_head
from registry.checkpoints import checkpoint_publish as publish
from registry.mirror_tasks import mirror_catch_up, mirror_publish  # noqa: F401  (registers them)
from registry.models import LogHead


@shared_task(name="registry.tasks.checkpoint_publish")
def checkpoint_publish() -> int | None:
    """Sign the log's current size if the checkpoint interval has passed."""
    with transaction.atomic():
        head = LogHead.objects.select_for_update().filter(id=1).first()
        if head is None:
            return None
        checkpoint = publish(size=head.size)
    return checkpoint.size if checkpoint else None


@shared_task(name="registry.tasks.exports_precompute")
def exports_precompute(*, size: int) -> list[str]:
    """Materialise every export of the checkpoint of ``size`` (queued when it is signed).

    Skips a checkpoint already superseded: pipelines are served the newest, and its own
    task builds it. Safe to run twice: existing files are kept, and each file appears only
    when complete (written to a temporary name, then renamed).
    """

    def superseded() -> bool:
        head = checkpoint_head()
        return head is not None and head[0] > size

    return exports.precompute(size, superseded=superseded)
