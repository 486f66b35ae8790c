"""The thin path, end to end, through a real Celery worker process on Redis."""

from __future__ import annotations

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from governance.enums import VersionStatus
from governance.releases import release_start, version_folder
from optout.enums import RequestStatus
from registry.models import Exclusion
from tests.factories import approve, make_dataset, make_request, wait_for_version

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_an_approved_repository_is_gone_from_a_release_built_by_the_worker(celery_worker, tmp_path):
    dataset = make_dataset(tmp_path)
    source = pq.read_table(dataset.source_uri)
    target_repo = source.column("repo_name")[0].as_py()
    target_rows = pc.sum(pc.equal(source.column("repo_name"), target_repo)).as_py()
    assert target_rows >= 1

    removal_request = approve(make_request([target_repo]))
    assert Exclusion.objects.filter(subject=f"github.com/{target_repo}", active=True).exists()

    version = wait_for_version(release_start(dataset_id=dataset.id))
    assert version.status == VersionStatus.PUBLISHED, version.error or celery_worker.log()
    assert "release_build_task[" in celery_worker.log()  # it ran in the worker process

    written = pq.read_table(version_folder(version) / "data")
    assert (pc.sum(pc.equal(written.column("repo_name"), target_repo)).as_py() or 0) == 0
    assert written.num_rows == source.num_rows - target_rows
    others = source.filter(pc.not_equal(source.column("repo_name"), target_repo))
    assert written.sort_by("blob_id").equals(others.sort_by("blob_id"))
    assert version.rows_out == written.num_rows

    removal_request.refresh_from_db()
    assert removal_request.status == RequestStatus.APPLIED
