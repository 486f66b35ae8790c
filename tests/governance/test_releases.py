"""Releases on the embedded default (tasks in-process)."""

import json

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from governance.enums import VersionStatus
from governance.releases import release_start, version_folder
from optout.enums import RequestStatus
from tests.factories import approve, make_dataset, make_request

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_release_drops_an_excluded_namespace_and_keeps_everything_else(tmp_path) -> None:
    dataset = make_dataset(tmp_path)
    source = pq.read_table(dataset.source_uri)
    owner = source.column("repo_name")[0].as_py().split("/")[0]
    request = approve(make_request([f"github.com/{owner}"]))

    version = release_start(dataset_id=dataset.id)
    version.refresh_from_db()

    assert version.status == VersionStatus.PUBLISHED
    written = pq.read_table(version_folder(version) / "data")
    owners = pc.list_element(pc.split_pattern(written.column("repo_name"), "/"), 0)
    assert owner not in set(owners.to_pylist())
    source_owners = pc.list_element(pc.split_pattern(source.column("repo_name"), "/"), 0)
    kept = source.filter(pc.not_equal(source_owners, owner))
    assert written.num_rows == kept.num_rows > 0
    manifest = json.loads((version_folder(version) / "manifest.json").read_text())
    assert manifest["checkpoint"]["size"] == version.log_size == 1
    assert sum(f["rows"] for f in manifest["files"]) == kept.num_rows
    request.refresh_from_db()
    assert request.status == RequestStatus.APPLIED


def test_versions_count_up_by_patch_number(tmp_path) -> None:
    dataset = make_dataset(tmp_path)
    first = release_start(dataset_id=dataset.id)
    second = release_start(dataset_id=dataset.id)
    assert (first.version, second.version) == ("1.0.0", "1.0.1")


def test_a_dataset_without_shards_fails_with_a_clear_error(tmp_path) -> None:
    dataset = make_dataset(tmp_path)
    dataset.source_uri = str(tmp_path / "empty")
    dataset.save()
    version = release_start(dataset_id=dataset.id)
    version.refresh_from_db()
    assert version.status == VersionStatus.FAILED
    assert "holds no Parquet shards" in version.error
