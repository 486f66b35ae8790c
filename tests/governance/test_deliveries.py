"""Work that kills its worker is run at most three times; the fourth delivery fails it.

A run that dies leaves its count in Redis (nothing ends it); these tests leave the same
counts by starting runs that never end, then deliver the task as a worker would.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from django.conf import settings

from governance.deliveries import MAX_DELIVERIES, _begin, _client, work_key
from governance.enums import ShardStatus, VersionStatus
from governance.models import DatasetVersion, ShardBuild
from governance.releases import release_start
from governance.tasks import release_shard_task
from tests.factories import make_dataset

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.REDIS_URL, reason="counts live in Redis (set REDIS_URL)"),
]


@pytest.fixture
def shard(tmp_path) -> Iterator[ShardBuild]:
    """A shard of a version still building, as a worker would be handed it."""
    dataset = make_dataset(tmp_path)
    version = release_start(dataset_id=dataset.id)
    DatasetVersion.objects.filter(id=version.id).update(status=VersionStatus.BUILDING)
    built = ShardBuild.objects.filter(version=version).order_by("position").first()
    ShardBuild.objects.filter(id=built.id).update(status=ShardStatus.PENDING, rows_done=0)
    key = work_key(release_shard_task.name, (), {"shard_id": built.id})
    client = _client()
    client.delete(key)
    yield built
    client.delete(key)


def _deliver(**kwargs) -> object:
    """Run the task as a worker does (not called directly, not eager)."""
    release_shard_task.push_request(called_directly=False, is_eager=False, id="t")
    try:
        return release_shard_task(**kwargs)
    finally:
        release_shard_task.pop_request()


def _die(times: int, shard: ShardBuild) -> None:
    key = work_key(release_shard_task.name, (), {"shard_id": shard.id})
    for _ in range(times):
        _begin(_client(), key)  # a run that started and never ended


def test_a_shard_that_killed_its_worker_three_times_fails_its_release_with_the_reason(
    shard: ShardBuild,
) -> None:
    _die(MAX_DELIVERIES, shard)

    assert _deliver(shard_id=shard.id) is None

    version = DatasetVersion.objects.get(id=shard.version_id)
    assert version.status == VersionStatus.FAILED
    assert version.error.startswith(
        f"Building shard {shard.name} stopped the worker process running it 3 times in a row"
    )
    assert "retry the release" in version.error
    assert ShardBuild.objects.get(id=shard.id).status == ShardStatus.PENDING  # not run


def test_fewer_deaths_run_the_work_and_a_finished_run_forgets_them(shard: ShardBuild) -> None:
    _die(MAX_DELIVERIES - 1, shard)

    assert _deliver(shard_id=shard.id) == ShardStatus.DONE

    key = work_key(release_shard_task.name, (), {"shard_id": shard.id})
    assert _client().get(key) is None
    assert DatasetVersion.objects.get(id=shard.version_id).status == VersionStatus.BUILDING


def test_a_run_that_raises_is_not_a_death(shard: ShardBuild) -> None:
    ShardBuild.objects.filter(id=shard.id).update(name="missing.parquet")
    for _ in range(MAX_DELIVERIES + 1):
        DatasetVersion.objects.filter(id=shard.version_id).update(status=VersionStatus.BUILDING)
        _deliver(shard_id=shard.id)  # the missing file fails the version: an error, no death

    key = work_key(release_shard_task.name, (), {"shard_id": shard.id})
    assert _client().get(key) is None
    assert "missing.parquet" in DatasetVersion.objects.get(id=shard.version_id).error


def test_an_unreachable_redis_counts_nothing_and_stops_nothing() -> None:
    unreachable = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=1)
    assert _begin(unreachable, "task-deaths:any") == 0
