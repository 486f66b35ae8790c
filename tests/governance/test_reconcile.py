"""The reconciler resumes idle releases only, re-announces, and cleans leftovers."""

from __future__ import annotations

from datetime import timedelta

import pytest

from governance.enums import VersionStatus
from governance.models import DatasetVersion
from governance.releases.plan import snapshot_fingerprint, source_listing
from governance.releases.reconcile import releases_reconcile
from registry.checkpoints import checkpoint_latest
from tests.factories import make_dataset

pytestmark = pytest.mark.django_db(transaction=True)


def _interrupted_version(dataset) -> DatasetVersion:
    """A version whose build task was lost (as if the worker died before planning)."""
    checkpoint = checkpoint_latest()
    return DatasetVersion.objects.create(
        dataset=dataset,
        version="1.0.0",
        log_size=checkpoint.size,
        root_hash=checkpoint.root_hash_b64,
        checkpoint_note=checkpoint.note,
        source_fingerprint=snapshot_fingerprint(source_listing(dataset)[1]),
    )


def test_a_release_still_active_is_left_alone(tmp_path) -> None:
    version = _interrupted_version(make_dataset(tmp_path))
    report = releases_reconcile(stale_after=timedelta(minutes=30))
    assert report.resumed == []
    version.refresh_from_db()
    assert version.status == VersionStatus.BUILDING


def test_an_idle_release_is_resumed_and_published(tmp_path) -> None:
    version = _interrupted_version(make_dataset(tmp_path))
    report = releases_reconcile(stale_after=timedelta(0))
    assert report.resumed == ["demo 1.0.0"]
    version.refresh_from_db()
    assert (version.status, version.shards_done, version.rows_out) == (
        VersionStatus.PUBLISHED,
        3,
        600,
    )
    assert version.announced_at is not None


def test_a_lost_announcement_is_sent_again(tmp_path) -> None:
    version = _interrupted_version(make_dataset(tmp_path))
    releases_reconcile(stale_after=timedelta(0))
    DatasetVersion.objects.filter(id=version.id).update(announced_at=None)
    report = releases_reconcile(stale_after=timedelta(0))
    assert report.announced == ["demo 1.0.0"]
    assert releases_reconcile(stale_after=timedelta(0)).announced == []
