"""Admin pages: one smoke test each, "Release now", the live progress endpoint, versions
shown readably, and the dashboard on the index."""

from __future__ import annotations

import pytest
from django.db import transaction

from governance.enums import VersionStatus
from governance.models import DatasetVersion
from governance.releases import release_start
from optout.enums import RequestStatus
from optout.services import request_transition
from tests.factories import approve, make_dataset, make_request, wait_for_version

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


def test_a_published_version_shows_its_manifest_and_changelog_as_tables(
    admin_client, tmp_path
) -> None:
    approve(make_request(["octo0/repo0"]))
    version = wait_for_version(release_start(dataset_id=make_dataset(tmp_path).id))
    assert version.status == VersionStatus.PUBLISHED

    page = admin_client.get(f"/admin/governance/datasetversion/{version.id}/change/")
    html = page.content.decode()

    assert 'name="_save"' not in html and 'name="_continue"' not in html
    assert "<td>data/shard-00000.parquet</td>" in html
    assert f"<td>{version.manifest['files'][0]['sha256']}</td>" in html
    assert "<td>repo_name</td>" in html  # the schema, a row per column
    assert "<h3>Removed</h3><p>1 exclusions" in html
    assert "<td>github.com/octo0/repo0</td><td>repository</td>" in html
    assert '"manifest_version"' not in html  # not the JSON blob
    assert 'id="retry-release"' not in html


def test_the_admin_index_shows_the_queue_and_the_releases(admin_client, tmp_path) -> None:
    dataset = make_dataset(tmp_path)
    request = make_request(["octo/hello"])
    request_transition(request_id=request.id, to_status=RequestStatus.VERIFIED, actor_label="t")
    make_request(["octo/other"])
    published = wait_for_version(release_start(dataset_id=dataset.id))

    page = admin_client.get("/admin/").content.decode()

    queue = page[page.index('id="dashboard-queue"') : page.index('id="dashboard-releases"')]
    assert 'Verified, awaiting review</a></th><td class="numeric"><strong>1<' in queue
    assert f"/admin/optout/removalrequest/{request.id}/change/" in queue  # oldest waiting
    assert 'Waiting for the owner\'s proof</a></th><td class="numeric">1<' in queue
    releases = page[page.index('id="dashboard-releases"') :]
    assert f'/admin/governance/datasetversion/{published.id}/change/">1.0.0</a>' in releases
    assert "idle" in releases


def test_the_admin_index_links_a_running_release_to_its_progress(admin_client, tmp_path) -> None:
    dataset = make_dataset(tmp_path)
    with transaction.atomic():  # the build is queued on commit, which never comes
        running = release_start(dataset_id=dataset.id)
        page = admin_client.get("/admin/").content.decode()
        transaction.set_rollback(True)
    assert (
        f'<a href="/admin/governance/datasetversion/{running.id}/change/">1.0.0 running: ' in page
    )


def test_the_admin_index_lists_only_what_maintainers_use(admin_client) -> None:
    page = admin_client.get("/admin/")
    listed = {model["object_name"] for app in page.context["app_list"] for model in app["models"]}
    assert listed == {
        "RemovalRequest",
        "Exclusion",
        "LogEntry",
        "PipelineToken",
        "DownstreamUser",
        "DownstreamKey",
        "Receipt",
        "Dataset",
        "DatasetVersion",
        "User",
        "Group",
    }
