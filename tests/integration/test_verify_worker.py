"""A verification asked for over the API and run by a real Celery worker."""

from __future__ import annotations

import time

import pytest
from rest_framework.test import APIClient

from governance.enums import VersionStatus
from governance.releases import release_start
from tests.factories import make_dataset, wait_for_version

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_the_worker_verifies_a_version_asked_for_over_the_api(celery_worker, tmp_path) -> None:
    version = wait_for_version(release_start(dataset_id=make_dataset(tmp_path).id))
    assert version.status == VersionStatus.PUBLISHED, version.error or celery_worker.log()
    url = f"/api/v1/datasets/demo/versions/{version.version}/verify/"
    asked = APIClient().post(url)
    assert asked.status_code == 202 and asked.json()["status"] in ("queued", "running", "passed")
    deadline = time.monotonic() + 60  # a bound, not a timing assertion
    while (body := APIClient().get(url).json())["status"] in ("queued", "running"):
        assert time.monotonic() < deadline, celery_worker.log()
        time.sleep(0.2)
    assert body["status"] == "passed", body
    assert body["report"]["rows_checked"] == version.rows_out
    assert "version_verify_task[" in celery_worker.log()
