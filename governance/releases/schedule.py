"""Scheduled releases: when the registry or the source snapshot changed since the last
published version, and the dataset's cadence allows."""

from __future__ import annotations

import logging
from datetime import datetime

from django.utils import timezone

from governance.enums import VersionStatus
from governance.models import Dataset, DatasetVersion
from governance.releases.errors import ReleaseError
from governance.releases.plan import release_start, snapshot_fingerprint, source_listing
from governance.selectors import next_release_at, registry_changed_since_release

logger = logging.getLogger(__name__)


def source_changed_since_release(dataset: Dataset) -> bool:
    """Whether the source folder now lists other shards than the last version read.

    One listing of the folder (one LIST on an object store); a source that cannot be read
    counts as unchanged, so an outage never starts a release that would fail."""
    latest = DatasetVersion.objects.filter(dataset=dataset, status=VersionStatus.PUBLISHED)
    latest = latest.order_by("-published_at", "-id").first()
    if latest is None:
        return True
    try:
        _source, shards = source_listing(dataset)
    except OSError as exc:
        logger.warning("Could not list the source of %s: %s", dataset.name, exc)
        return False
    return bool(shards) and snapshot_fingerprint(shards) != latest.source_fingerprint


def releases_schedule(*, now: datetime | None = None) -> list[DatasetVersion]:
    now = now or timezone.now()
    started = []
    for dataset in Dataset.objects.filter(release_cadence__isnull=False).order_by("name"):
        due = next_release_at(dataset, now=now)
        if due is None or due > now:
            continue
        if not registry_changed_since_release(dataset) and not source_changed_since_release(
            dataset
        ):
            continue
        if DatasetVersion.objects.filter(dataset=dataset, status=VersionStatus.BUILDING).exists():
            continue
        try:
            started.append(
                release_start(dataset_id=dataset.id, triggered_by="schedule", only_if_changed=True)
            )
        except ReleaseError as exc:
            logger.info("Scheduled release of %s skipped: %s", dataset.name, exc)
    return started
