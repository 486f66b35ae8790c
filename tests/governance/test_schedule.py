"""Scheduled releases start when the registry or the source changed and the cadence allows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from governance.models import DatasetVersion
from governance.releases import ReleaseError, release_start
from governance.releases.schedule import releases_schedule
from tests.factories import approve, make_dataset, make_request

pytestmark = pytest.mark.django_db(transaction=True)


def test_nothing_is_released_when_the_registry_did_not_change(tmp_path) -> None:
    dataset = make_dataset(tmp_path)
    release_start(dataset_id=dataset.id)
    later = timezone.now() + timedelta(days=2)
    assert releases_schedule(now=later) == []


def test_a_change_waits_for_the_cadence_then_releases(tmp_path) -> None:
    dataset = make_dataset(tmp_path)
    release_start(dataset_id=dataset.id)
    approve(make_request(["github.com/owner-00001"]))
    assert releases_schedule(now=timezone.now() + timedelta(hours=1)) == []
    started = releases_schedule(now=timezone.now() + timedelta(days=1, minutes=1))
    assert [v.version for v in started] == ["1.0.1"]
    version = DatasetVersion.objects.get(version="1.0.1")
    assert (version.status, version.triggered_by, version.log_size) == ("published", "schedule", 1)


def test_a_scheduled_start_overtaken_by_a_release_of_the_same_checkpoint_starts_nothing(
    tmp_path,
) -> None:
    """A second beat's tick saw the registry changed, then another tick's release of that
    change published before this one took the dataset's lock."""
    dataset = make_dataset(tmp_path)
    release_start(dataset_id=dataset.id)
    approve(make_request(["github.com/owner-00001"]))
    release_start(dataset_id=dataset.id, triggered_by="schedule", only_if_changed=True)

    with pytest.raises(ReleaseError, match="already applies registry log size 1"):
        release_start(dataset_id=dataset.id, triggered_by="schedule", only_if_changed=True)
    assert list(DatasetVersion.objects.values_list("version", flat=True)) == ["1.0.1", "1.0.0"]
    release_start(dataset_id=dataset.id)  # a maintainer may still release it again by hand


def test_a_dataset_without_cadence_is_never_released_by_the_schedule(tmp_path) -> None:
    dataset = make_dataset(tmp_path)
    dataset.release_cadence = None
    dataset.save()
    assert releases_schedule(now=timezone.now() + timedelta(days=30)) == []


def test_a_new_source_snapshot_is_released_by_the_schedule(tmp_path) -> None:
    from governance.demo_data import ShardSpec, generate_shards

    dataset = make_dataset(tmp_path)
    release_start(dataset_id=dataset.id)
    later = timezone.now() + timedelta(days=1, minutes=1)
    assert releases_schedule(now=later) == []  # nothing changed anywhere
    generate_shards(tmp_path / "more", ShardSpec(shards=1, rows_per_shard=50, owners=5))
    new_shard = next((tmp_path / "more").iterdir())
    new_shard.rename(tmp_path / "source" / "shard-99999.parquet")
    started = releases_schedule(now=later)
    assert [v.version for v in started] == ["1.1.0"]  # a new snapshot bumps the minor
    version = DatasetVersion.objects.get(version="1.1.0")
    assert (version.status, version.rows_in) == ("published", 650)


def test_an_unreadable_source_starts_nothing(tmp_path) -> None:
    import shutil

    dataset = make_dataset(tmp_path)
    release_start(dataset_id=dataset.id)
    shutil.rmtree(tmp_path / "source")
    assert releases_schedule(now=timezone.now() + timedelta(days=2)) == []
