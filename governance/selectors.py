"""Reads of the release domain, for pages, the API, the admin and the scheduler."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet, Sum
from django.utils import timezone

from governance.enums import VersionStatus
from governance.models import Dataset, DatasetMarker, DatasetVersion
from registry.selectors import log_size


def version_markers(*, dataset: str, version: str) -> QuerySet[DatasetMarker]:
    """The opt-out markers found while a published version was built, with the version."""
    return DatasetMarker.objects.filter(
        version__dataset__name=dataset,
        version__version=version,
        version__status=VersionStatus.PUBLISHED,
    ).select_related("version__dataset")


def published_versions(dataset: Dataset) -> QuerySet[DatasetVersion]:
    return DatasetVersion.objects.filter(dataset=dataset, status=VersionStatus.PUBLISHED).order_by(
        "-published_at", "-id"
    )


def latest_version(dataset: Dataset) -> DatasetVersion | None:
    """The most recent version started, whatever its status (cadence counts from it)."""
    return DatasetVersion.objects.filter(dataset=dataset).order_by("-created_at", "-id").first()


def registry_changed_since_release(dataset: Dataset) -> bool:
    latest = published_versions(dataset).first()
    return latest is None or latest.log_size != log_size()


def next_release_at(dataset: Dataset, *, now: datetime | None = None) -> datetime | None:
    """When the next scheduled release of ``dataset`` may start, or None if none is scheduled.

    None when the dataset has no cadence (manual releases only). Otherwise the later of
    now and the last release plus the cadence. The periodic task starts a release only
    if the registry or the source snapshot changed since the last published version
    (``governance.releases.schedule``), and it runs every few
    minutes (``RELEASE_SCHEDULE_SECONDS``), so the release begins up to one tick later.
    """
    if dataset.release_cadence is None:
        return None
    now = now or timezone.now()
    latest = latest_version(dataset)
    if latest is None:
        return now
    return max(now, latest.created_at + dataset.release_cadence)


def release_progress(version: DatasetVersion) -> dict[str, object]:
    rows_done = version.rows_done
    if version.status == VersionStatus.BUILDING:
        # Each shard counts its own current attempt, so a redelivery never counts twice.
        rows_done = version.shards.aggregate(rows=Sum("rows_done"))["rows"] or 0
    return {
        "id": version.id,
        "label": version.label,
        "status": version.status,
        "step": version.step,
        "shards_done": version.shards_done,
        "shards_total": version.shards_total,
        "shards_reused": version.shards_reused,
        "rows_done": rows_done,
        "rows_total": version.rows_total,
        "error": version.error,
    }
