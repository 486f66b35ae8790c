"""A release built as a chord of shard tasks by a real Celery worker, then an incremental one."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from governance.enums import ShardAction, VersionStatus
from governance.models import ShardBuild
from governance.releases import release_start, version_folder
from tests.factories import approve, make_dataset, make_request, wait_for_version

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_the_worker_reuses_untouched_shards_in_the_next_release(celery_worker, tmp_path) -> None:
    dataset = make_dataset(tmp_path)
    first = wait_for_version(release_start(dataset_id=dataset.id))
    assert first.status == VersionStatus.PUBLISHED, first.error or celery_worker.log()

    names = pq.read_table(dataset.source_uri).column("repo_name").to_pylist()
    repo = names[0]
    approve(make_request([repo]))
    second = wait_for_version(release_start(dataset_id=dataset.id))
    assert second.status == VersionStatus.PUBLISHED, second.error or celery_worker.log()
    assert celery_worker.log().count("release_shard_task[") >= 6
    assert "release_publish_task[" in celery_worker.log()
    # The two reused shards are linked by one task beside the rewritten one's.
    assert celery_worker.log().count("release_reuse_task[") >= 1

    actions = sorted(ShardBuild.objects.filter(version=second).values_list("action", flat=True))
    assert actions == [ShardAction.REUSE, ShardAction.REUSE, ShardAction.REWRITE]
    written = pq.read_table(version_folder(second) / "data").column("repo_name").to_pylist()
    assert repo not in written
    assert len(written) == second.rows_out == 600 - names.count(repo)
