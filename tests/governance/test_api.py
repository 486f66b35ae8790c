"""GET /api/v1/datasets/, …/versions/ and …/verify/."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from governance.releases import release_start
from tests.factories import approve, make_dataset, make_request

pytestmark = pytest.mark.django_db(transaction=True)


def test_datasets_list_their_latest_version_and_next_release(tmp_path) -> None:
    dataset = make_dataset(tmp_path)
    version = release_start(dataset_id=dataset.id)
    version.refresh_from_db()
    body = APIClient().get("/api/v1/datasets/").json()
    assert len(body) == 1
    assert body[0]["name"] == "demo"
    assert body[0]["release_cadence_seconds"] == 86400
    assert body[0]["latest_version"]["version"] == "1.0.0"
    assert body[0]["latest_version"]["manifest_sha256"] == version.manifest_sha256
    next_at = version.created_at + timedelta(days=1)
    assert body[0]["next_release_at"] == next_at.isoformat().replace("+00:00", "Z")


def test_versions_carry_their_manifest(tmp_path) -> None:
    dataset = make_dataset(tmp_path)
    approve(make_request(["github.com/owner-00001"]))
    release_start(dataset_id=dataset.id)
    release_start(dataset_id=dataset.id)
    body = APIClient().get("/api/v1/datasets/demo/versions/").json()
    assert [v["version"] for v in body] == ["1.0.1", "1.0.0"]
    assert body[0]["manifest"]["checkpoint"]["size"] == 1
    assert body[0]["manifest"]["previous_version"] == "1.0.0"
    assert body[0]["rows"] == sum(f["rows"] for f in body[0]["manifest"]["files"])


def test_versions_of_an_unknown_dataset_is_a_404_in_the_error_shape(tmp_path) -> None:
    response = APIClient().get("/api/v1/datasets/nope/versions/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_verification_is_asked_for_then_read(tmp_path) -> None:
    dataset = make_dataset(tmp_path)
    release_start(dataset_id=dataset.id)
    url = "/api/v1/datasets/demo/versions/1.0.0/verify/"
    never = APIClient().get(url)
    assert never.status_code == 404
    assert "POST to this address" in never.json()["error"]["message"]
    asked = APIClient().post(url)  # tasks run in-process here, on commit
    assert asked.status_code == 202 and asked["Location"] == url
    body = APIClient().get(url).json()
    assert (body["id"], body["status"]) == (asked.json()["id"], "passed")
    assert body["started_at"] <= body["finished_at"]
    assert body["report"] == {
        "dataset": "demo",
        "version": "1.0.0",
        "ok": True,
        "files_checked": 8,  # 3 data files, 5 metadata files
        "rows_checked": 600,
        "problems": [],
        "offending_count": 0,
        "offending": [],
    }


def test_verifying_an_unknown_version_is_a_404_in_the_error_shape(tmp_path) -> None:
    make_dataset(tmp_path)
    response = APIClient().post("/api/v1/datasets/demo/versions/9.9.9/verify/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_next_release_is_now_when_the_cadence_has_passed(tmp_path) -> None:
    from governance.models import DatasetVersion
    from governance.selectors import next_release_at

    dataset = make_dataset(tmp_path)
    version = release_start(dataset_id=dataset.id)
    now = timezone.now()
    DatasetVersion.objects.filter(id=version.id).update(created_at=now - timedelta(days=2))
    assert next_release_at(dataset, now=now) == now
    dataset.release_cadence = None
    assert next_release_at(dataset, now=now) is None


def test_an_empty_search_lists_all_and_an_empty_page_is_refused(tmp_path) -> None:
    dataset = make_dataset(tmp_path)
    approve(make_request(["github.com/owner-00001"]))
    release_start(dataset_id=dataset.id)
    url = "/api/v1/datasets/demo/versions/1.0.0/changelog/"
    everything = APIClient().get(url).json()
    assert APIClient().get(url, {"q": ""}).json() == everything
    for path in (url, "/api/v1/datasets/demo/lookup"):
        refused = APIClient().get(path, {"page": "", "repo": "octo/hello"})
        assert refused.status_code == 400
        assert refused.json()["error"]["fields"] == {"page": ["This field may not be blank."]}
