"""Publishing happens once, from exactly the files the database recorded."""

from __future__ import annotations

import json
import shutil
import threading

import pytest
from django.db import connection, connections

from governance.enums import ShardAction, ShardStatus, VersionStatus
from governance.models import DatasetVersion, ShardBuild
from governance.releases import release_start, version_folder
from governance.releases import shards as shards_module
from governance.releases.locks import PUBLISH, step_lock, step_running
from governance.selectors import release_progress
from governance.tasks import release_publish_task, release_shard_task
from tests.factories import make_dataset

pytestmark = pytest.mark.django_db(transaction=True)


def _rebuild_unpublished(version: DatasetVersion) -> DatasetVersion:
    """Put a published version back to 'every shard built, not yet published'."""
    folder = version_folder(version)
    shutil.rmtree(folder)
    DatasetVersion.objects.filter(id=version.id).update(
        status=VersionStatus.BUILDING, published_at=None, announced_at=None
    )
    ShardBuild.objects.filter(version=version).update(status=ShardStatus.PENDING, rows_done=0)
    for shard in ShardBuild.objects.filter(version=version, action=ShardAction.REWRITE):
        release_shard_task.delay(shard_id=shard.id)
    version.refresh_from_db()
    return version


def test_files_in_staging_that_no_shard_recorded_never_ship(tmp_path) -> None:
    dataset = make_dataset(tmp_path)
    version = _rebuild_unpublished(release_start(dataset_id=dataset.id))
    staging = tmp_path / "out" / "demo" / ".staging" / version.version / "data"
    # What a duplicate shard task still writing leaves there: a temporary file and a part.
    (staging / ".shard-00000.parquet.tmp-0123").write_bytes(b"half a shard")
    (staging / ".shard-00001.parquet.part-1").write_bytes(b"a part")

    release_publish_task.delay(version_id=version.id)

    version.refresh_from_db()
    assert version.status == VersionStatus.PUBLISHED
    folder = version_folder(version)
    manifest = json.loads((folder / "manifest.json").read_text())
    listed = {f["path"] for f in manifest["files"] + manifest["metadata_files"]}
    on_disk = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}
    assert on_disk == listed | {"manifest.json", "_COMMITTED"}
    assert (folder / "_COMMITTED").stat().st_mode & 0o222 == 0  # read-only like the rest
    assert not (tmp_path / "out" / "demo" / ".staging" / version.version).exists()


def test_a_twin_build_that_fails_after_its_shard_was_recorded_leaves_the_version_building(
    tmp_path, monkeypatch
) -> None:
    dataset = make_dataset(tmp_path)
    version = _rebuild_unpublished(release_start(dataset_id=dataset.id))
    shard = ShardBuild.objects.filter(version=version).first()
    ShardBuild.objects.filter(id=shard.id).update(status=ShardStatus.PENDING)

    def twin_won_then_this_one_lost_its_file(build: ShardBuild) -> dict:
        # The twin delivery records the shard; publishing then removes this run's files.
        ShardBuild.objects.filter(id=build.id).update(status=ShardStatus.DONE)
        raise FileNotFoundError("the temporary file is gone")

    monkeypatch.setattr(shards_module, "_rewrite", twin_won_then_this_one_lost_its_file)
    release_shard_task.delay(shard_id=shard.id)

    version.refresh_from_db()
    assert (version.status, version.error) == (VersionStatus.BUILDING, "")


def test_progress_counts_a_redelivered_shard_once(tmp_path) -> None:
    dataset = make_dataset(tmp_path)
    version = _rebuild_unpublished(release_start(dataset_id=dataset.id))
    shard = ShardBuild.objects.filter(version=version).first()
    ShardBuild.objects.filter(id=shard.id).update(status=ShardStatus.PENDING)
    release_shard_task.delay(shard_id=shard.id)  # delivered again after a lost ack

    progress = release_progress(DatasetVersion.objects.get(id=version.id))
    assert progress["rows_done"] == progress["rows_total"] == 600


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the lock is PostgreSQL's")
def test_a_publish_delivered_while_another_runs_changes_nothing_until_the_holder_dies(
    tmp_path,
) -> None:
    dataset = make_dataset(tmp_path)
    version = _rebuild_unpublished(release_start(dataset_id=dataset.id))
    holding, release = threading.Event(), threading.Event()

    def first_delivery() -> None:  # holds the lock as a publisher busy assembling would
        try:
            with step_lock(PUBLISH, version.id) as granted:
                assert granted
                holding.set()
                release.wait(30)
        finally:
            connections.close_all()

    holder = threading.Thread(target=first_delivery)
    holder.start()
    assert holding.wait(30)
    try:
        assert step_running(PUBLISH, version.id)
        release_publish_task.delay(version_id=version.id)  # the duplicate
        version.refresh_from_db()
        assert version.status == VersionStatus.BUILDING
        assert not version_folder(version).exists()
    finally:
        release.set()
        holder.join()

    assert not step_running(PUBLISH, version.id)
    release_publish_task.delay(version_id=version.id)  # the redelivery after the holder died
    version.refresh_from_db()
    assert version.status == VersionStatus.PUBLISHED
    assert (version_folder(version) / "_COMMITTED").exists()


def test_a_publish_redelivered_after_its_run_died_past_the_commit_removes_what_was_left(
    tmp_path,
) -> None:
    dataset = make_dataset(tmp_path)
    version = release_start(dataset_id=dataset.id)
    root = version_folder(version).parent
    # What a run killed between the commit and its clean-up leaves behind.
    for internal in (".staging", ".work"):
        (root / internal / version.version / "changes").mkdir(parents=True)

    assert release_publish_task(version_id=version.id) == VersionStatus.PUBLISHED

    assert not (root / ".staging" / version.version).exists()
    assert not (root / ".work" / version.version).exists()
