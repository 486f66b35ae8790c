"""Scheduled releases: when the registry changed and the dataset's cadence allows."""

from __future__ import annotations

import logging
from datetime import datetime

from django.utils import timezone

from governance.enums import VersionStatus
from governance.models import Dataset, DatasetVersion
from governance.releases.errors import ReleaseError
from governance.releases.plan import release_start
from governance.selectors import next_release_at, registry_changed_since_release

logger = logging.getLogger(__name__)


def releases_schedule(*, now: datetime | None = None) -> list[DatasetVersion]:
    now = now or timezone.now()
    started = []
    for dataset in Dataset.objects.filter(release_cadence__isnull=False).order_by("name"):
        due = next_release_at(dataset, now=now)
        if due is None or due > now or not registry_changed_since_release(dataset):
            continue
        if DatasetVersion.objects.filter(dataset=dataset, status=VersionStatus.BUILDING).exists():
            continue
        try:
            started.append(release_start(dataset_id=dataset.id, triggered_by="schedule"))
        except ReleaseError as exc:
            logger.info("Scheduled release of %s skipped: %s", dataset.name, exc)
    return started
