"""Release tasks are safe to run twice."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from governance.enums import ShardAction, ShardStatus, VersionStatus
from governance.models import DatasetVersion, ShardBuild
from governance.releases import release_start, version_folder
from governance.releases.shards import shards_reuse
from governance.selectors import release_progress
from governance.tasks import release_build_task, release_publish_task, release_shard_task
from tests.factories import approve, make_dataset, make_request

pytestmark = pytest.mark.django_db(transaction=True)


def test_running_every_task_again_changes_nothing(tmp_path) -> None:
    dataset = make_dataset(tmp_path)
    version = release_start(dataset_id=dataset.id)
    version.refresh_from_db()
    files = {p: p.read_bytes() for p in version_folder(version).rglob("*") if p.is_file()}
    before = version.manifest_sha256

    release_build_task.delay(version_id=version.id)
    for shard in ShardBuild.objects.filter(version=version):
        release_shard_task.delay(shard_id=shard.id)
    release_publish_task.delay(version_id=version.id)

    version.refresh_from_db()
    assert (version.status, version.manifest_sha256, version.shards_done) == (
        VersionStatus.PUBLISHED,
        before,
        3,
    )
    assert {p: p.read_bytes() for p in version_folder(version).rglob("*") if p.is_file()} == files


def test_a_shard_built_twice_before_it_is_recorded_gives_the_same_bytes(tmp_path) -> None:
    dataset = make_dataset(tmp_path)
    first = release_start(dataset_id=dataset.id)
    first.refresh_from_db()
    shard = ShardBuild.objects.filter(version=first).first()
    reference = (version_folder(first) / "data" / shard.name).read_bytes()

    # Replay the shard as a redelivered task would: the version building again, the shard
    # pending again, its output already on storage.
    staging = tmp_path / "out" / "demo" / ".staging" / first.version / "data"
    staging.mkdir(parents=True)
    (staging / shard.name).write_bytes(b"half-written by a crashed attempt")
    DatasetVersion.objects.filter(id=first.id).update(status=VersionStatus.BUILDING)
    ShardBuild.objects.filter(id=shard.id).update(status=ShardStatus.PENDING)
    release_shard_task.delay(shard_id=shard.id)

    assert (staging / shard.name).read_bytes() == reference
    assert ShardBuild.objects.get(id=shard.id).status == ShardStatus.DONE


def test_reused_shards_linked_again_are_recorded_once(tmp_path) -> None:
    dataset = make_dataset(tmp_path)
    release_start(dataset_id=dataset.id)
    approve(make_request([pq.read_table(dataset.source_uri).column("repo_name")[0].as_py()]))
    second = release_start(dataset_id=dataset.id)
    reused = ShardBuild.objects.filter(version=second, action=ShardAction.REUSE)
    rows = sum(reused.values_list("rows_in", flat=True))
    # As after a crash between linking and recording: building, the reused shards pending.
    DatasetVersion.objects.filter(id=second.id).update(status=VersionStatus.BUILDING)
    reused.update(status=ShardStatus.PENDING, rows_done=0)
    before = DatasetVersion.objects.get(id=second.id)
    rows_before = release_progress(before)["rows_done"]

    assert shards_reuse(version_id=second.id) == 2
    assert shards_reuse(version_id=second.id) == 0  # a duplicate delivery records nothing

    after = DatasetVersion.objects.get(id=second.id)
    assert after.shards_done - before.shards_done == 2
    assert after.shards_reused - before.shards_reused == 2
    assert release_progress(after)["rows_done"] - rows_before == rows
    assert set(reused.values_list("status", flat=True)) == {ShardStatus.DONE}
