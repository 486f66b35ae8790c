"""Admin pages: one smoke test each, "Release now" and the live progress endpoint."""

from __future__ import annotations

import pytest

from governance.models import DatasetVersion
from governance.releases import release_start
from tests.factories import make_dataset

pytestmark = pytest.mark.django_db(transaction=True)


def test_release_now_publishes_and_the_progress_endpoint_reports_it(admin_client, tmp_path) -> None:
    dataset = make_dataset(tmp_path)
    response = admin_client.post(
        "/admin/governance/dataset/",
        {"action": "release_now", "_selected_action": [dataset.id]},
        follow=True,
    )
    assert "Started demo 1.0.0." in response.content.decode()
    version = DatasetVersion.objects.get()
    progress = admin_client.get(f"/admin/governance/datasetversion/{version.id}/progress/")
    assert progress.json() == {
        "id": version.id,
        "label": "demo 1.0.0",
        "status": "published",
        "step": "done",
        "shards_done": 3,
        "shards_total": 3,
        "shards_reused": 0,
        "rows_done": 600,
        "rows_total": 600,
        "error": "",
    }


@pytest.mark.parametrize(
    "url",
    [
        "/admin/governance/dataset/",
        "/admin/governance/datasetversion/",
        "/admin/governance/versionverification/",
    ],
)
def test_admin_lists_render(admin_client, tmp_path, url) -> None:
    make_dataset(tmp_path)
    assert admin_client.get(url).status_code == 200


def test_version_page_shows_the_progress_box(admin_client, tmp_path) -> None:
    dataset = make_dataset(tmp_path)
    version = release_start(dataset_id=dataset.id)
    page = admin_client.get(f"/admin/governance/datasetversion/{version.id}/change/")
    assert page.status_code == 200
    assert 'id="release-progress"' in page.content.decode()
