"""Signal receivers: a saved or deleted checkpoint or token replaces the cache epoch.

The API's hot paths cache both per process (``registry.epoch``); bulk updates are covered by
``registry.models.EpochQuerySet``.
"""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from registry.epoch import epoch_bump
from registry.models import PipelineToken, SignedCheckpoint


@receiver([post_save, post_delete], sender=SignedCheckpoint)
@receiver([post_save, post_delete], sender=PipelineToken)
def invalidate_cached_copies(**kwargs: object) -> None:
    epoch_bump()
