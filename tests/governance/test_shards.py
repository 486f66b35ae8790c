"""How many threads a shard rewrite uses."""

from __future__ import annotations

import os

import pytest

from governance.enums import ShardAction, ShardStatus
from governance.models import DatasetVersion, ShardBuild
from governance.releases.shards import _threads
from tests.factories import make_dataset

pytestmark = pytest.mark.django_db


def _version_with_shards(tmp_path, count: int) -> DatasetVersion:
    dataset = make_dataset(tmp_path)
    version = DatasetVersion.objects.create(dataset=dataset, version="1.0.0", log_size=0)
    for position in range(count):
        ShardBuild.objects.create(
            version=version,
            position=position,
            name=f"shard-{position}.parquet",
            source_fingerprint="f",
            source_bytes=1,
            action=ShardAction.REWRITE,
        )
    return version


def test_the_last_shard_left_to_write_uses_every_core_up_to_the_setting(tmp_path, settings) -> None:
    settings.RELEASE_SHARD_THREADS = 64
    cores = len(os.sched_getaffinity(0))
    version = _version_with_shards(tmp_path, cores + 1)
    assert _threads(version) == 1  # the worker's other processes keep the cores busy

    ShardBuild.objects.filter(version=version).exclude(position=0).update(status=ShardStatus.DONE)
    assert _threads(version) == cores

    settings.RELEASE_SHARD_THREADS = 1
    assert _threads(version) == 1
