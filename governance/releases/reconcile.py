"""Finish or clean what a crash left: the database decides, storage follows.

- A version still ``building`` and idle for longer than ``stale_after`` is resumed: it is
  planned if it was not, its missing shards are queued, or it is published. Idle means
  no progress update: a shard task bumps ``updated_at`` with every row group it writes,
  so a few idle minutes mean its worker died (a whole worker killed leaves its task
  unacknowledged in Redis until the visibility timeout, over an hour). Resuming a
  version that is in fact still running is harmless: every step is safe to run twice.
  A version being published is skipped while its publisher holds the lock.
- A published version whose announcement was lost is announced again.
- Storage left by versions that are not building (staging and work folders, unmarked
  version folders, folders of failed versions) is removed. Published folders are
  never touched.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.utils import timezone

from governance.enums import VersionStatus
from governance.models import Dataset, DatasetVersion
from governance.releases.layout import MARKER_NAME, dataset_store
from governance.releases.locks import PUBLISH, step_running
from registry.dispatch import queue

logger = logging.getLogger(__name__)


@dataclass
class ReconcileReport:
    resumed: list[str] = field(default_factory=list)
    announced: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def releases_reconcile(*, stale_after: timedelta = timedelta(minutes=5)) -> ReconcileReport:
    from governance.tasks import release_build_task  # tasks import this package

    report = ReconcileReport()
    cutoff = timezone.now() - stale_after
    for version in DatasetVersion.objects.filter(
        status=VersionStatus.BUILDING, updated_at__lte=cutoff
    ).select_related("dataset"):
        if step_running(PUBLISH, version.id):
            continue
        # Touch it so a second reconciler run does not resume it again at once.
        DatasetVersion.objects.filter(id=version.id).update(updated_at=timezone.now())
        report.resumed.append(version.label)
        queue(release_build_task, version_id=version.id)
    for version in DatasetVersion.objects.filter(
        status=VersionStatus.PUBLISHED, announced_at__isnull=True
    ).select_related("dataset"):
        from governance.releases.publish import version_announce

        version_announce(version)
        report.announced.append(version.label)
    for dataset in Dataset.objects.all():
        report.removed += _clean_storage(dataset)
    return report


def _clean_storage(dataset: Dataset) -> list[str]:
    statuses = dict(DatasetVersion.objects.filter(dataset=dataset).values_list("version", "status"))
    store = dataset_store(dataset)
    removed = []
    for internal in (".staging", ".work"):
        for path in store.list_dirs(store.path(internal)):
            label = path.rsplit("/", 1)[-1]
            if statuses.get(label) != VersionStatus.BUILDING:
                store.remove_tree(path)
                removed.append(path)
    for path in store.list_dirs(store.root):
        label = path.rsplit("/", 1)[-1]
        if label.startswith("."):
            continue
        status = statuses.get(label)
        if status == VersionStatus.PUBLISHED or status == VersionStatus.BUILDING:
            continue
        if status is None and store.exists(f"{path}/{MARKER_NAME}"):
            # Marked but unknown to the database: not ours to judge; leave it for a person.
            logger.warning(
                "Version folder %s is committed on storage but not in the database", path
            )
            continue
        store.remove_tree(path)
        removed.append(path)
    return removed
