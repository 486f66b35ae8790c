"""Periodic registry work. Thin: each task calls a service and returns quietly."""

from __future__ import annotations

from celery import shared_task
from django.db import transaction

from registry.checkpoints import checkpoint_publish as publish
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
